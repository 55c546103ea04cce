from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0003_digest_delivery"),
    ]

    operations = [
        migrations.AlterField(
            model_name="riskdecision",
            name="kind",
            field=models.CharField(
                choices=[
                    ("approve", "Approved"),
                    ("cancel", "Cancelled"),
                    ("cancel_fraud", "Cancelled and reported as fraud"),
                    ("contact", "Asked the customer to verify"),
                    ("stage", "Moved to a stage"),
                    ("note", "Note"),
                    ("opened", "Opened for review on request"),
                ],
                max_length=16,
            ),
        ),
    ]
