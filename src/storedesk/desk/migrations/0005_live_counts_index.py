from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0004_open_assignee_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", ["new", "open", "pending", "on_hold", "solved"])),
                fields=["status", "assignee", "priority", "channel", "team", "solved_at"],
                name="ticket_live_counts_idx",
            ),
        ),
    ]
