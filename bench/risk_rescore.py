"""Benchmark: re-scoring orders when a batch of disputes arrives.

    python bench/risk_rescore.py [--orders 10000] [--seed 7] [--disputes 1000]

Loads the demo into a fresh SQLite database in a temporary var dir (or the database in
DATABASE_URL, which must be empty or hold only an earlier demo), then ingests `--disputes`
new Stripe disputes on that many random paid orders in one batch (events left to the outbox,
as a bulk feed does) and dispatches the batch's one `disputes_opened` event: one set-based
re-score of every disputed order. Prints wall and CPU time, the cost per order, and the
number of queries, next to the same for a batch of ten (the count must not grow with the
batch).
"""

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _django import setup_django  # noqa: E402  (after the path is set)


def _disputes(payments, first: int):
    from storedesk.commerce.ingest import DisputeIn

    opened = datetime(2026, 7, 1, tzinfo=UTC)
    return [
        DisputeIn(
            gateway=gateway,
            provider_id=f"dp_bench{first + n:08d}",
            payment_provider_id=provider_id,
            reason="fraudulent" if gateway == "stripe" else "UNAUTHORISED",
            status="needs_response" if gateway == "stripe" else "WAITING_FOR_SELLER_RESPONSE",
            amount=Decimal("10.00"),
            currency="USD",
            opened_at=opened,
        )
        for n, (gateway, provider_id) in enumerate(payments)
    ]


def rescore(payments, first: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from storedesk.core.events import dispatch_event
    from storedesk.core.models import DomainEvent
    from storedesk.disputes.services import do_ingest_disputes

    result = do_ingest_disputes(_disputes(payments, first), dispatch_events=False)
    event = DomainEvent.objects.filter(name="disputes_opened").latest("pk")
    orders = len(event.payload["order_ids"])
    wall, cpu = time.perf_counter(), time.process_time()
    with CaptureQueriesContext(connection) as queries:
        outcome = dispatch_event.call(event.pk)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"  {result.created:>5} disputes on {orders:>5} orders: {outcome}, "
        f"{len(queries):>3} queries, "
        f"{wall * 1000:8.1f} ms wall ({wall * 1000 / orders:5.2f} ms/order), "
        f"{cpu * 1000:8.1f} ms CPU ({cpu * 1000 / orders:5.2f} ms/order)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--disputes", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storedesk-bench-") as var_dir:
        setup_django(var_dir)
        from django.db import connection

        from storedesk.commerce.models import Payment
        from storedesk.demo.loader import load_demo, reset_demo
        from storedesk.disputes.models import Dispute

        print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
        reset_demo()
        summary = load_demo(orders=args.orders, seed=args.seed, end=args.end)
        print(f"Demo: {summary.orders:,} orders loaded in {summary.seconds:.1f} s")
        disputed = set(Dispute.objects.values_list("payment_id", flat=True))
        payments = [
            (gateway, provider_id)
            for pk, gateway, provider_id in Payment.objects.filter(
                status=Payment.Status.SUCCEEDED
            ).values_list("pk", "gateway", "provider_id")
            if pk not in disputed
        ]
        rng = random.Random(20261203)  # noqa: S311  (a reproducible sample, not security)
        sample = rng.sample(payments, min(args.disputes + 10, len(payments)))
        print("Re-scoring after one ingest batch (dispatch of its disputes_opened event):")
        rescore(sample[:10], 0)
        rescore(sample[10:], 10)


if __name__ == "__main__":
    main()
