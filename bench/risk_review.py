"""Benchmark: the risk review desk on the demo store, through the real pages and services.

    python bench/risk_review.py [--orders 5000] [--seed 7] [--end 2026-06-30] [--requests 50]

Loads the demo into a fresh SQLite database (or the empty database in DATABASE_URL), scores
every order with the default rules, then times, as a signed-in payments specialist: the review
queue page (unfiltered and filtered), one order's review page, and each decision service
(verification request, approve, cancel, cancel and report fraud). Prints the queries each page
costs and the median / p95 times.
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _django import setup_django  # noqa: E402  (after the path is set)


def _times(label: str, samples: list[float], extra: str = "") -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"  {label:<34} median {statistics.median(ordered) * 1000:7.1f} ms"
        f"   p95 {p95 * 1000:7.1f} ms   n={len(ordered)} {extra}"
    )


def _page(client, url: str, runs: int) -> None:
    from django.db import connection

    client.get(url)  # warm caches (content types, templates)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(url)
        samples.append(time.perf_counter() - start)
    _times(url, samples, f"queries={len(queries)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="storedesk-bench-")
    setup_django(var_dir)

    from django.core.management import call_command
    from django.test import Client

    from storedesk.accounts.models import User
    from storedesk.commerce.models import Order
    from storedesk.risk import review
    from storedesk.risk.models import OrderRisk
    from storedesk.risk.services import do_install_defaults, do_score_orders

    start = time.perf_counter()
    call_command(
        "demo", orders=str(args.orders), seed=args.seed, end=args.end.isoformat(), verbosity=0
    )
    print(f"demo: {args.orders} orders in {time.perf_counter() - start:.1f} s")
    do_install_defaults()
    start = time.perf_counter()
    order_ids = list(Order.objects.order_by("created_at", "pk").values_list("pk", flat=True))
    do_score_orders(order_ids)
    in_review = list(
        OrderRisk.objects.filter(status=OrderRisk.Status.IN_REVIEW).order_by("-score", "pk")
    )
    print(
        f"scored {len(order_ids)} orders in {time.perf_counter() - start:.1f} s; "
        f"{len(in_review)} in review ({100 * len(in_review) / len(order_ids):.1f} %)"
    )
    if len(in_review) < 8:
        sys.exit("too few orders in review to time the decisions; load more orders")

    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.get(username="payments"))
    print("pages (payments specialist, session auth):")
    _page(client, "/risk/review/", args.requests)
    _page(client, "/risk/review/?min_score=40&stage=check", args.requests)
    _page(client, f"/risk/orders/{in_review[0].order_id}/", args.requests)
    _page(client, "/api/v1/risk/reviews?limit=50", args.requests)

    actor = User.objects.get(username="payments")
    decisions = {
        "do_request_verification": lambda risk: review.do_request_verification(
            risk, actor, template="billing_address", reason="bench"
        ),
        "do_approve": lambda risk: review.do_approve(risk, actor, "bench"),
        "do_cancel": lambda risk: review.do_cancel(risk, actor, "bench"),
        "do_cancel(report_fraud=True)": lambda risk: review.do_cancel(
            risk, actor, "bench", report_fraud=True
        ),
    }
    share = max(1, min(50, (len(in_review) - 1) // 3))
    pools = {
        "do_request_verification": in_review[1 : 1 + share],
        "do_approve": in_review[1 : 1 + share],
        "do_cancel": in_review[1 + share : 1 + 2 * share],
        "do_cancel(report_fraud=True)": in_review[1 + 2 * share : 1 + 3 * share],
    }
    print("decision services (one transaction each, row-locked):")
    for name, decide in decisions.items():
        samples = []
        for risk in pools[name]:
            start = time.perf_counter()
            decide(risk)
            samples.append(time.perf_counter() - start)
        _times(name, samples)


if __name__ == "__main__":
    main()
