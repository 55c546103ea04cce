"""Benchmark: the Shopify connector's intake, backfill and update path on SQLite.

    python bench/connectors.py [--deliveries 20000] [--senders 16] [--processes 2] [--orders 100000]
                               [--updates 1000] [--only intake|backfill|apply]

Each part runs in a process of its own on a fresh SQLite database (WAL, prod settings) in a
temporary var dir, and prints its figures:

- intake: `storedesk web --processes N --threads T` serves (the lean webhook entry of
  `storedesk.wsgi`); a second process posts signed orders/create deliveries
  (Shopify's HMAC, one webhook id each) over loopback from `--senders` keep-alive connections,
  then replays every one of them twice at once. Figures: deliveries acknowledged and stored per
  second, and the rows stored afterwards (must equal the distinct ids: none lost, none twice),
  the server's CPU time per delivery (all its processes) and the load average.
  Target: at least 1,000 deliveries/s.
- backfill: a bulk-operation JSONL file of `--orders` orders (three rows each: the order and two
  line items) is generated, served by a local HTTP server that also answers the bulk-operation
  mutation and status query like Shopify, and `storedesk sync shopify` runs against it
  (streamed, batches of 2,000). Figures: seconds, orders/s, peak memory (max RSS) of that
  process. Target: 100,000 orders in under 60 s, under 500 MB.
- apply: `--updates` orders/updated deliveries (a newer updated_at, a new address, a new
  payment) applied one by one through the delivery task's own function. Figures: p50/p95/max
  milliseconds. Target: p95 under 20 ms.

`--via-webhooks http://127.0.0.1:8000 --domain SHOP --secret S` instead posts `--count` signed
orders/create deliveries and fulfillments/create for half of them to a running desk whose store
is connected to that shop (`storedesk connect shopify …`): the demo's way in through the front
door. Run `storedesk worker` too, so the deliveries are applied.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

DOMAIN = "bench-pearl.myshopify.com"
SECRET = "shpss_bench_9c1f"  # noqa: S105 - a made-up secret of the benchmark's own shop
TOKEN = "shpat_bench_42"  # noqa: S105 - made up too
PATH = "/webhooks/shopify/"


# --- payloads ----------------------------------------------------------------------------------


def rest_order(number: int, *, updated: str = "2026-01-05T10:00:00-05:00") -> dict:
    """A Shopify REST `order` as orders/* webhooks deliver it (the fixtures' shape)."""
    address = {
        "first_name": "Bob",
        "last_name": "Norman",
        "address1": "Chestnut Street 92",
        "city": "Louisville",
        "province": "Kentucky",
        "province_code": "KY",
        "country": "United States",
        "country_code": "US",
        "zip": "40202",
        "phone": "555-625-1199",
    }
    return {
        "id": 450789469 + number,
        "name": f"#B{number}",
        "email": f"buyer{number % 5000}@example.com",
        "created_at": "2026-01-04T11:00:00-05:00",
        "updated_at": updated,
        "currency": "USD",
        "financial_status": "paid",
        "fulfillment_status": None,
        "subtotal_price": "398.00",
        "total_price": "409.94",
        "total_tax": "11.94",
        "total_discounts": "0.00",
        "source_name": "web",
        "tags": "",
        "shipping_lines": [{"title": "Free Shipping", "code": "Free Shipping", "price": "0.00"}],
        "billing_address": address,
        "shipping_address": address,
        "client_details": {"browser_ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
        "customer": {
            "id": 207119551 + number % 5000,
            "email": f"buyer{number % 5000}@example.com",
            "first_name": "Bob",
            "last_name": "Norman",
        },
        "line_items": [
            {
                "id": 466157049 + number * 3 + index,
                "title": "Pearl drop earrings",
                "quantity": 1,
                "price": "199.00",
                "sku": f"PE-{index}",
                "variant_title": "Silver",
            }
            for index in range(2)
        ],
        "transactions": [
            {
                "id": 389404469 + number,
                "kind": "sale",
                "status": "success",
                "amount": "409.94",
                "currency": "USD",
                "gateway": "shopify_payments",
                "created_at": "2026-01-04T11:00:01-05:00",
                "payment_details": {
                    "credit_card_company": "Visa",
                    "credit_card_number": "•••• •••• •••• 4242",
                    "avs_result_code": "Y",
                    "cvv_result_code": "M",
                },
            }
        ],
    }


def hmac_header(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def bulk_rows(number: int) -> str:
    """One order of a bulk-operation JSONL result: the order row and its line-item rows."""
    gid = f"gid://shopify/Order/{5_000_000 + number}"
    money = '{"shopMoney":{"amount":"%s","currencyCode":"USD"}}'
    address = (
        '{"firstName":"Bob","lastName":"Norman","company":null,"address1":"Chestnut Street 92",'
        '"address2":"","city":"Louisville","province":"Kentucky","provinceCode":"KY",'
        '"country":"United States","countryCodeV2":"US","zip":"40202","phone":null}'
    )
    order = (
        f'{{"id":"{gid}","name":"#S{number}","email":"buyer{number % 20000}@example.com",'
        f'"phone":null,"createdAt":"2025-{1 + number % 12:02d}-{1 + number % 28:02d}T10:00:00Z",'
        '"updatedAt":"2026-01-05T10:00:00Z","processedAt":null,"cancelledAt":null,'
        '"cancelReason":null,"displayFinancialStatus":"PAID",'
        '"displayFulfillmentStatus":"FULFILLED","currencyCode":"USD",'
        f'"clientIp":"203.0.{number % 250}.7","sourceName":"web","tags":[],"note":null,'
        f'"subtotalPriceSet":{money % "398.00"},"totalPriceSet":{money % "409.94"},'
        f'"totalTaxSet":{money % "11.94"},"totalDiscountsSet":{money % "0.00"},'
        f'"totalShippingPriceSet":{money % "0.00"},'
        '"shippingLine":{"title":"Standard","code":"STD"},'
        f'"shippingAddress":{address},"billingAddress":{address},'
        f'"customer":{{"id":"gid://shopify/Customer/{number % 20000}",'
        f'"email":"buyer{number % 20000}@example.com","firstName":"Bob","lastName":"Norman",'
        '"phone":null},'
        f'"transactions":[{{"id":"gid://shopify/OrderTransaction/{number}","kind":"SALE",'
        '"status":"SUCCESS","gateway":"shopify_payments","createdAt":"2025-06-01T10:00:01Z",'
        f'"errorCode":null,"amountSet":{money % "409.94"},"paymentDetails":{{"company":"Visa",'
        '"number":"•••• 4242","avsResultCode":"Y","cvvResultCode":"M"}}],'
        f'"fulfillments":[{{"id":"gid://shopify/Fulfillment/{number}","status":"SUCCESS",'
        '"displayStatus":"DELIVERED","createdAt":"2025-06-02T10:00:00Z",'
        '"deliveredAt":"2025-06-05T10:00:00Z","estimatedDeliveryAt":null,'
        f'"trackingInfo":[{{"company":"UPS","number":"1Z{number:010d}","url":null}}]}}],'
        + (
            f'"refunds":[{{"id":"gid://shopify/Refund/{number}","createdAt":"2025-06-09T10:00:00Z",'
            f'"note":"","totalRefundedSet":{money % "20.00"}}}]}}'
            if number % 10 == 0
            else '"refunds":[]}'
        )
    )
    items = "".join(
        f'{{"id":"gid://shopify/LineItem/{number * 2 + index}","title":"Pearl drop earrings",'
        f'"quantity":1,"sku":"PE-{index}","variantTitle":"Silver",'
        f'"originalUnitPriceSet":{money % "199.00"},"totalDiscountSet":{money % "0.00"},'
        f'"__parentId":"{gid}"}}\n'
        for index in range(2)
    )
    return order + "\n" + items


# --- helpers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child(part: str, var_dir: str, args: argparse.Namespace) -> dict:
    """Run one part in a fresh process on its own var dir; its figures as a dict."""
    env = {
        **os.environ,
        "STOREDESK_VAR_DIR": var_dir,
        "DJANGO_SETTINGS_MODULE": "storedesk.settings.prod",
    }
    env.pop("DATABASE_URL", None)
    command = [sys.executable, __file__, "--run", part, *_forwarded(args)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{part} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _forwarded(args) -> list[str]:
    return [
        f"--deliveries={args.deliveries}",
        f"--senders={args.senders}",
        f"--orders={args.orders}",
        f"--updates={args.updates}",
        f"--port={args.port}",
        f"--processes={args.processes}",
        f"--threads={args.threads}",
    ]


def _connect_shop(**config):
    from storedesk.commerce.services import do_create_store
    from storedesk.integrations.connections.services import do_connect

    store = do_create_store(name="Bench Pearl", slug="bench-pearl")
    return do_connect(
        store,
        "shopify",
        config={"shop_domain": DOMAIN, **config},
        secrets={"access_token": TOKEN, "webhook_secret": SECRET},
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live children (`storedesk web --processes N`)."""
    total = _process_cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += _process_cpu_seconds(int(stat.parent.name))
    return total


def machine() -> dict:
    return {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 1)}


# --- intake ------------------------------------------------------------------------------------


def run_intake(args) -> dict:
    from _django import setup_django

    setup_django(os.environ["STOREDESK_VAR_DIR"])
    _connect_shop()
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "storedesk",
            "web",
            f"--port={port}",
            f"--threads={args.threads}",
            f"--processes={args.processes}",
        ],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        # a file, not a pipe: a full pipe nobody reads would stall the server mid-run (waitress
        # logs its queue depth under load)
        stderr=(Path(os.environ["STOREDESK_VAR_DIR"]) / "web.log").open("wb"),
    )
    try:
        _wait_for_port(port, server)
        cpu_before = _tree_cpu_seconds(server.pid)
        poster = subprocess.run(  # noqa: S603
            [sys.executable, __file__, "--run", "post", *_forwarded(args), f"--port={port}"],
            capture_output=True,
            text=True,
            check=True,
        )
        sent = json.loads(poster.stdout.strip().splitlines()[-1])
        server_cpu = _tree_cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    from storedesk.integrations.connections.models import InboundDelivery

    stored = InboundDelivery.objects.count()
    distinct = InboundDelivery.objects.values("delivery_id").distinct().count()
    posted = sent["deliveries"] + sent["replayed"]
    return {
        **sent,
        "stored": stored,
        "distinct_ids": distinct,
        "server_cpu_seconds": round(server_cpu, 1),
        "per_server_cpu_second": round(posted / server_cpu) if server_cpu else None,
        "server_cpu_ms_per_delivery": round(server_cpu * 1000 / posted, 3) if posted else None,
        "processes": args.processes,
    }


def _wait_for_port(port: int, server) -> None:
    for _ in range(1200):
        if server.poll() is not None:
            log = Path(os.environ["STOREDESK_VAR_DIR"]) / "web.log"
            raise SystemExit(f"the web server stopped: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the web server did not start")


def _send_all(
    port: int,
    items: list[tuple],
    senders: int,
    *,
    host: str = "127.0.0.1",
    domain: str = DOMAIN,
    secret: str = SECRET,
) -> tuple[float, dict]:
    """POST every (webhook id, body[, topic]) from `senders` keep-alive connections;
    (seconds, answers by status)."""
    codes: dict[int, int] = {}
    lock = threading.Lock()
    chunks = [items[index::senders] for index in range(senders)]
    barrier = threading.Barrier(senders + 1)

    def send(chunk):
        connection = http.client.HTTPConnection(host, port, timeout=30)
        mine: dict = {}
        barrier.wait()
        for webhook_id, body, *topic in chunk:
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic[0] if topic else "orders/create",
                "X-Shopify-Shop-Domain": domain,
                "X-Shopify-Webhook-Id": webhook_id,
                "X-Shopify-Hmac-Sha256": hmac_header(body, secret),
                "X-Shopify-Triggered-At": "2026-01-05T15:00:00Z",
            }
            for _attempt in range(3):  # as a sender does: a dropped connection is retried
                try:
                    connection.request("POST", PATH, body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as error:
                    name = f"error:{type(error).__name__}"
                    mine[name] = mine.get(name, 0) + 1
                    connection.close()
                    connection = http.client.HTTPConnection(host, port, timeout=30)
                    continue
                mine[response.status] = mine.get(response.status, 0) + 1
                break
        connection.close()
        with lock:
            for code, count in mine.items():
                codes[code] = codes.get(code, 0) + count

    threads = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, codes


def run_post(args) -> dict:
    """The second process: first delivery of each, then every one replayed twice at once."""
    items = []
    for number in range(args.deliveries):
        body = json.dumps(rest_order(number), separators=(",", ":")).encode()
        items.append((f"bench-{number}", body))
    seconds, codes = _send_all(args.port, items, args.senders)
    replay = [item for item in items for _ in range(2)]
    replay_seconds, replay_codes = _send_all(args.port, replay, args.senders)
    return {
        "deliveries": len(items),
        "seconds": round(seconds, 2),
        "per_second": round(len(items) / seconds),
        "codes": codes,
        "replayed": len(replay),
        "replay_per_second": round(len(replay) / replay_seconds),
        "replay_codes": replay_codes,
    }


# --- backfill ----------------------------------------------------------------------------------


class _FakeShopify(BaseHTTPRequestHandler):
    """Answers the bulk mutation and status query like Shopify and serves the result file."""

    jsonl: Path
    base: str

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802 - http.server's name
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["query"]
        operation = "gid://shopify/BulkOperation/1"
        if "RunBulk" in query:
            data = {
                "bulkOperationRunQuery": {
                    "bulkOperation": {"id": operation, "status": "CREATED"},
                    "userErrors": [],
                }
            }
        else:
            data = {
                "node": {
                    "id": operation,
                    "status": "COMPLETED",
                    "errorCode": None,
                    "objectCount": "0",
                    "url": f"{self.base}/result.jsonl",
                    "partialDataUrl": None,
                    "createdAt": "2026-01-06T00:00:00Z",
                }
            }
        body = json.dumps({"data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/jsonl")
        self.send_header("Content-Length", str(self.jsonl.stat().st_size))
        self.end_headers()
        with self.jsonl.open("rb") as source:
            while chunk := source.read(1 << 16):
                self.wfile.write(chunk)


def run_backfill(args) -> dict:
    from _django import setup_django

    var_dir = Path(os.environ["STOREDESK_VAR_DIR"])
    jsonl = var_dir / "result.jsonl"
    started = time.perf_counter()
    with jsonl.open("w") as out:
        for number in range(args.orders):
            out.write(bulk_rows(number))
    generated = time.perf_counter() - started
    port = free_port()
    _FakeShopify.jsonl, _FakeShopify.base = jsonl, f"http://127.0.0.1:{port}"
    server = ThreadingHTTPServer(("127.0.0.1", port), _FakeShopify)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    setup_django(str(var_dir))
    connection = _connect_shop(api_base_url=f"http://127.0.0.1:{port}")
    from storedesk.commerce.models import LineItem, Order, Refund
    from storedesk.integrations.shopify.sync import backfill

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    result = backfill(connection, sleep=lambda seconds: None)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    server.shutdown()
    return {
        "orders": Order.objects.count(),
        "line_items": LineItem.objects.count(),
        "refunds": Refund.objects.count(),
        "rejected": len(result.rejected),
        "file_mb": round(jsonl.stat().st_size / 1e6, 1),
        "generate_seconds": round(generated, 1),
        "seconds": round(seconds, 1),
        "orders_per_second": round(result.orders_created / seconds),
        "cpu_seconds": round(cpu, 1),
        "max_rss_mb_before": round(before / 1024),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


# --- apply -------------------------------------------------------------------------------------


def run_apply(args) -> dict:
    from _django import setup_django

    setup_django(os.environ["STOREDESK_VAR_DIR"])
    connection = _connect_shop()
    from storedesk.commerce.services import do_ingest_orders
    from storedesk.integrations.connections.services import (
        do_apply_delivery,
        do_receive_delivery,
    )
    from storedesk.integrations.shopify.mappers import order_from_rest

    count = args.updates
    do_ingest_orders(
        connection.store,
        [order_from_rest(rest_order(n)) for n in range(count * 5)],
        dispatch_events=False,
    )
    ids = []
    for number in range(0, count * 5, 5):
        newer = rest_order(number, updated="2026-01-06T10:00:00-05:00")
        newer["shipping_address"] = newer["shipping_address"] | {"address1": "1 Harbor Way"}
        newer["transactions"].append(
            newer["transactions"][0] | {"id": 9_000_000 + number, "kind": "capture"}
        )
        newer["fulfillment_status"] = "fulfilled"
        received = do_receive_delivery(
            connection,
            delivery_id=f"update-{number}",
            topic="orders/updated",
            body=json.dumps(newer),
            object_key=f"order:{newer['id']}",
        )
        ids.append(received.delivery.pk)
    timings, cpu_timings, outcomes = [], [], {}
    for pk in ids:
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = do_apply_delivery(pk)
        timings.append((time.perf_counter() - started) * 1000)
        cpu_timings.append((time.process_time() - cpu_started) * 1000)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    timings.sort()
    cpu_timings.sort()
    return {
        "cpu_p95_ms": round(cpu_timings[int(len(cpu_timings) * 0.95) - 1], 2),
        "updates": len(timings),
        "outcomes": outcomes,
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        "max_ms": round(timings[-1], 2),
    }


# --- through the front door ----------------------------------------------------------------


def post_to_running_desk(args) -> dict:
    """Signed Shopify orders/create deliveries and, for half of them, fulfillments/create
    (with a tracking number), posted to a desk that is running (`make run`), whose store is
    connected with the same shop domain and webhook secret (`storedesk connect shopify`)."""
    target = urllib.parse.urlsplit(args.via_webhooks)
    items = []
    for number in range(args.count):
        order = rest_order(number)
        order["name"] = f"#WH{number}"
        items.append((f"front-door-order-{number}", json.dumps(order).encode(), "orders/create"))
    for number in range(0, args.count, 2):
        fulfillment = {
            "id": 255858046 + number,
            "order_id": 450789469 + number,
            "status": "success",
            "shipment_status": "in_transit",
            "tracking_company": "UPS",
            "tracking_number": f"1Z999AA1{number:010d}",
            "tracking_url": f"https://www.ups.com/track?tracknum=1Z999AA1{number:010d}",
            "created_at": "2026-01-05T09:00:00-05:00",
            "updated_at": "2026-01-05T09:00:00-05:00",
        }
        items.append(
            (
                f"front-door-fulfillment-{number}",
                json.dumps(fulfillment).encode(),
                "fulfillments/create",
            )
        )
    seconds, codes = _send_all(
        target.port or 80,
        items[: args.count],
        args.senders,
        host=target.hostname,
        domain=args.domain,
        secret=args.secret,
    )
    later, more = _send_all(
        target.port or 80,
        items[args.count :],
        args.senders,
        host=target.hostname,
        domain=args.domain,
        secret=args.secret,
    )
    return {
        "posted": len(items),
        "seconds": round(seconds + later, 2),
        "codes": codes,
        "fulfillment_codes": more,
    }


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--orders", type=int, default=100000)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--only", choices=["intake", "backfill", "apply"])
    parser.add_argument(
        "--processes", type=int, default=2, help="`storedesk web` processes (intake)"
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per web process")
    parser.add_argument(
        "--via-webhooks",
        metavar="URL",
        help="post signed orders and fulfilments to a running desk (e.g. http://127.0.0.1:8000)",
    )
    parser.add_argument("--count", type=int, default=200, help="orders to post (--via-webhooks)")
    parser.add_argument("--domain", default=DOMAIN, help="the connected shop (--via-webhooks)")
    parser.add_argument("--secret", default=SECRET, help="its webhook secret (--via-webhooks)")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        runner = {
            "intake": run_intake,
            "post": run_post,
            "backfill": run_backfill,
            "apply": run_apply,
        }[args.run]
        print(json.dumps(runner(args)))
        return
    if args.via_webhooks:
        print(json.dumps(post_to_running_desk(args)))
        return
    parts = [args.only] if args.only else ["intake", "backfill", "apply"]
    for part in parts:
        with tempfile.TemporaryDirectory(prefix=f"bench-{part}-") as var_dir:
            figures = child(part, var_dir, args)
        print(f"{part}: {json.dumps(figures | {'machine': machine()})}")
        if part == "intake":
            lost = figures["deliveries"] - figures["distinct_ids"]
            twice = figures["stored"] - figures["distinct_ids"]
            print(
                f"  intake {figures['per_second']} deliveries/s acknowledged and stored "
                f"(target >= 1000); replay {figures['replay_per_second']}/s; "
                f"lost {lost}, stored twice {twice}"
            )
        elif part == "backfill":
            print(
                f"  backfill {figures['orders']} orders in {figures['seconds']} s "
                f"(target < 60 s), peak memory {figures['max_rss_mb']} MB (target < 500 MB)"
            )
        else:
            print(f"  orders/updated applied: p95 {figures['p95_ms']} ms (target < 20 ms)")


if __name__ == "__main__":
    main()
