"""`storedesk create_api_token USERNAME [--name NAME] [--expires-in-days N]`."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from storedesk.accounts.models import User
from storedesk.accounts.services import do_create_api_token


class Command(BaseCommand):
    help = (
        "Create an API token acting with USERNAME's role and print it. Only its hash is "
        "stored, so this is the one time the token is shown."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--name",
            default="command line",
            help="What the token is for, e.g. 'Zapier' (shown in the token list).",
        )
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help="Make the token stop working after this many days.",
        )

    def handle(self, *args, username, name, expires_in_days, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called '{username}'.")
        if not user.is_active:
            raise CommandError(f"'{username}' is deactivated; a token for them would not work.")
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        token, raw_key = do_create_api_token(user, name=name, expires_at=expires_at)
        # The key alone on stdout, so scripts can capture it; the advice goes to stderr.
        self.stdout.write(raw_key)
        self.stderr.write(
            f"Token '{token.name}' ({token.prefix}…) for {user.username} created. "
            "Store it now: it cannot be shown again."
        )
