"""`storedesk setup`: set up an empty desk for a real store, asking for what flags leave out.

Non-interactive (scripts): `storedesk setup --no-input --store-name "Tiny Pearl" --store-slug
tiny-pearl --admin-username owner --admin-email owner@example.com --admin-password-env PW …`.
"""

import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from storedesk.onboarding.services import FirstRunSetup, do_first_run_setup, needs_setup

QUESTIONS = [
    ("store_name", "Store name", None),
    ("store_slug", "Store slug (letters, digits, dashes)", None),
    ("currency", "Store currency", "USD"),
    ("store_timezone", "Customers' time zone", "America/New_York"),
    ("team_timezone", "Team's time zone", "Asia/Ho_Chi_Minh"),
    ("working_days", "Team's working days (0=Mon … 6=Sun)", "0,1,2,3,4,5"),
    ("hours", "Team's shifts", "08:30-12:00,13:30-17:30"),
    ("holiday_country", "Public holidays of (country code)", "VN"),
    ("admin_username", "First admin's user name", "admin"),
    ("admin_email", "First admin's email", None),
    ("support_email", "Support mailbox (customers write here; empty: later)", ""),
]


class Command(BaseCommand):
    help = "Set up an empty desk: the store, the team's calendar, the first admin, the mailbox."

    def add_arguments(self, parser):
        for name, label, _default in QUESTIONS:
            parser.add_argument(f"--{name.replace('_', '-')}", default=None, help=label)
        parser.add_argument(
            "--admin-password-env",
            default="",
            help="name of the environment variable holding the admin's password",
        )
        parser.add_argument("--no-input", action="store_true", help="never ask; flags only")

    def handle(self, *args, **options):
        if not needs_setup():
            raise CommandError("this desk is set up already: it has a store")
        values = {}
        for name, label, default in QUESTIONS:
            value = options[name]
            if value is None and not options["no_input"]:
                value = self._ask(label, default)
            if value is None:
                value = default
            if value is None:
                raise CommandError(f"--{name.replace('_', '-')} is required with --no-input")
            values[name] = value
        password = (
            os.environ.get(options["admin_password_env"], "")
            if options["admin_password_env"]
            else ""
        )
        if not password:
            if options["no_input"]:
                raise CommandError("--admin-password-env NAME (a set variable) is required")
            password = getpass.getpass("First admin's password: ")
        try:
            setup = FirstRunSetup(
                **{
                    **values,
                    "working_days": [int(day) for day in values["working_days"].split(",")],
                    "hours": [shift.split("-", 1) for shift in values["hours"].split(",")],
                },
                admin_password=password,
            )
            result = do_first_run_setup(setup)
        except (ValueError, ValidationError) as error:
            messages = getattr(error, "messages", [str(error)])
            raise CommandError("\n".join(messages)) from None
        self.stdout.write(f"Store {result.store.name} ({result.store.slug}) set up")
        self.stdout.write(f"Team calendar: {result.calendar_name} ({setup.team_timezone})")
        self.stdout.write(f"Admin: {result.admin.username} (signs in with a code from an app)")
        if result.mailbox:
            self.stdout.write(
                f"Support mailbox: {result.mailbox} (IMAP: storedesk add-mailbox {result.mailbox} "
                "--imap-host …)"
            )
        self.stdout.write("Next: storedesk import-orders FILE, or storedesk connect shopify …")

    def _ask(self, label: str, default: str | None) -> str | None:
        suffix = f" [{default}]" if default else ""
        answer = input(f"{label}{suffix}: ").strip()
        return answer or default
