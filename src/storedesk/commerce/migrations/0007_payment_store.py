"""Payments carry their order's store (filled from the orders here), indexed for the network
ratio count."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = (
    "UPDATE commerce_payment SET store_id = "
    "(SELECT o.store_id FROM commerce_order o WHERE o.id = commerce_payment.order_id)"
)


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0006_merge_demo_flag_and_tracking"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="store",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="commerce.store",
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="payment",
            name="store",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="commerce.store",
            ),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                fields=["store", "created_at", "method", "status", "gateway", "card_brand"],
                name="payment_store_ratio_idx",
            ),
        ),
    ]
