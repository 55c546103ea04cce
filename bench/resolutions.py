"""Benchmark: refunds through the resolutions API against a local Stripe-shaped server.

    python bench/resolutions.py [--refunds 200] [--concurrent 20] [--gateway-ms 20]

Starts a local HTTP server that answers POST /v1/refunds like Stripe (a refund object, the
Idempotency-Key honoured) after `--gateway-ms` milliseconds, points STRIPE_API_BASE at it,
loads paid orders through the commerce services, then, as an administrator with an API token:

1. times `--refunds` partial refunds, one per order, through
   POST /api/v1/orders/{number}/resolutions (the whole request in-process: validation, limits,
   the order lock, the pending refund, the Stripe SDK call, the settle, audit, outbox), and
   prints p50/p95 server time and the queries one request costs (target: p95 < 100 ms with a
   20 ms gateway);
2. fires `--concurrent` refunds on different orders at once, one thread and one database
   connection each, and prints how many answered 201, any other answer, and the wall time
   (target: all 201, no server error, no lock timeout).

Runs on a fresh SQLite database by default; with DATABASE_URL=postgres://… on PostgreSQL (an
empty database). Run it once each way for both figures.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _django import setup_django  # noqa: E402  (after the path is set)


class StripeShapedServer:
    """POST /v1/refunds answered as Stripe does, after a fixed delay, idempotent by key."""

    def __init__(self, delay: float) -> None:
        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response

        self.delay = delay
        self.lock = threading.Lock()
        self.by_key: dict[str, dict] = {}
        self.made = 0

        @Request.application
        def app(request):
            time.sleep(self.delay)
            key = request.headers.get("Idempotency-Key", "")
            with self.lock:
                refund = self.by_key.get(key)
                if refund is None:
                    self.made += 1
                    refund = {
                        "id": f"re_bench{self.made:08d}",
                        "object": "refund",
                        "amount": int(request.form["amount"]),
                        "balance_transaction": f"txn_bench{self.made:08d}",
                        "charge": request.form.get("charge"),
                        "created": int(time.time()),
                        "currency": "usd",
                        "metadata": {},
                        "payment_intent": None,
                        "reason": None,
                        "receipt_number": None,
                        "status": "succeeded",
                    }
                    self.by_key[key] = refund
            return Response(json.dumps(refund), content_type="application/json")

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _load_orders(count: int):
    from storedesk.commerce.ingest import CustomerIn, LineItemIn, OrderIn, PaymentIn
    from storedesk.commerce.models import Order, Store
    from storedesk.commerce.services import do_create_store, do_ingest_orders

    store = Store.objects.filter(slug="bench").first() or do_create_store(
        name="Bench Jewelry", slug="bench"
    )
    start = Order.objects.count()
    base = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    orders = []
    for n in range(start, start + count):
        created = base + timedelta(minutes=n)
        email = f"bench{n}@mail.example"
        total = Decimal("100.00")
        orders.append(
            OrderIn(
                number=f"#BR{10000 + n}",
                created_at=created,
                currency="USD",
                subtotal_price=total,
                total_price=total,
                email=email,
                customer=CustomerIn(email=email, first_name="Emma", last_name=f"Bench{n}"),
                financial_status="paid",
                line_items=(LineItemIn(title="Moonstone Ring", quantity=1, price=total),),
                payments=(
                    PaymentIn(
                        gateway="stripe",
                        provider_id=f"ch_3Bench{n:018d}",
                        amount=total,
                        currency="USD",
                        status="succeeded",
                        captured=True,
                        created_at=created,
                    ),
                ),
            )
        )
    do_ingest_orders(store, orders, dispatch_events=False)
    return list(
        Order.objects.filter(store=store).order_by("-pk").values_list("number_key", flat=True)
    )[:count]


def _client(raw_key: str):
    from django.test import Client

    return Client(SERVER_NAME="localhost", headers={"Authorization": f"Bearer {raw_key}"})


def _refund(client, number: str, key: str):
    return client.post(
        f"/api/v1/orders/{number}/resolutions",
        {"kind": "partial_refund", "amount": "10.00", "currency": "USD", "reason": "late"},
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refunds", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--gateway-ms", type=float, default=20.0)
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="storedesk-bench-resolutions-")
    setup_django(var_dir)
    from django.conf import settings
    from django.db import close_old_connections, connection

    from storedesk.accounts.roles import Role
    from storedesk.accounts.services import do_create_api_token, do_create_user

    stripe = StripeShapedServer(args.gateway_ms / 1000)
    settings.STRIPE_SECRET_KEY = "sk_test_bench"  # noqa: S105 - the local server's
    settings.STRIPE_API_BASE = stripe.url
    settings.ALLOWED_HOSTS = ["*"]
    print(f"database: {connection.vendor}; gateway answers in {args.gateway_ms:.0f} ms")

    name = f"bench-admin-{time.time_ns()}"
    user = do_create_user(
        username=name, email=f"{name}@bench.example", password=None, roles=[Role.ADMIN]
    )
    _token, raw_key = do_create_api_token(user, name="bench")
    numbers = _load_orders(args.refunds + args.concurrent + 1)
    client = _client(raw_key)

    warm = _refund(client, numbers.pop(), "bench-warm")
    assert warm.status_code == 201, warm.content
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    samples, cpu = [], []
    for n in range(args.refunds):
        number = numbers.pop()
        started, cpu_started = time.perf_counter(), time.thread_time()
        if n == 0:
            with connection.execute_wrapper(count):
                response = _refund(client, number, f"bench-{n}")
        else:
            response = _refund(client, number, f"bench-{n}")
        samples.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - cpu_started)
        assert response.status_code == 201, response.content
    ordered, cpu_ordered = sorted(samples), sorted(cpu)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    cpu_p95 = cpu_ordered[min(len(cpu_ordered) - 1, int(len(cpu_ordered) * 0.95))]
    print(
        f"  refund through the API   p50 {statistics.median(ordered) * 1000:6.1f} ms"
        f"   p95 {p95 * 1000:6.1f} ms   n={len(ordered)}   queries/request={len(queries)}"
        f"   (the gateway's {args.gateway_ms:.0f} ms included)"
    )
    print(
        f"  its CPU time (this thread) p50 {statistics.median(cpu_ordered) * 1000:6.1f} ms"
        f"   p95 {cpu_p95 * 1000:6.1f} ms   load average {os.getloadavg()[0]:.1f}"
    )

    targets = [numbers.pop() for _ in range(args.concurrent)]
    barrier = threading.Barrier(len(targets))
    answers: list = [None] * len(targets)

    def fire(index: int, number: str) -> None:
        try:
            own = _client(raw_key)
            barrier.wait()
            answers[index] = _refund(own, number, f"bench-concurrent-{index}").status_code
        except Exception as error:  # noqa: BLE001 - counted and printed as a failure
            answers[index] = f"{type(error).__name__}: {error}"
        finally:
            close_old_connections()
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=fire, args=item) for item in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    created = sum(1 for answer in answers if answer == 201)
    others = [answer for answer in answers if answer != 201]
    print(
        f"  {len(targets)} concurrent refunds on different orders: {created} × 201, "
        f"{len(others)} other {others if others else ''}  wall {wall * 1000:.0f} ms"
    )
    print(f"  refunds made at the gateway: {stripe.made}")
    stripe.server.shutdown()


if __name__ == "__main__":
    main()
