from django.db import migrations
from django.utils import timezone

from storedesk.triage import defaults


def install(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    BusinessCalendar = apps.get_model("triage", "BusinessCalendar")
    SlaPolicy = apps.get_model("triage", "SlaPolicy")
    Playbook = apps.get_model("triage", "Playbook")
    for name, slug in defaults.DEPARTMENTS:
        if (
            not Team.objects.filter(slug=slug).exists()
            and not Team.objects.filter(name=name).exists()
        ):
            Team.objects.create(name=name, slug=slug)
    calendar, _ = BusinessCalendar.objects.get_or_create(
        name="Team (Hanoi)", defaults={"is_default": True}
    )
    for (
        name,
        position,
        priority,
        channel,
        tier,
        first,
        following,
        resolution,
    ) in defaults.SLA_POLICIES:
        SlaPolicy.objects.get_or_create(
            name=name,
            defaults={
                "position": position,
                "priority": priority,
                "channel": channel,
                "tier": tier,
                "calendar": calendar,
                "first_response_minutes": first,
                "next_response_minutes": following,
                "resolution_minutes": resolution,
            },
        )
    now = timezone.now()
    for intent, (title, steps) in defaults.PLAYBOOKS.items():
        Playbook.objects.get_or_create(
            intent=str(intent),
            defaults={
                "title": title,
                "steps": [{"key": key, "text": text} for key, text in steps],
                "updated_at": now,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("triage", "0002_workflow"), ("accounts", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
