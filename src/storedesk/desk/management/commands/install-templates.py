"""`storedesk install-templates`: add the shipped reply templates that do not exist yet."""

from django.core.management.base import BaseCommand

from storedesk.desk.replies import do_install_default_templates


class Command(BaseCommand):
    help = "Install the default reply templates (idempotent: existing names are left alone)."

    def handle(self, *args, **options):
        created = do_install_default_templates()
        for template in created:
            self.stdout.write(f"  + {template.name}")
        self.stdout.write(f"Installed {len(created)} reply templates.")
