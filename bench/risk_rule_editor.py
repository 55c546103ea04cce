"""Benchmark: the rule editor's live backtest on the demo store, through the real endpoints.

    python bench/risk_rule_editor.py [--orders 20000] [--seed 7] [--end today] [--requests 30]

Loads the demo into a fresh SQLite database (or the empty database in DATABASE_URL) ending
today, so the backtest windows hold orders, and scores any order the demo left unscored.
Then, as a signed-in lead, times the htmx check the editor sends while a rule is typed and the
API backtest: the first request of a process (the snapshot is read and decoded), requests
that find the snapshot current, a request after a new order was scored (only the changed
orders are read), and a wider window (read afresh). Prints queries and median / p95 times.
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from _django import setup_django  # noqa: E402  (after the path is set)

RULES = [
    "review if :amount_usd: > 700 and :is_first_order:",
    "review if :is_disposable_email: and :amount_usd: > 150",
    "hold_fulfillment if :cvc_check: = 'fail' or :avs_postal_check: = 'fail'",
    "review if :billing_shipping_country_differs: and :distance_billing_shipping_km: > 1500",
    "allow if :customer_orders_count: >= 3 and :customer_prior_disputes: = 0",
    "review if :email_domain: like '%.ru' or :orders_per_ip_24h: >= 3",
]


def _line(label: str, samples: list[float], extra: str = "") -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"  {label:<44} median {statistics.median(ordered) * 1000:8.1f} ms"
        f"   p95 {p95 * 1000:8.1f} ms   n={len(ordered)} {extra}"
    )


def _timed(send) -> tuple[float, int]:
    from django.db import connection

    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        start = time.perf_counter()
        response = send()
        elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.content[:500]
    return elapsed, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=date.fromisoformat, default=date.today())  # noqa: DTZ011
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    setup_django(tempfile.mkdtemp(prefix="storedesk-bench-"))

    from django.core.management import call_command
    from django.db.models import OuterRef, Subquery, Value
    from django.db.models.functions import Least
    from django.test import Client
    from django.utils import timezone
    from tests.commerce.builders import order_in

    from storedesk.accounts.models import User
    from storedesk.commerce.models import Order
    from storedesk.commerce.services import do_ingest_orders
    from storedesk.risk.backtest import snapshots
    from storedesk.risk.models import OrderRisk
    from storedesk.risk.services import do_install_defaults, do_score_orders

    start = time.perf_counter()
    call_command(
        "demo", orders=str(args.orders), seed=args.seed, end=args.end.isoformat(), verbosity=0
    )
    print(f"demo: {args.orders} orders ending {args.end} in {time.perf_counter() - start:.1f} s")
    do_install_defaults()
    start = time.perf_counter()
    unscored = list(
        Order.objects.filter(risk__isnull=True).order_by("created_at").values_list("pk", flat=True)
    )
    do_score_orders(unscored)
    print(
        f"scored the {len(unscored)} orders the demo left unscored "
        f"in {time.perf_counter() - start:.1f} s"
    )
    # As if each order had been scored when it arrived: a store scores orders one by one, not
    # all in the last minute (which would make every order "just changed" for the snapshot).
    OrderRisk.objects.update(
        scored_at=Least(
            Subquery(Order.objects.filter(pk=OuterRef("order_id")).values("created_at")),
            Value(timezone.now()),
        )
    )

    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.get(username="lead"))
    client.get("/risk/rules/new/")  # templates, content types

    def check(source: str, days: int = 90):
        return lambda: client.post(
            "/risk/rules/check/", {"source": source, "days": days}, headers={"HX-Request": "true"}
        )

    def api(source: str, days: int = 90):
        return lambda: client.post(
            "/api/v1/risk/backtest",
            {"source": source, "days": days},
            content_type="application/json",
        )

    print("htmx check while typing (lead, session auth):")
    snapshots.clear()
    elapsed, queries = _timed(check(RULES[0]))
    _line("first request: snapshot read (90 days)", [elapsed], f"queries={queries}")
    samples, queries = [], 0
    for n in range(args.requests):
        elapsed, queries = _timed(check(RULES[n % len(RULES)]))
        samples.append(elapsed)
    _line("snapshot current (6 different rules)", samples, f"queries={queries}")

    samples = []
    store = Order.objects.first().store
    for n in range(min(args.requests, 10)):
        do_ingest_orders(store, [order_in(900_000 + n, total=Decimal("950.00"))])
        do_score_orders(list(Order.objects.order_by("-pk").values_list("pk", flat=True)[:1]))
        elapsed, queries = _timed(check(RULES[0]))
        samples.append(elapsed)
    _line("after a new order was scored", samples, f"({snapshots.last_refresh})")

    elapsed, queries = _timed(check(RULES[0], days=365))
    _line("a wider window: snapshot read (365 days)", [elapsed], f"queries={queries}")
    samples = [_timed(check(RULES[n % len(RULES)], days=365))[0] for n in range(args.requests)]
    _line("snapshot current (365 days)", samples)

    print("API POST /api/v1/risk/backtest:")
    samples, queries = [], 0
    for n in range(args.requests):
        elapsed, queries = _timed(api(RULES[n % len(RULES)]))
        samples.append(elapsed)
    _line("snapshot current (90 days)", samples, f"queries={queries}")


if __name__ == "__main__":
    main()
