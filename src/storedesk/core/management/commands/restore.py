"""`storedesk restore PATH`: put a backup made by `storedesk backup` back in place."""

from django.core.management.base import BaseCommand, CommandError

from storedesk.core.backups import BackupError, restore_database


class Command(BaseCommand):
    help = "Restore the database from a backup (stop web, worker and scheduler first)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--no-input", action="store_true", help="do not ask to confirm")

    def handle(self, *args, **options):
        if not options["no_input"]:
            answer = input(
                "Replace the whole database with this backup? Stop `storedesk web/worker/"
                "scheduler` first. Type 'yes' to go on: "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("restore cancelled")
        try:
            saved = restore_database(options["path"])
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Restored from {options['path']}")
        if saved:
            self.stdout.write(f"The database as it was before is kept at {saved}")
