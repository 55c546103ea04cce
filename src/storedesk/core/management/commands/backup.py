"""`storedesk backup PATH`: a consistent copy of the database while the desk runs."""

import os
import subprocess

from django.core.management.base import BaseCommand, CommandError

from storedesk.core.backups import (
    BackupError,
    backup_database,
    is_sqlite,
    pg_dump_available,
    pg_dump_command,
)


class Command(BaseCommand):
    help = "Back up the database to PATH (SQLite online backup; pg_dump on PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--overwrite", action="store_true")
        parser.add_argument(
            "--pg-dump", action="store_true", help="on PostgreSQL, run pg_dump (on the PATH)"
        )

    def handle(self, *args, **options):
        if not is_sqlite() and options["pg_dump"]:
            if not pg_dump_available():
                raise CommandError("pg_dump is not on the PATH: install the PostgreSQL client")
            command = ["pg_dump", "--format=custom", f"--file={options['path']}"]
            completed = subprocess.run(  # noqa: S603 - fixed program, arguments not a shell
                [*command, os.environ.get("DATABASE_URL", "")], check=False
            )
            if completed.returncode:
                raise CommandError(f"pg_dump failed with exit code {completed.returncode}")
            self.stdout.write(f"Backed up to {options['path']} with pg_dump")
            return
        try:
            result = backup_database(options["path"], overwrite=options["overwrite"])
        except BackupError as error:
            if not is_sqlite():
                self.stdout.write(str(error))
                self.stdout.write("(or run `storedesk backup PATH --pg-dump`)")
                self.stdout.write(" ".join(pg_dump_command(options["path"])))
                return
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Backed up to {result.path}: {result.size_bytes} bytes, {result.tables} tables, "
            "integrity ok"
        )
