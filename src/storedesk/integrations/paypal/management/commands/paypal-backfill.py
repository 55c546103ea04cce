"""`storedesk paypal-backfill --store SLUG [--since YYYY-MM-DD] [--only disputes|payments]`:
load PayPal's disputes and the payments received (resumable: a stopped run continues)."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.systems import PAYPAL
from storedesk.integrations.paypal.client import PayPalError
from storedesk.integrations.paypal.services import do_backfill_captures, do_backfill_disputes


class Command(BaseCommand):
    help = (
        "Load the disputes (PayPal keeps 180 days) and the payments received (transaction "
        "search, up to three years) of a store's PayPal account."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True)
        parser.add_argument("--since", default="", help="only what changed since (UTC date)")
        parser.add_argument("--only", choices=["disputes", "payments"], default=None)

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
        if options["only"] != "disputes":
            try:
                payments = do_backfill_captures(connection, since=since)
            except PayPalError as error:
                raise CommandError(f"PayPal: {error} (run again to continue)") from None
            outcomes = ", ".join(f"{n} {name}" for name, n in sorted(payments.outcomes.items()))
            self.stdout.write(f"{payments.listed} payments received listed: {outcomes}")
            for line in payments.waiting:
                self.stdout.write(f"waiting for its order: {line}")
        if options["only"] == "payments":
            return
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
