"""Seed the reason rules from the shipped data file and give existing disputes their family,
stage and outcome (computed the way ingest computes them from now on)."""

from django.db import migrations

from storedesk.disputes.reasons import seed_reason_rules, seed_rows

OUTCOMES = {"won": "won", "lost": "lost", "warning_closed": "warning_closed"}


def seed(apps, schema_editor):
    ReasonRule = apps.get_model("disputes", "ReasonRule")
    Dispute = apps.get_model("disputes", "Dispute")
    seed_reason_rules(ReasonRule)
    families = {
        (row["gateway"], row["reason"]): row["family"]
        for row in seed_rows()
        if not row["network_code"]
    }
    for (gateway, reason), family in families.items():
        Dispute.objects.filter(gateway=gateway, reason=reason).update(family=family)
    Dispute.objects.filter(stage="", kind="inquiry").update(stage="inquiry")
    Dispute.objects.filter(stage="").update(stage="chargeback")
    for status, outcome in OUTCOMES.items():
        Dispute.objects.filter(status=status).update(outcome=outcome)


class Migration(migrations.Migration):
    dependencies = [("disputes", "0004_workspace_reasons_evidence")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
