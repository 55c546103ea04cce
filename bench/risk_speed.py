"""Benchmark: risk scoring speed on the demo store, and a rule backtest over a million orders.

    python bench/risk_speed.py [--orders 20000] [--seed 7] [--end 2026-06-30] [--single 2000]
                               [--backtest-rows 1000000] [--rowwise-rows 1000000]

Loads the demo into a fresh SQLite database in a temporary var dir (or the database in
DATABASE_URL, which must be empty or hold only an earlier demo). The demo scores every order
as it loads and trains a model; then this measures:

1. batch scoring: `do_score_orders` over every demo order in time order, with the trained model
   active and with only the default points table (orders/s, wall and CPU time);
2. one order at a time, warm: `do_score_orders([id])` for `--single` random orders, each
   end to end (facts queries, signals, model, rules, the write and its audit entry), with
   the p50/p95/p99 latency, and the in-process part alone (signals + model + rules on facts
   already read);
3. a backtest of one rule over a columnar snapshot of `--backtest-rows` orders, synthesised by
   resampling the demo's stored signals, next to the same rule evaluated row by row in Python
   by the real-time evaluator over `--rowwise-rows` of the same rows (scaled up if fewer),
   with the ratio measured in this run.

CPU times are printed next to wall times: on a shared machine the gap is other processes.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _django import setup_django  # noqa: E402  (after the path is set)

RULE = "review if :is_first_order: and :amount_usd: > 300 and :distance_billing_shipping_km: > 1500"


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000

    return (
        f"p50 {statistics.median(ordered) * 1000:6.2f} ms   p95 {at(0.95):6.2f} ms   "
        f"p99 {at(0.99):6.2f} ms   max {ordered[-1] * 1000:6.2f} ms"
    )


def load(args) -> None:
    from storedesk.demo.loader import load_demo, reset_demo

    reset_demo()
    summary = load_demo(orders=args.orders, seed=args.seed, end=args.end)
    print(
        f"Demo: {summary.orders:,} orders (seed {args.seed}, end {args.end}) loaded in "
        f"{summary.seconds:.1f} s, risk included:"
    )
    for key, seconds in summary.timings.items():
        if "risk" in key:
            print(f"  {key:<32} {seconds:6.1f} s")
    for key, count in summary.counters.items():
        if key.startswith("risk:"):
            print(f"  {key:<32} {count:6,}")


def batch(ids: list[int]) -> None:
    from storedesk.risk import model as risk_model
    from storedesk.risk.models import RiskModel
    from storedesk.risk.services import do_score_orders

    print(f"\n1. Batch scoring of all {len(ids):,} demo orders (do_score_orders, in time order)")
    active = RiskModel.objects.filter(is_active=True).first()
    modes = [("trained model", None)]
    if active is not None:
        modes.append(("points table", active.pk))
    for label, deactivated in modes:
        if deactivated:
            RiskModel.objects.filter(pk=deactivated).update(is_active=False)
        wall, cpu = time.perf_counter(), time.process_time()
        do_score_orders(ids, actor="bench", dispatch_events=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"  {label:<14} {wall:6.1f} s wall ({len(ids) / wall:6,.0f} orders/s)   "
            f"{cpu:6.1f} s CPU ({len(ids) / cpu:6,.0f} orders/s)   "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        if deactivated:
            RiskModel.objects.filter(pk=deactivated).update(is_active=True)
    risk_model._loaded.clear()


def single(ids: list[int], count: int) -> None:
    from django.db import connection

    from storedesk.risk.facts import facts_for_orders
    from storedesk.risk.model import active_model
    from storedesk.risk.scoring import assess
    from storedesk.risk.services import (
        _cyclic_gc_paused,
        active_rules,
        do_score_orders,
        list_values,
    )

    rng = random.Random(20261123)  # noqa: S311  (a reproducible sample, not security)
    sample = rng.sample(ids, min(count, len(ids)))
    for order_id in sample[:50]:  # warm: model loaded, caches filled, pages in memory
        do_score_orders([order_id])
    model = active_model()
    print(
        f"\n2. One order at a time, warm ({len(sample):,} random orders, "
        f"model {model.version if model else 'none: points table'}, {connection.vendor})"
    )
    end_to_end, in_process, in_process_cpu, queued = [], [], [], []
    rules, lists = active_rules(), list_values()
    for order_id in sample:
        started = time.perf_counter()
        do_score_orders([order_id])
        end_to_end.append(time.perf_counter() - started)
        facts = facts_for_orders([order_id])
        with _cyclic_gc_paused():  # as inside do_score_orders
            waited = _run_queue_wait()
            started, cpu = time.perf_counter(), time.thread_time()
            assess(facts, rules, lists, model)
            in_process.append(time.perf_counter() - started)
            in_process_cpu.append(time.thread_time() - cpu)
            queued.append(_run_queue_wait() - waited)
    print(f"  end to end (reads, scoring, write, audit)  {_percentiles(end_to_end)}")
    print(f"  signals + model + rules (in process)       {_percentiles(in_process)}")
    # On a shared machine wall time includes waiting for a CPU; this thread's CPU time does not.
    print(f"  the same, CPU time of this thread          {_percentiles(in_process_cpu)}")
    if any(queued):
        not_queued = [wall - wait for wall, wait in zip(in_process, queued, strict=True)]
        slow = [wait for wall, wait in zip(in_process, queued, strict=True) if wall > 0.005]
        print(f"  the same, waiting for a CPU (run queue)    {_percentiles(queued)}")
        print(f"  the same, wall minus waiting for a CPU     {_percentiles(not_queued)}")
        print(
            f"  calls over 5 ms: {len(slow)} of {len(queued)}, "
            f"{sum(1 for wait in slow if wait > 0.002)} of them waited over 2 ms for a CPU"
        )
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _run_queue_wait() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat; 0
    elsewhere): the part of a wall-clock time that is other processes' doing."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def backtest(rows: int, rowwise_rows: int) -> None:
    import polars as pl

    from storedesk.risk.backtest import run_backtest, snapshot
    from storedesk.risk.columnar import polars_expression
    from storedesk.risk.evaluation import evaluate
    from storedesk.risk.services import list_values, validate_rule

    rule, lists = validate_rule(RULE), list_values()
    history = snapshot(datetime(2000, 1, 1, tzinfo=UTC))
    frame = history.sample(n=rows, with_replacement=True, seed=7)
    frame = frame.with_columns(pl.int_range(pl.len()).alias("order_id"))
    print(
        f"\n3. Backtest of one rule over {frame.height:,} orders (resampled from the demo's "
        f"{history.height:,} scored orders)\n   {RULE}"
    )
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = run_backtest(rule, frame, lists, days=365)
        timings.append(time.perf_counter() - started)
    columnar = min(timings)
    print(
        f"  columnar (Polars)     {columnar:8.3f} s   matched {result.matched:,} "
        f"({result.disputed:,} disputed, {result.refunded:,} refunded, {result.good:,} good)"
    )
    part = frame.head(min(rowwise_rows, frame.height))
    records = part.to_dicts()  # the rows as the real-time path sees values (not timed)
    started = time.perf_counter()
    matched = sum(1 for record in records if evaluate(rule.condition, record, lists) is True)
    rowwise = time.perf_counter() - started
    scaled = rowwise * frame.height / part.height
    expected = part.filter(polars_expression(rule.condition, lists)).height
    note = "" if part.height == frame.height else f" (scaled up from {part.height:,} rows)"
    print(
        f"  row by row (Python)   {scaled:8.3f} s{note}   matched {matched:,} "
        f"(columnar on the same rows: {expected:,})"
    )
    print(f"  ratio                 {scaled / columnar:8.1f}× faster over a columnar snapshot")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--backtest-rows", type=int, default=1_000_000)
    parser.add_argument("--rowwise-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storedesk-bench-") as var_dir:
        setup_django(var_dir)
        from django.db import connection

        from storedesk.commerce.models import Order

        print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
        load(args)
        ids = list(Order.objects.order_by("created_at", "pk").values_list("pk", flat=True))
        batch(ids)
        single(ids, args.single)
        backtest(args.backtest_rows, args.rowwise_rows)


if __name__ == "__main__":
    main()
