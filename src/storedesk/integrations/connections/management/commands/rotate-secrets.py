"""`storedesk rotate-secrets`: re-encrypt every connection's secrets under the first key of
STOREDESK_SECRET_KEYS (put the new key first, run this, then drop the old key)."""

from django.core.management.base import BaseCommand, CommandError

from storedesk.integrations.connections.secrets import SecretsUnreadable
from storedesk.integrations.connections.services import do_rotate_secrets


class Command(BaseCommand):
    help = "Re-encrypt the connections' secrets with the first STOREDESK_SECRET_KEYS key."

    def handle(self, *args, **options):
        try:
            count = do_rotate_secrets()
        except SecretsUnreadable as error:
            raise CommandError(
                f"{error}: keep the old key in STOREDESK_SECRET_KEYS (after the new one) "
                "until this command has run"
            ) from None
        self.stdout.write(f"Re-encrypted the secrets of {count} connection(s).")
