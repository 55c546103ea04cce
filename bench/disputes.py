"""Benchmark: the disputes workspace with 20,000 disputes, through the real pages and services.

    python bench/disputes.py [--disputes 20000] [--messages 50] [--requests 50] [--pdfs 5]

Loads a fresh SQLite database (or the empty database in DATABASE_URL) set-based with
`--disputes` disputes on as many orders (Stripe and PayPal, every stage and reason family,
deadlines from three days ago to three weeks ahead), plus one disputed order whose customer
wrote `--messages` messages, with its shipment, tracking events and policies. Then times, as
a signed-in payments specialist: the queue page (unfiltered, and by gateway and family), the
navigation count, the evidence pack JSON (`GET /api/v1/disputes/{id}/evidence`, stored pack),
its assembly (`do_assemble_pack`, every read), and the PDF (`render_pack_pdf`).
Targets: queue p95 < 50 ms; pack JSON p95 < 150 ms; PDF < 2 s.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _django import setup_django  # noqa: E402  (after the path is set)

STRIPE = [
    ("fraudulent", "fraud", "10.4"),
    ("product_not_received", "not_received", "13.1"),
    ("product_unacceptable", "not_as_described", "13.3"),
    ("credit_not_processed", "credit_not_processed", "13.6"),
    ("duplicate", "duplicate", ""),
    ("subscription_canceled", "subscription", "13.2"),
    ("general", "other", ""),
]
PAYPAL = [
    ("MERCHANDISE_OR_SERVICE_NOT_RECEIVED", "not_received"),
    ("MERCHANDISE_OR_SERVICE_NOT_AS_DESCRIBED", "not_as_described"),
    ("UNAUTHORISED", "fraud"),
    ("CREDIT_NOT_PROCESSED", "credit_not_processed"),
]


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _times(label: str, samples: list[float], extra: str = "", cpu: list[float] = ()) -> float:
    """Wall time, and the process's CPU time beside it (the machine may be shared)."""
    cpu_text = (
        f"   cpu median {statistics.median(cpu) * 1000:7.1f} p95 {_p95(cpu) * 1000:7.1f} ms"
        if cpu
        else ""
    )
    print(
        f"  {label:<44} median {statistics.median(samples) * 1000:8.1f} ms"
        f"   p95 {_p95(samples) * 1000:8.1f} ms{cpu_text}   n={len(samples)} {extra}"
    )
    return _p95(samples)


def _page(client, url: str, runs: int) -> float:
    from django.db import connection

    client.get(url)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    samples, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return _times(url, samples, f"queries={len(queries)}", cpu)


def _load(count: int, seed: int):
    """`count` orders, payments and disputes, inserted set-based."""
    from django.utils import timezone

    from storedesk.commerce.models import Customer, Order, Payment, Store
    from storedesk.disputes.models import Dispute

    rng = random.Random(seed)  # noqa: S311 - synthetic data
    now = timezone.now()
    store = Store.objects.create(name="Bench Jewelry", slug="bench")
    customers = Customer.objects.bulk_create(
        [
            Customer(
                store=store,
                email=f"buyer{n}@mail.example",
                first_name="Buyer",
                last_name=str(n),
                created_at=now,
            )
            for n in range(2000)
        ],
        batch_size=1000,
    )
    orders = Order.objects.bulk_create(
        [
            Order(
                store=store,
                customer=customers[n % len(customers)],
                number=f"#B{n:07d}",
                number_key=f"B{n:07d}",
                created_at=now - timedelta(days=30 + n % 200),
                subtotal_price=Decimal("89.00"),
                total_price=Decimal(rng.randint(20, 900)),
                email=f"buyer{n % 2000}@mail.example",
                browser_ip="73.42.18.9",
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    payments = Payment.objects.bulk_create(
        [
            Payment(
                order=order,
                gateway="stripe" if n % 4 else "paypal",
                provider_id=f"ch_b{n:010d}",
                amount=order.total_price,
                currency="USD",
                status="succeeded",
                captured=True,
                created_at=order.created_at,
            )
            for n, order in enumerate(orders)
        ],
        batch_size=2000,
    )
    rows = []
    for n, (order, payment) in enumerate(zip(orders, payments, strict=True)):
        due = now + timedelta(hours=rng.randint(-72, 21 * 24))
        closed = rng.random() < 0.6
        if payment.gateway == "stripe":
            reason, family, code = rng.choice(STRIPE)
            status = (
                rng.choice(["won", "lost"])
                if closed
                else rng.choice(
                    ["needs_response", "needs_response", "under_review", "warning_needs_response"]
                )
            )
            stage = "inquiry" if status.startswith("warning") else "chargeback"
        else:
            (reason, family), code = rng.choice(PAYPAL), ""
            status = (
                "RESOLVED"
                if closed
                else rng.choice(["WAITING_FOR_SELLER_RESPONSE", "UNDER_REVIEW"])
            )
            stage = rng.choice(["inquiry", "chargeback", "pre_arbitration"])
        rows.append(
            Dispute(
                order=order,
                payment=payment,
                gateway=payment.gateway,
                provider_id=f"dp_b{n:010d}",
                kind="inquiry" if stage == "inquiry" else "chargeback",
                reason=reason,
                network_reason_code=code,
                status=status,
                amount=order.total_price,
                currency="USD",
                opened_at=due - timedelta(days=14),
                evidence_due_by=due,
                closed_at=(due + timedelta(days=30)) if closed else None,
                stage=stage,
                family=family,
                outcome=(("won" if status == "won" else "lost") if closed else ""),
            )
        )
    Dispute.objects.bulk_create(rows, batch_size=2000)
    return store


def _disputed_with_conversation(store, messages: int):
    """One fully documented disputed order whose customer wrote `messages` messages."""
    from django.utils import timezone

    from storedesk.commerce.ingest import DisputeIn
    from storedesk.commerce.models import (
        Customer,
        LineItem,
        Order,
        Payment,
        Policy,
        Shipment,
        ShipmentEvent,
    )
    from storedesk.desk.models import Message, Ticket
    from storedesk.disputes.models import Dispute
    from storedesk.disputes.services import do_ingest_disputes

    now = timezone.now()
    customer = Customer.objects.create(
        store=store,
        email="olivia@mail.example",
        first_name="Olivia",
        last_name="Bennett",
        created_at=now,
    )
    order = Order.objects.create(
        store=store,
        customer=customer,
        number="#B9999999",
        number_key="B9999999",
        created_at=now - timedelta(days=25),
        subtotal_price=Decimal("189.00"),
        total_price=Decimal("189.00"),
        email=customer.email,
        browser_ip="73.42.18.9",
        user_agent="Mozilla/5.0 (iPhone)",
        fulfillment_status="fulfilled",
        shipping_address={
            "first_name": "Olivia",
            "last_name": "Bennett",
            "address1": "12 Elm St",
            "city": "Austin",
            "province_code": "TX",
            "zip": "78701",
            "country_code": "US",
        },
    )
    LineItem.objects.create(
        order=order, title="Moonstone Ring", quantity=1, price=Decimal("189.00"), sku="RING-MOON-7"
    )
    payment = Payment.objects.create(
        order=order,
        gateway="stripe",
        provider_id="ch_bench_conversation",
        amount=order.total_price,
        currency="USD",
        status="succeeded",
        captured=True,
        created_at=order.created_at,
        avs_postal_check="pass",
        cvc_check="pass",
        three_d_secure_result="authenticated",
    )
    shipment = Shipment.objects.create(
        order=order,
        carrier="USPS",
        tracking_number="9400111899223344556677",
        status="delivered",
        shipped_at=now - timedelta(days=23),
        delivered_at=now - timedelta(days=15),
        signed_by="O BENNETT",
    )
    for day in range(8):
        ShipmentEvent.objects.create(
            shipment=shipment,
            happened_at=now - timedelta(days=23 - day),
            status="in_transit",
            message=f"Scan {day}",
        )
    for kind in ("returns", "shipping"):
        Policy.objects.create(
            store=store,
            kind=kind,
            version=1,
            title=kind.title(),
            body="Policy text. " * 80,
            effective_from=now - timedelta(days=400),
        )
    ticket = Ticket.objects.create(
        number=99_999,
        store=store,
        customer=customer,
        requester_email=customer.email,
        subject="Where is my ring?",
        channel="email",
        created_at=now - timedelta(days=16),
        updated_at=now,
    )
    ticket.orders.add(order)
    Message.objects.bulk_create(
        [
            Message(
                ticket=ticket,
                kind="inbound" if n % 2 == 0 else "outbound",
                channel="email",
                from_email=customer.email,
                text=f"Message {n}: "
                + "I am still waiting for my ring, please check the tracking. " * 6,
                created_at=now - timedelta(days=16) + timedelta(hours=n),
            )
            for n in range(messages)
        ]
    )
    do_ingest_disputes(
        [
            DisputeIn(
                gateway="stripe",
                provider_id="dp_bench_conversation",
                payment_provider_id=payment.provider_id,
                reason="product_not_received",
                status="needs_response",
                amount=order.total_price,
                currency="USD",
                opened_at=now - timedelta(days=2),
                network_reason_code="13.1",
                evidence_due_by=now + timedelta(days=5),
            )
        ],
        dispatch_events=False,
    )
    return Dispute.objects.get(provider_id="dp_bench_conversation")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disputes", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--pdfs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--var-dir", help="keep (and on a second run reuse) the database")
    args = parser.parse_args()
    # The second factor is a session flag checked once per request: off here, it costs the same.
    os.environ.setdefault("STOREDESK_REQUIRE_2FA", "0")
    setup_django(args.var_dir or tempfile.mkdtemp(prefix="storedesk-bench-"))

    from django.test import Client

    from storedesk.commerce.models import Store
    from storedesk.disputes.models import Dispute
    from storedesk.disputes.pdf import render_pack_pdf
    from storedesk.disputes.services import do_assemble_pack

    start = time.perf_counter()
    if Store.objects.filter(slug="bench").exists():
        dispute = Dispute.objects.get(provider_id="dp_bench_conversation")
        print(f"reusing {Dispute.objects.count()} disputes")
    else:
        store = _load(args.disputes, args.seed)
        dispute = _disputed_with_conversation(store, args.messages)
        _payments_user()
        print(f"loaded {args.disputes} disputes in {time.perf_counter() - start:.1f} s")
    from storedesk.accounts.models import User

    user = User.objects.get(username="bench-payments")
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)

    print("pages (payments specialist, session auth):")
    results = {
        "queue": _page(client, "/disputes/", args.requests),
    }
    _page(client, "/disputes/?gateway=paypal&family=not_received", args.requests)
    _page(client, "/disputes/?status=all&min_amount=500", args.requests)
    _page(client, "/disputes/count/", args.requests)
    _page(client, "/api/v1/disputes?status=open&ordering=due_by", args.requests)

    samples, cpu = [], []
    for _ in range(20):
        begin, begin_cpu = time.perf_counter(), time.process_time()
        pack = do_assemble_pack(dispute.pk, actor="bench")
        samples.append(time.perf_counter() - begin)
        cpu.append(time.process_time() - begin_cpu)
    print(f"evidence pack of a dispute whose customer wrote {args.messages} messages:")
    results["assemble"] = _times("do_assemble_pack (every read, saved)", samples, cpu=cpu)
    results["pack_json"] = _page(client, f"/api/v1/disputes/{dispute.pk}/evidence", args.requests)
    _page(client, f"/disputes/{dispute.pk}/", args.requests)

    samples, cpu, size = [], [], 0
    render_pack_pdf(pack.facts, pack.rebuttal)  # fonts loaded once per process
    for _ in range(args.pdfs):
        begin, begin_cpu = time.perf_counter(), time.process_time()
        size = len(render_pack_pdf(pack.facts, pack.rebuttal))
        samples.append(time.perf_counter() - begin)
        cpu.append(time.process_time() - begin_cpu)
    results["pdf"] = _times("render_pack_pdf", samples, f"{size // 1024} KiB", cpu)
    print(
        "targets (wall time): queue p95 < 50 ms: {}; pack JSON p95 < 150 ms: {}; "
        "PDF < 2 s: {}".format(
            "met" if results["queue"] < 0.05 else "MISSED",
            "met" if results["pack_json"] < 0.15 else "MISSED",
            "met" if results["pdf"] < 2 else "MISSED",
        )
    )


def _payments_user():
    from django.contrib.auth.models import Group

    from storedesk.accounts.models import User
    from storedesk.accounts.roles import Role

    user = User.objects.create_user("bench-payments", password=None)
    user.groups.add(Group.objects.get(name=Role.PAYMENTS.value))
    return user


if __name__ == "__main__":
    main()
