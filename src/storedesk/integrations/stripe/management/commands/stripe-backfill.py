"""`storedesk stripe-backfill --store SLUG [--since YYYY-MM-DD]`: load Stripe's charges and
disputes (resumable: a run that stopped continues where it stopped)."""

from datetime import UTC, datetime

import stripe
from django.core.management.base import BaseCommand, CommandError

from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.systems import STRIPE
from storedesk.integrations.stripe.backfill import do_backfill


class Command(BaseCommand):
    help = "Load the charges and disputes of a store's Stripe account."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True)
        parser.add_argument("--since", default="", help="only objects created since (UTC date)")

    def handle(self, *args, **options):
        connection = Connection.objects.filter(store__slug=options["store"], system=STRIPE).first()
        if connection is None:
            raise CommandError(f"store {options['store']!r} has no Stripe connection")
        since = None
        if options["since"]:
            try:
                since = datetime.strptime(options["since"], "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                raise CommandError("--since is YYYY-MM-DD") from None
        try:
            result = do_backfill(connection, since=since)
        except stripe.StripeError as error:
            raise CommandError(f"Stripe: {error} (run again to continue)") from None
        outcomes = ", ".join(f"{n} {name}" for name, n in sorted(result.outcomes.items()))
        self.stdout.write(
            f"{result.charges} charges and {result.disputes} disputes listed: {outcomes}"
        )
        for line in result.waiting:
            self.stdout.write(f"waiting for its order: {line}")
        for line in result.refused:
            self.stdout.write(f"refused {line}")
