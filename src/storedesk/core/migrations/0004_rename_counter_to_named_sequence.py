from django.db import migrations


class Migration(migrations.Migration):
    """`Counter` shadowed collections.Counter and hid that its rows also serve as named locks."""

    dependencies = [
        ("core", "0003_worker_heartbeats"),
    ]

    operations = [
        migrations.RenameModel(old_name="Counter", new_name="NamedSequence"),
    ]
