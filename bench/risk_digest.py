"""Benchmark: the daily payment digest and its anomalies on the demo store.

    python bench/risk_digest.py [--orders 20000 100000] [--months 12] [--days 120]
                                [--end 2026-06-30] [--seed 7]

For each order count a fresh demo is loaded into its own temporary SQLite database (in a child
process), then the digest of each of the last --days days is built. Prints per size: the
median / p95 / max time of the anomaly search and of the whole digest, the digest's query
count, and how the anomalies compare with the demo's ground truth (read here only, never by
the product): card-testing attack days caught, and days flagging anything else.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(orders: int, months: int, days: int, end: date, seed: int) -> dict:
    """Runs inside the child process, whose settings point at an empty database."""
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storedesk.settings.prod")
    import django

    django.setup()
    from zoneinfo import ZoneInfo

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from storedesk.demo.loader import demo_store, load_demo
    from storedesk.demo.models import GroundTruth
    from storedesk.risk.anomalies import Dimension, find_anomalies
    from storedesk.risk.digest import build_digest

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    load_demo(orders=orders, months=months, seed=seed, end=end)
    load_seconds = time.perf_counter() - started
    store = demo_store()
    zone = ZoneInfo(store.timezone)
    attacks: dict[date, set[str]] = {}
    for created_at, ip in GroundTruth.objects.filter(
        order__store=store, fraud_pattern="card_testing"
    ).values_list("order__created_at", "order__browser_ip"):
        attacks.setdefault(created_at.astimezone(zone).date(), set()).add(ip)
    now = django.utils.timezone.now()
    anomaly_times, digest_times, queries = [], [], []
    caught = attack_days = other_days = 0
    flagged = []
    for offset in range(days):
        day = end - timedelta(days=offset)
        started = time.perf_counter()
        report = find_anomalies(store, day)
        anomaly_times.append(time.perf_counter() - started)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            build_digest(store, day, now=now)
            digest_times.append(time.perf_counter() - started)
        queries.append(len(captured.captured_queries))
        bursts = {a.key for a in report.anomalies if a.dimension == Dimension.DECLINE_BURST_IP}
        if day in attacks and not report.skipped:
            attack_days += 1
            caught += attacks[day] <= bursts
        others = [
            f"{day} {a.dimension} {a.display_key} {a.observed} vs {a.expected:.2f}"
            for a in report.anomalies
            if not (
                (a.dimension == Dimension.DECLINE_BURST_IP and a.key in attacks.get(day, ()))
                or (a.dimension == Dimension.DECLINES and day in attacks)
            )
        ]
        other_days += bool(others)
        flagged += others
    per_day = orders / (months * 30.4)
    return {
        "orders": orders,
        "orders_per_day": round(per_day),
        "load_s": round(load_seconds, 1),
        "days": days,
        "anomalies_ms": [
            round(1000 * statistics.median(anomaly_times)),
            round(1000 * _percentile(anomaly_times, 0.95)),
            round(1000 * max(anomaly_times)),
        ],
        "digest_ms": [
            round(1000 * statistics.median(digest_times)),
            round(1000 * _percentile(digest_times, 0.95)),
            round(1000 * max(digest_times)),
        ],
        "queries": sorted(set(queries)),
        "attack_days": attack_days,
        "caught": caught,
        "other_days": other_days,
        "other": flagged[:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.orders[0], args.months, args.days, args.end, args.seed)
        print(json.dumps(result))
        return
    print(
        f"{'orders':>8} {'per day':>8} {'load s':>7} {'anomalies ms med/p95/max':>26} "
        f"{'digest ms med/p95/max':>22} {'queries':>8} {'attack days caught':>19} "
        f"{'other days':>10}"
    )
    for orders in args.orders:
        with tempfile.TemporaryDirectory(prefix="risk-digest-bench-") as var_dir:
            env = {**os.environ, "STOREDESK_VAR_DIR": var_dir}
            env.pop("DATABASE_URL", None)
            child = subprocess.run(  # noqa: S603 - this very script, with our own arguments
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "--orders",
                    str(orders),
                    "--months",
                    str(args.months),
                    "--days",
                    str(args.days),
                    "--end",
                    args.end.isoformat(),
                    "--seed",
                    str(args.seed),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"{result['orders']:>8} {result['orders_per_day']:>8} {result['load_s']:>7} "
            f"{'/'.join(map(str, result['anomalies_ms'])):>26} "
            f"{'/'.join(map(str, result['digest_ms'])):>22} "
            f"{','.join(map(str, result['queries'])):>8} "
            f"{result['caught']:>10} of {result['attack_days']:<5} {result['other_days']:>10}"
        )
        for line in result["other"]:
            print(f"    other: {line}")


if __name__ == "__main__":
    main()
