"""`storedesk sync shopify --store SLUG [--since 2026-01-01]`: backfill a shop's orders with a
bulk operation (resumes where a crashed run stopped); `--reconcile` pages through the orders
updated since the last sync instead."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from storedesk.integrations.connections.credentials import NotConnected
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.shopify.sync import SyncFailed, backfill
from storedesk.integrations.shopify.sync import reconcile as reconcile_orders


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since {value!r}: give a date (2026-01-31) or a date and time")
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Fetch a connected shop's orders (Shopify): a bulk backfill, or a reconcile."

    def add_arguments(self, parser):
        parser.add_argument("system", choices=["shopify"])
        parser.add_argument("--store", required=True, help="the store's slug")
        parser.add_argument("--since", help="only orders updated since this date")
        parser.add_argument("--reconcile", action="store_true", help="page instead of bulk")

    def handle(self, *args, system, store, since, reconcile: bool, **options):
        connection = (
            Connection.objects.select_related("store")
            .filter(store__slug=store, system=system)
            .first()
        )
        if connection is None:
            raise CommandError(f"{store} is not connected to {system}: run `storedesk connect`")
        try:
            if reconcile:
                result = reconcile_orders(connection)
            else:
                result = backfill(connection, since=_since(since))
        except (NotConnected, SyncFailed) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Orders created {result.orders_created}, updated {result.orders_updated}, "
            f"unchanged {result.orders_unchanged}; refunds {result.refunds_created}; "
            f"rejected {len(result.rejected)}; waited {result.waited_seconds:.1f} s on Shopify"
        )
        for problem in result.rejected[:20]:
            self.stdout.write(f"  rejected: {problem}")
