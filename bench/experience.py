"""Benchmark: the customer's side of the desk (experience app) on a store with many orders.

    python bench/experience.py [--section help|track|all] [--scale 1.0] [--orders N]
        [--articles 500] [--repeat 200] [--requests 300]

Sections (each prints its own figures):

- help center: 500 published articles (varied text from the demo's articles, so words are
  shared the way real ones are) in a store with 1,000,000 orders (bulk inserts, so the database
  has a real size); times the help-center search (the ranked query and its rows), the
  suggestion endpoint's query, and the whole /help/search/ page (view and template) over a
  mix of common words, rare words, prefixes and misses. Target: search p95 under 50 ms.

- /track/: `--scale` × 1,000,000 orders of one store (a customer per three orders), nine in
  ten shipped with three carrier scans each, filled set-based; then, through Django's test
  client (the whole request), `--requests` lookups (POST /track/ with a random order's number
  and e-mail), as many with a wrong e-mail, and as many order pages (GET /track/<signed
  token>/); p50/p95 milliseconds and the queries per request. Target: p95 under 30 ms.

- outreach: `bench/outreach.py` (a 100,000-recipient campaign queued and sent; its own
  options, e.g. `--recipients`).

`--scale` multiplies the default order count (0.02 gives 20,000 orders) for a quick run. Each
section runs in a fresh SQLite database of its own (production settings), in its own process.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

BATCH = 20_000
HELP_QUERIES = [
    "ring size",
    "tracking",
    "return",
    "refund card",
    "tarnish silver",
    "customs duties",
    "exchange",
    "warranty claim",
    "engrav",
    "ship",
    "gift card",
    "necklace length",
    "pearls",
    "delivered not received",
    "payment",
    "zzzz nothing",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def figures(name: str, timings: list[float], queries: int | None = None) -> str:
    line = (
        f"{name}: p50 {statistics.median(timings) * 1000:.1f} ms, "
        f"p95 {percentile(timings, 0.95) * 1000:.1f} ms, "
        f"max {max(timings) * 1000:.1f} ms over {len(timings)} runs"
    )
    return line + (f", {queries} queries each" if queries is not None else "")


def build_orders(store, orders: int, seed: int) -> None:
    """`orders` orders over a year, inserted with executemany (a real-sized database)."""
    from django.db import connection

    from storedesk.commerce.models import Customer, Order

    rng = random.Random(seed)  # noqa: S311 - a reproducible load, not a secret
    customer = Customer.objects.create(
        store=store, email="bench@mail.example", created_at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    money = Decimal("50.00")
    template = Order(store=store, customer=customer, subtotal_price=money, total_price=money)
    fields = [f for f in Order._meta.concrete_fields if not f.primary_key]
    base = {f.attname: f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Order._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    by_name = {f.attname: f for f in fields}
    start = datetime(2025, 3, 1, tzinfo=UTC)
    made = 0
    while made < orders:
        size = min(BATCH, orders - made)
        rows = []
        for i in range(size):
            record = dict(base)
            when = start + timedelta(seconds=rng.random() * 365 * 86400)
            for attname, value in (
                ("number", f"#B{made + i}"),
                ("number_key", f"B{made + i}"),
                ("created_at", when),
            ):
                record[attname] = by_name[attname].get_db_prep_save(value, connection)
            rows.append([record[f.attname] for f in fields])
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        made += size


def build_articles(store, count: int, seed: int) -> None:
    """`count` published articles: the demo's 25 and variations of them (shuffled sentences,
    other products and numbers), through the help center's service."""
    from storedesk.demo.help_center import ARTICLES
    from storedesk.experience.models import HelpCategory
    from storedesk.experience.services import do_save_article, ensure_help_categories

    rng = random.Random(seed)  # noqa: S311 - a reproducible load, not a secret
    ensure_help_categories()
    categories = {category.slug: category for category in HelpCategory.objects.all()}
    products = ["ring", "necklace", "bracelet", "earrings", "cuff", "pendant", "anklet", "chain"]
    for number in range(count):
        category, title, body = ARTICLES[number % len(ARTICLES)]
        sentences = body.split(". ")
        rng.shuffle(sentences)
        extra = rng.choice(products)
        do_save_article(
            store,
            actor=None,
            title=title if number < len(ARTICLES) else f"{title} ({extra}, {number})",
            body=". ".join(sentences) + f"\n\nAbout the {extra}: item {number}.",
            slug=f"article-{number}",
            category=categories[category],
            publish=True,
        )


def help_center_section(store, repeat: int) -> None:
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from storedesk.experience.queries import search_articles, suggest_articles
    from storedesk.experience.views.help import help_search

    for query in HELP_QUERIES:  # warm the page cache and the FTS tables
        search_articles(store, query)
    runs = [HELP_QUERIES[i % len(HELP_QUERIES)] for i in range(repeat)]

    search, suggest, page = [], [], []
    for query in runs:
        with CaptureQueriesContext(connection) as search_queries:
            began = time.perf_counter()
            search_articles(store, query, limit=21)
            search.append(time.perf_counter() - began)
        with CaptureQueriesContext(connection) as suggest_queries:
            began = time.perf_counter()
            suggest_articles(store, query)
            suggest.append(time.perf_counter() - began)
    factory = RequestFactory()
    help_search(factory.get("/help/search/", {"q": "warm"}))  # template loading, once
    for number, query in enumerate(runs):
        request = factory.get(
            "/help/search/", {"q": query}, REMOTE_ADDR=f"10.0.{number // 250}.{number % 250}"
        )
        began = time.perf_counter()
        response = help_search(request)
        page.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
    found = {query: len(search_articles(store, query, limit=500)) for query in HELP_QUERIES}
    print("-- help center")
    print(figures("search_articles (one page of 20)", search, len(search_queries)))
    print(figures("suggest_articles (top 3)", suggest, len(suggest_queries)))
    print(figures("/help/search/ page (view + template + search event)", page))
    print("matches: " + ", ".join(f"{query!r} {count}" for query, count in found.items()))
    verdict = "under" if percentile(search, 0.95) < 0.050 else "OVER"
    print(f"target: search p95 under 50 ms: {verdict}")


def help_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="help-center section")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the order count")
    parser.add_argument("--orders", type=int, default=None, help="default 1,000,000 × scale")
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args, _unknown = parser.parse_known_args(argv)  # the other section's options
    orders = args.orders if args.orders is not None else int(1_000_000 * args.scale)
    with tempfile.TemporaryDirectory() as var_dir:
        from _django import setup_django

        setup_django(var_dir)
        from django.db import connection, transaction

        from storedesk.commerce.models import Store

        began = time.perf_counter()
        with transaction.atomic():
            store = Store.objects.create(name="Bench store", slug="bench", timezone="UTC")
            build_orders(store, orders, args.seed)
        orders_built = time.perf_counter() - began
        began = time.perf_counter()
        build_articles(store, args.articles, args.seed)
        articles_built = time.perf_counter() - began
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(
            f"orders: {orders:,} (built in {orders_built:.1f} s); "
            f"articles: {args.articles} (saved through the service in {articles_built:.1f} s)"
        )
        help_center_section(store, args.repeat)


FULL_SCALE_ORDERS = 1_000_000
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


def track_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="/track/ section")
    parser.add_argument("--scale", type=float, default=1.0, help="× 1,000,000 orders")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args, _unknown = parser.parse_known_args(argv)  # the other section's options
    # The benchmark's one client address makes every lookup: lift the per-address limit.
    os.environ.setdefault("TRACKING_LOOKUPS_PER_IP_MINUTE", str(10 * args.requests + 100))
    os.environ.setdefault("TRACKING_LOOKUPS_PER_ORDER_HOUR", str(10 * args.requests + 100))
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    with tempfile.TemporaryDirectory(prefix="experience-bench-") as var_dir:
        from _django import setup_django

        setup_django(var_dir)
        count = max(10, int(FULL_SCALE_ORDERS * args.scale))
        started = time.perf_counter()
        fill_orders(count, args.seed)
        print(f"/track/: {count:,} orders loaded in {time.perf_counter() - started:.1f} s")
        for line in measure_tracking(count, args.requests, args.seed):
            print(line)


def outreach_main(argv: list[str]) -> None:
    """The campaign section lives in bench/outreach.py (its own options)."""
    sys.argv = [str(ROOT / "bench" / "outreach.py"), *argv]
    import outreach

    outreach.main()


SECTIONS = {"help": help_main, "track": track_main, "outreach": outreach_main}


def main() -> None:
    """`--section help|track` runs one section here; the default runs each in a process of its
    own (each sets Django up on a database of its own)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=[*SECTIONS, "all"], default="all")
    args, rest = parser.parse_known_args()
    if args.section != "all":
        SECTIONS[args.section](rest)
        return
    for name in SECTIONS:
        print(f"== {name}", flush=True)
        command = [sys.executable, __file__, "--section", name, *rest]
        subprocess.run(command, check=True)  # noqa: S603 - this same file, our own arguments


if __name__ == "__main__":
    main()
