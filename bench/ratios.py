"""Benchmark: the month's network monitoring ratios for a store with 1,000,000 orders.

    python bench/ratios.py [--orders 1000000] [--months 10] [--repeat 5]

Builds the rows in a fresh SQLite database of its own with bulk inserts (one card payment per
order, spread over --months months ending March 2026, about 0.8 % disputed and 0.3 % with an
early fraud warning), then times `month_ratios` for the last month (mid-month, so it projects)
and prints the build time, the median / max computation time and its query count.
"""

import argparse
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

BATCH = 20_000


def _inserter(model, template, varying: tuple[str, ...]):
    """An executemany INSERT of `model` rows: every column from `template` (a model instance
    with the defaults filled), the `varying` ones from each row given. Returns the ids."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    base = {f.attname: f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields}
    by_name = {f.name: f for f in fields} | {f.attname: f for f in fields}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # Table and column names come from the model; the values go as parameters.
    table = connection.ops.quote_name(model._meta.db_table)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    slots = [by_name[name].attname for name in varying]

    def insert(rows: list[tuple]) -> None:
        values = []
        for row in rows:
            record = dict(base)
            for attname, value in zip(slots, row, strict=True):
                record[attname] = by_name[attname].get_db_prep_save(value, connection)
            values.append([record[f.attname] for f in fields])
        with connection.cursor() as cursor:
            cursor.executemany(sql, values)

    return insert


def build(orders: int, months: int, seed: int) -> tuple:
    from storedesk.commerce.models import Customer, Order, Payment, Store
    from storedesk.disputes.models import Dispute, EarlyFraudWarning

    rng = random.Random(seed)  # noqa: S311 - a reproducible load, not a secret
    store = Store.objects.create(name="Bench store", slug="bench", timezone="UTC")
    customer = Customer.objects.create(
        store=store, email="bench@mail.example", created_at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    end = datetime(2026, 3, 16, tzinfo=UTC)
    start = end - timedelta(days=30 * months)
    span = (end - start).total_seconds()
    brands = ["visa"] * 6 + ["mastercard"] * 3 + ["amex"]
    reasons = ["fraudulent", "product_not_received", "product_unacceptable", "general"]
    money = Decimal("50.00")
    add_orders = _inserter(
        Order,
        Order(store=store, customer=customer, subtotal_price=money, total_price=money),
        ("number", "number_key", "created_at"),
    )
    add_payments = _inserter(
        Payment,
        Payment(store=store, amount=money, currency="USD", status="succeeded", method="card"),
        ("order_id", "gateway", "provider_id", "created_at", "card_brand"),
    )
    add_disputes = _inserter(
        Dispute,
        Dispute(amount=money, currency="USD", status="needs_response"),
        ("order_id", "payment_id", "gateway", "provider_id", "reason", "opened_at"),
    )
    add_warnings = _inserter(
        EarlyFraudWarning,
        EarlyFraudWarning(fraud_type="made_with_stolen_card", recorded_at=end),
        ("order_id", "payment_id", "gateway", "provider_id", "warned_at"),
    )
    made = 0
    while made < orders:
        size = min(BATCH, orders - made)
        times = [start + timedelta(seconds=rng.random() * span) for _ in range(size)]
        add_orders([(f"#B{made + i}", f"B{made + i}", when) for i, when in enumerate(times)])
        first = Order.objects.filter(store=store, number_key=f"B{made}").values_list(
            "pk", flat=True
        )[0]
        payments, disputes, warnings = [], [], []
        for i, when in enumerate(times):
            order_id, charge = first + i, f"ch_b{made + i}"
            gateway = "stripe" if i % 5 else "shopify_payments"
            payments.append((order_id, gateway, charge, when, rng.choice(brands)))
        add_payments(payments)
        first_payment = Payment.objects.filter(provider_id=f"ch_b{made}").values_list(
            "pk", flat=True
        )[0]
        for i, (order_id, gateway, charge, when, _) in enumerate(payments):
            if rng.random() < 0.008:
                opened = min(when + timedelta(days=rng.randint(5, 60)), end)
                disputes.append(
                    (
                        order_id,
                        first_payment + i,
                        gateway,
                        f"dp_{charge}",
                        rng.choice(reasons),
                        opened,
                    )
                )
            if rng.random() < 0.003:
                warned = min(when + timedelta(days=rng.randint(1, 20)), end)
                warnings.append((order_id, first_payment + i, gateway, f"issfr_{charge}", warned))
        add_disputes(disputes)
        add_warnings(warnings)
        made += size
    return store, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        from _django import setup_django

        setup_django(var_dir)
        from django.db import connection, transaction
        from django.test.utils import CaptureQueriesContext

        from storedesk.gateways.ratios import month_ratios

        began = time.perf_counter()
        with transaction.atomic():
            store, now = build(args.orders, args.months, args.seed)
        built = time.perf_counter() - began
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        month = now.date().replace(day=1)
        timings, cpu = [], []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                began, began_cpu = time.perf_counter(), time.process_time()
                result = month_ratios(store, month, now=now)
                timings.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
        print(f"orders: {args.orders:,} over {args.months} months; built in {built:.1f} s")
        print(
            f"month_ratios {month:%Y-%m} (as of {now:%Y-%m-%d}, projected): "
            f"median {statistics.median(timings) * 1000:.0f} ms, "
            f"max {max(timings) * 1000:.0f} ms (cpu median {statistics.median(cpu) * 1000:.0f} ms; "
            f"the machine may be shared), {len(queries)} queries"
        )
        for row in result.rows:
            print(
                f"  {row.gateway:17} {row.network:11} transactions {row.transactions:7,} "
                f"disputes {row.disputes:5} warnings {row.early_fraud_warnings:4} "
                f"dispute ratio {row.dispute_ratio}"
            )
        print(f"warnings: {len(result.warnings)}")


if __name__ == "__main__":
    main()
