"""Benchmark: load the demo store, then time the order searches the desk runs all day.

    python bench/demo_load.py [--orders 100000] [--seed 7] [--end 2026-06-30] [--searches 300]

Uses a fresh SQLite database in a temporary var dir, or the database in DATABASE_URL when set
(it must be empty or hold only an earlier demo, which is reset). Prints orders/second of the
load and the median / p95 time of searches by order number, email, last-name prefix and
tracking number, done with the indexed lookups the order search page uses.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _django import setup_django  # noqa: E402  (after the path is set)


def searches(store):
    """The four searches, each through the order search page's own query, first page (50)."""
    from storedesk.commerce.queries import search_orders

    def first_page(value: str) -> list:
        return list(search_orders(store, value)[:50])

    return dict.fromkeys(
        ("order number", "email", "last-name prefix", "tracking number"), first_page
    )


def samples(store, count: int, rng: random.Random) -> dict[str, list[str]]:
    from storedesk.commerce.models import Order, Shipment

    total = Order.objects.filter(store=store).count()
    picks = sorted(rng.sample(range(total), min(count, total)))
    numbers, emails, prefixes = [], [], []
    for offset in picks:
        number, email, last = (
            Order.objects.filter(store=store)
            .order_by("pk")
            .values_list("number_key", "email", "last_name_key")[offset]
        )
        numbers.append(number)
        emails.append(email)
        prefixes.append(last[: rng.randint(2, 4)])
    tracking = list(
        Shipment.objects.filter(order__store=store)
        .order_by("?")
        .values_list("tracking_number", flat=True)[:count]
    )
    return {
        "order number": numbers,
        "email": emails,
        "last-name prefix": prefixes,
        "tracking number": tracking,
    }


def _time_searches(store, count: int) -> None:
    rng = random.Random(20260630)  # noqa: S311  (reproducible samples, not security)
    values = samples(store, count, rng)
    print(f"\nSearches ({count} each, first page of 50):")
    print(f"  {'search':<18} {'median ms':>10} {'p95 ms':>10} {'max ms':>10}")
    for name, search in searches(store).items():
        timings = []
        for value in values[name]:
            started = time.perf_counter()
            search(value)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"  {name:<18} {statistics.median(timings):>10.2f} {p95:>10.2f} {timings[-1]:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--searches", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storedesk-bench-") as var_dir:
        setup_django(var_dir)
        from django.db import connection

        from storedesk.demo.loader import demo_store, load_demo, reset_demo

        reset_demo()
        print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
        step = max(args.orders // 10, 1)

        def progress(done: int) -> None:
            if done % step < 2000:
                print(f"  … {done:,} orders", flush=True)

        summary = load_demo(
            orders=args.orders, months=args.months, seed=args.seed, end=args.end, progress=progress
        )
        print(
            f"Loaded {summary.orders:,} orders in {summary.seconds:.1f} s: "
            f"{summary.orders / summary.seconds:,.0f} orders/s"
        )
        for key, seconds in summary.timings.items():
            if seconds >= 0.05:
                print(f"  {key:<30} {seconds:>8.1f} s")
        _time_searches(demo_store(), args.searches)


if __name__ == "__main__":
    main()
