from django.db import migrations


def seed(apps, schema_editor):
    from storedesk.gateways.thresholds import load_thresholds

    load_thresholds(apps.get_model("gateways", "MonitoringThreshold"))


class Migration(migrations.Migration):
    dependencies = [("gateways", "0001_account_health_and_thresholds")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
