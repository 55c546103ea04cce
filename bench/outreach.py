"""Benchmark: queue a big outreach campaign and send it at the mail backend's pace.

    python bench/outreach.py [--recipients 100000] [--send 5000] [--rate 0]

Loads `--recipients` customers with one paid order each (bulk, set-based), then:

1. times `do_queue_campaign` for a segment holding all of them: the segment query, the
   INSERT … SELECT of every recipient with its control-group split and its last order, the
   counts (target: under 60 s for 100,000 recipients);
2. sends `--send` of them through `do_send_campaign_batch` to a mail backend that accepts and
   discards (claim, suppression check, render, send, mark — per message), at `--rate` messages
   per second (0: as fast as the sender goes, which shows its own ceiling), and prints the
   messages per second and the peak Python memory of the first tenth against the whole run
   (flat: ids are read in chunks, nothing is kept per message).

Runs on a fresh SQLite database by default; with DATABASE_URL=postgres://… on PostgreSQL (an
empty database).
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _django import setup_django  # noqa: E402  (after the path is set)


class CountingBackend:
    """A mail backend that accepts every message and keeps only a count."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def send_messages(self, messages) -> int:
        for message in messages:
            message.message()  # built to bytes as a real backend would
        self.count += len(messages)
        return len(messages)


def load_customers(count: int):
    from storedesk.commerce.models import Customer, Order, Store
    from storedesk.commerce.services import do_create_store
    from storedesk.core.bulk import bulk_insert

    store = Store.objects.filter(slug="bench-outreach").first() or do_create_store(
        name="Bench Jewelry", slug="bench-outreach", domain="bench.example"
    )
    now = datetime.now(UTC)
    chunk = 5000
    for start in range(0, count, chunk):
        rows = []
        for n in range(start, min(start + chunk, count)):
            rows.append(
                {
                    "store_id": store.pk,
                    "provider_id": "",
                    "email": f"buyer{n}@mail.example",
                    "other_emails": [],
                    "first_name": f"Buyer{n}",
                    "last_name": "Bench",
                    "name_key": f"buyer{n} bench",
                    "last_name_key": "bench",
                    "phone": "",
                    "other_phones": [],
                    "default_address": {},
                    "addresses": [],
                    "timezone": "America/New_York",
                    "accepts_marketing": True,
                    "tags": [],
                    "is_vip": False,
                    "orders_count": 1,
                    "total_spent": Decimal("120.00"),
                    "currency": "USD",
                    "first_order_at": now - timedelta(days=40 + n % 300),
                    "last_order_at": now - timedelta(days=40 + n % 300),
                    "created_at": now - timedelta(days=400),
                }
            )
        bulk_insert(Customer, rows)
    ids = dict(
        Customer.objects.filter(store=store).values_list("email", "pk").iterator(chunk_size=5000)
    )
    orders = []
    for n in range(count):
        at = now - timedelta(days=40 + n % 300)
        orders.append(
            {
                "store_id": store.pk,
                "customer_id": ids[f"buyer{n}@mail.example"],
                "provider_id": "",
                "number": f"#BO{n}",
                "number_key": f"BO{n}",
                "email": f"buyer{n}@mail.example",
                "phone": "",
                "name_key": f"buyer{n} bench",
                "last_name_key": "bench",
                "created_at": at,
                "processed_at": at,
                "cancel_reason": "",
                "currency": "USD",
                "subtotal_price": Decimal("120.00"),
                "total_discounts": Decimal(0),
                "total_shipping": Decimal(0),
                "total_tax": Decimal(0),
                "total_price": Decimal("120.00"),
                "total_refunded": Decimal(0),
                "discount_codes": [],
                "financial_status": "paid",
                "fulfillment_status": "fulfilled",
                "shipping_method": "",
                "shipping_method_code": "",
                "is_expedited": False,
                "billing_address": {},
                "shipping_address": {},
                "billing_country": "US",
                "shipping_country": "US",
                "user_agent": "",
                "accept_language": "",
                "source_name": "web",
                "landing_site": "",
                "referring_site": "",
                "tags": [],
                "note": "",
            }
        )
        if len(orders) == 5000:
            bulk_insert(Order, orders)
            orders = []
    if orders:
        bulk_insert(Order, orders)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=0.0)
    args, _unknown = parser.parse_known_args()  # options of the other experience sections
    os.environ.setdefault("STORE_POSTAL_ADDRESS", "Bench Jewelry, 1 Main St, Springfield, IL")
    setup_django(tempfile.mkdtemp(prefix="storedesk-bench-outreach-"))
    from django.db import connection

    from storedesk.experience.models import CampaignRecipient, Segment
    from storedesk.experience.services import (
        do_queue_campaign,
        do_save_campaign,
        do_save_segment,
        do_send_campaign_batch,
    )

    started = time.perf_counter()
    store = load_customers(args.recipients)
    print(
        f"loaded {args.recipients:,} customers and orders in {time.perf_counter() - started:.1f} s"
    )
    segment = do_save_segment(
        actor="bench", store=store, name="All buyers", kind=Segment.Kind.ALL_BUYERS, parameters={}
    )
    campaign = do_save_campaign(
        actor="bench",
        store=store,
        name="Bench Black Friday",
        segment=segment,
        subject="Early access for you, {{ first_name }}",
        body="Hi {{ first_name }},\n\n{{ offer }}",
        offer_kind="service",
        offer_amount=Decimal(0),
        offer_text="Free resizing with any order this week.",
        control_percent=10,
        occasion="",
        send_on=None,
    )
    started = time.perf_counter()
    result = do_queue_campaign(campaign.pk, actor="bench")
    queued = time.perf_counter() - started
    total = CampaignRecipient.objects.filter(campaign=campaign).count()
    print(
        f"queue: {total:,} recipients ({result.campaign.control_count:,} control) in "
        f"{queued:.2f} s [{connection.vendor}] (target < 60 s at 100,000)"
    )

    backend = CountingBackend()
    tenth = max(args.send // 10, 1)
    tracemalloc.start()
    started = time.perf_counter()
    do_send_campaign_batch(campaign.pk, limit=tenth, rate=args.rate, connection_=backend)
    early_peak = tracemalloc.get_traced_memory()[1]
    do_send_campaign_batch(
        campaign.pk, limit=args.send - tenth, rate=args.rate, connection_=backend
    )
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"send: {backend.count:,} messages in {elapsed:.1f} s = {backend.count / elapsed:.0f}/s "
        f"(rate asked: {args.rate or 'unpaced'}); peak memory {early_peak / 1e6:.1f} MB after "
        f"{tenth:,}, {peak / 1e6:.1f} MB after {backend.count:,}"
    )


if __name__ == "__main__":
    main()
