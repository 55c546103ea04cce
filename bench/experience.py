"""Benchmark: the customer's self-service pages of the experience app.

    python bench/experience.py [--scale 1.0] [--requests 300] [--seed 7]

## /track/ (self-service order tracking)

A fresh database (SQLite in a temporary directory by default; DATABASE_URL=postgres://… for an
empty PostgreSQL database) is filled set-based with the core bulk insert: `--scale` × 1,000,000
orders of one store (a customer per three orders), nine in ten shipped with three carrier scans
each. Then, in-process through Django's test client (the whole request: middleware, session,
CSRF-free form post, queries, template):

1. `--requests` lookups (POST /track/ with a random order's number and e-mail: the 302 to its
   signed page), and as many with a wrong e-mail (the "not found" answer);
2. `--requests` order pages (GET /track/<signed token>/ of random orders);

and prints p50/p95 milliseconds and the queries one request costs. Target: p95 under 30 ms
with 1,000,000 orders, the query count the same at every scale.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _django import setup_django  # noqa: E402  (after the path is set)

FULL_SCALE_ORDERS = 1_000_000
BATCH = 20_000
NOW = datetime.now(UTC)
STATES = ["TX", "CA", "NY", "FL", "IL", "WA", "GA", "AZ", "CO", "MA"]


# --- /track/ -------------------------------------------------------------------------------------


def fill_orders(count: int, seed: int) -> None:
    """`count` orders set-based: customers, orders, line items, shipments, scans."""
    from storedesk.commerce.models import (
        Customer,
        LineItem,
        Order,
        Shipment,
        ShipmentEvent,
        Store,
    )
    from storedesk.core.bulk import bulk_insert

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    store = Store.objects.create(name="Bench Jewelry", slug="bench", order_number_prefix="#TP")
    customers = max(1, count // 3)
    for start in range(0, customers, BATCH):
        bulk_insert(
            Customer,
            [
                {
                    "store_id": store.pk,
                    "email": f"buyer{n}@mail.example",
                    "first_name": "Buyer",
                    "last_name": str(n),
                    "created_at": NOW - timedelta(days=400),
                }
                for n in range(start, min(customers, start + BATCH))
            ],
        )
    customer_ids = dict(Customer.objects.values_list("email", "pk"))
    for start in range(0, count, BATCH):
        stop = min(count, start + BATCH)
        orders = []
        for n in range(start, stop):
            email = f"buyer{n % customers}@mail.example"
            placed = NOW - timedelta(hours=rng.randrange(24 * 120))
            orders.append(
                {
                    "store_id": store.pk,
                    "customer_id": customer_ids[email],
                    "number": f"#TP{100000 + n}",
                    "number_key": f"TP{100000 + n}",
                    "email": email,
                    "created_at": placed,
                    "subtotal_price": Decimal("89.00"),
                    "total_price": Decimal("89.00"),
                    "financial_status": "paid",
                    "fulfillment_status": "fulfilled",
                    "shipping_address": {"province_code": rng.choice(STATES), "country_code": "US"},
                    "shipping_country": "US",
                }
            )
        bulk_insert(Order, orders)
        ids = dict(
            Order.objects.filter(
                store=store, number_key__in=[row["number_key"] for row in orders]
            ).values_list("number_key", "pk")
        )
        items, shipments = [], []
        for row in orders:
            order_id = ids[row["number_key"]]
            items.append(
                {
                    "order_id": order_id,
                    "title": "Moonstone Ring",
                    "variant_title": "Size 7",
                    "quantity": 1,
                    "price": Decimal("89.00"),
                }
            )
            if rng.random() < 0.9:
                shipped = row["created_at"] + timedelta(days=1)
                shipments.append(
                    {
                        "order_id": order_id,
                        "carrier": "USPS",
                        "service": "Priority Mail",
                        "tracking_number": f"94001{row['number_key'][2:]}",
                        "status": "in_transit",
                        "shipped_at": shipped,
                        "estimated_delivery_at": shipped + timedelta(days=4),
                    }
                )
        bulk_insert(LineItem, items)
        bulk_insert(Shipment, shipments)
        shipment_rows = Shipment.objects.filter(
            order_id__in=[row["order_id"] for row in shipments]
        ).values_list("pk", "shipped_at")
        bulk_insert(
            ShipmentEvent,
            [
                {
                    "shipment_id": pk,
                    "happened_at": shipped_at + timedelta(hours=8 * scan + 2),
                    "status": "in_transit",
                    "message": "Arrived at USPS regional facility",
                    "city": "Dallas",
                    "province": "TX",
                    "country": "US",
                }
                for pk, shipped_at in shipment_rows
                for scan in range(3)
            ],
        )


def _timed(call) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        call()
        elapsed = time.perf_counter() - started
    return elapsed * 1000, len(queries.captured_queries)


def _summary(name: str, samples: list[tuple[float, int]]) -> str:
    times = sorted(ms for ms, _ in samples)
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    queries = sorted({count for _, count in samples})
    return (
        f"{name:<28} n={len(times):<5} p50={statistics.median(times):6.1f} ms "
        f"p95={p95:6.1f} ms  queries/request={queries}"
    )


def measure_tracking(count: int, requests: int, seed: int) -> list[str]:
    from django.test import Client

    from storedesk.commerce.queries import order_tracking_url

    rng = random.Random(seed + 1)  # noqa: S311
    customers = max(1, count // 3)
    client = Client(REMOTE_ADDR="203.0.113.9")
    picks = [rng.randrange(count) for _ in range(requests)]

    def lookup(n: int, email: str):
        response = client.post("/track/", {"order": f"#TP{100000 + n}", "email": email})
        assert response.status_code in (200, 302), response.status_code

    client.get("/track/")  # warm: templates compiled, session made
    right = [_timed(lambda n=n: lookup(n, f"buyer{n % customers}@mail.example")) for n in picks]
    wrong = [_timed(lambda n=n: lookup(n, "someone.else@mail.example")) for n in picks]

    from storedesk.commerce.models import Order

    ids = dict(
        Order.objects.filter(number_key__in=[f"TP{100000 + n}" for n in picks]).values_list(
            "number_key", "pk"
        )
    )
    urls = [order_tracking_url(ids[f"TP{100000 + n}"], absolute=False) for n in picks]
    for url in urls[:5]:
        client.get(url)  # warm, and these orders verified in the session

    def page(url: str):
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    pages = [_timed(lambda url=url: page(url)) for url in urls]
    return [
        _summary("POST /track/ (right)", right),
        _summary("POST /track/ (not found)", wrong),
        _summary("GET /track/<token>/", pages),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="× 1,000,000 orders")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    # The benchmark's one client address makes every lookup: lift the per-address limit.
    os.environ.setdefault("TRACKING_LOOKUPS_PER_IP_MINUTE", str(10 * args.requests + 100))
    os.environ.setdefault("TRACKING_LOOKUPS_PER_ORDER_HOUR", str(10 * args.requests + 100))
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    with tempfile.TemporaryDirectory(prefix="experience-bench-") as var_dir:
        setup_django(var_dir)
        count = max(10, int(FULL_SCALE_ORDERS * args.scale))
        started = time.perf_counter()
        fill_orders(count, args.seed)
        print(f"/track/: {count:,} orders loaded in {time.perf_counter() - started:.1f} s")
        for line in measure_tracking(count, args.requests, args.seed):
            print(line)


if __name__ == "__main__":
    main()
