"""`storedesk risk-score [--days N | --all]`: score (or re-score) orders in batches."""

import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from storedesk.commerce.models import Order
from storedesk.risk.services import do_score_orders


class Command(BaseCommand):
    help = (
        "Score orders with today's signals, rules, lists and model, in set-based batches and in "
        "time order (so velocity counts see the orders before each one). Re-scoring replaces "
        "an assessment but never reopens or moves a review a person has worked on."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=str, default="7", help="orders created in the last N days (default 7)"
        )
        parser.add_argument("--all", action="store_true", help="every order of every store")
        parser.add_argument(
            "--unscored", action="store_true", help="only orders that have no assessment yet"
        )

    def handle(self, *args, **options):
        orders = Order.objects.all()
        if not options["all"]:
            orders = orders.filter(created_at__gte=timezone.now() - timedelta(_days(options)))
        if options["unscored"]:
            orders = orders.filter(risk__isnull=True)
        ids = list(orders.order_by("created_at", "pk").values_list("pk", flat=True))
        started = time.perf_counter()
        scored = do_score_orders(ids, actor="risk-score")
        seconds = time.perf_counter() - started
        rate = scored / seconds if seconds else 0
        self.stdout.write(f"Scored {scored:,} orders in {seconds:.1f} s ({rate:,.0f} orders/s)")


def _days(options) -> int:
    try:
        days = int(options["days"])
    except ValueError:
        raise CommandError(f"--days must be a whole number, got {options['days']!r}") from None
    if not 1 <= days <= 3650:
        raise CommandError(f"--days must be between 1 and 3650, got {days}")
    return days
