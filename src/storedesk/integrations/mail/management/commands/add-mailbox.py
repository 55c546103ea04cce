"""`storedesk add-mailbox ADDRESS`: set up (or change) a mailbox polled over IMAP, no admin
needed. The password stays out of the database and the shell history: pass the name of the
environment variable that holds it."""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from storedesk.desk.mail_in import do_save_mailbox
from storedesk.integrations.mail.imap import connect


class Command(BaseCommand):
    help = "Add or change a mailbox polled over IMAP."

    def add_arguments(self, parser):
        parser.add_argument("address")
        parser.add_argument("--name", default="")
        parser.add_argument("--imap-host", default="")
        parser.add_argument("--imap-port", type=int, default=993)
        parser.add_argument("--no-ssl", action="store_true", help="plain IMAP (loopback only)")
        parser.add_argument("--imap-user", default="")
        parser.add_argument(
            "--password-env", default="", help="name of the environment variable with the password"
        )
        parser.add_argument("--folder", default="INBOX")
        parser.add_argument("--done-folder", default="", help="move handled mail here")
        parser.add_argument("--check", action="store_true", help="log in and open the folder")

    def handle(self, *args, **options):
        if options["imap_host"] and not options["password_env"]:
            raise CommandError("--password-env is required with --imap-host")
        try:
            mailbox, created = do_save_mailbox(
                address=options["address"],
                name=options["name"],
                imap_host=options["imap_host"],
                imap_port=options["imap_port"],
                imap_ssl=not options["no_ssl"],
                imap_username=options["imap_user"],
                imap_password_env=options["password_env"],
                imap_folder=options["folder"],
                imap_done_folder=options["done_folder"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"{'Added' if created else 'Updated'} mailbox {mailbox.address}")
        if mailbox.imap_password_env and not os.environ.get(mailbox.imap_password_env):
            self.stderr.write(f"warning: {mailbox.imap_password_env} is not set in this shell")
        if options["check"]:
            try:
                with connect(mailbox) as client:
                    folder = client.select_folder(mailbox.imap_folder, readonly=True)
            except Exception as error:
                raise CommandError(f"IMAP check failed: {type(error).__name__}: {error}") from error
            self.stdout.write(f"IMAP ok: {folder[b'EXISTS']} mails in {mailbox.imap_folder}")
