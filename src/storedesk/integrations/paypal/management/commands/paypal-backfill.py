"""`storedesk paypal-backfill --store SLUG [--since YYYY-MM-DD]`: load PayPal's disputes."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.systems import PAYPAL
from storedesk.integrations.paypal.client import PayPalError
from storedesk.integrations.paypal.services import do_backfill_disputes


class Command(BaseCommand):
    help = "Load the disputes of a store's PayPal account (PayPal keeps 180 days)."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True)
        parser.add_argument("--since", default="", help="only disputes updated since (UTC date)")

    def handle(self, *args, **options):
        connection = Connection.objects.filter(store__slug=options["store"], system=PAYPAL).first()
        if connection is None:
            raise CommandError(f"store {options['store']!r} has no PayPal connection")
        since = None
        if options["since"]:
            try:
                since = datetime.strptime(options["since"], "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                raise CommandError("--since is YYYY-MM-DD") from None
        try:
            result = do_backfill_disputes(connection, updated_after=since)
        except PayPalError as error:
            raise CommandError(f"PayPal: {error}") from None
        self.stdout.write(
            f"{result.listed} disputes listed: {result.created} new, {result.updated} updated, "
            f"{result.unchanged} unchanged, {len(result.unmatched)} for payments not stored yet"
        )
        for line in result.refused:
            self.stdout.write(f"refused {line}")
