"""`storedesk demo --via-webhooks`: a share of the demo comes in through the front door.

The simulator writes most of the demo straight through the bulk services; this part plays the
demo shop's Shopify instead. The demo store is connected to a Shopify shop of its own (a
webhook secret made up for it, kept encrypted like any other), and new orders of the demo's
customers and products are sent as signed `orders/create` deliveries, with `fulfillments/create`
(tracking numbers) for half of them, `refunds/create` for one in ten and `disputes/create` (a
Shopify Payments chargeback) for one in twenty. They go to a running desk over HTTP (its worker
applies them), or, when no URL is given, through the desk's own WSGI application in this
process (the same lean intake `storedesk web` serves) and are then applied here by the same
draining function the worker runs: the real signature check, the InboundDelivery rows and
the Shopify appliers are exercised on every demo.
"""

from __future__ import annotations

import http.client
import io
import json
import random
import secrets
import sys
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from storedesk.commerce.models import Customer, Store, Variant
from storedesk.integrations.connections.credentials import NotConnected, credentials_for
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import do_apply_received, do_connect
from storedesk.integrations.connections.systems import SHOPIFY
from storedesk.integrations.shopify.webhooks import PATH, signature

DEMO_SHOP = "storedesk-demo.myshopify.com"
ORDER_ID_BASE = 8_100_000_000_000
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Delivery:
    topic: str
    webhook_id: str
    body: bytes


@dataclass
class FrontDoor:
    """What was sent and what became of it."""

    sent: Counter = field(default_factory=Counter)  # by topic
    answers: Counter = field(default_factory=Counter)  # by HTTP status
    applied: int = 0
    order_names: list[str] = field(default_factory=list)


def shop_secret(store: Store) -> str:
    """The demo shop's webhook secret: the store's Shopify connection's, made up on first use."""
    try:
        return credentials_for(store, SHOPIFY).secrets["webhook_secret"]
    except NotConnected:
        if Connection.objects.filter(store=store, system=SHOPIFY).exists():
            raise
    secret = f"shpss_demo_{secrets.token_hex(16)}"
    do_connect(
        store,
        SHOPIFY,
        config={"shop_domain": DEMO_SHOP},
        secrets={"access_token": f"shpat_demo_{secrets.token_hex(16)}", "webhook_secret": secret},
        actor="demo",
    )
    return secret


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _address(customer: Customer) -> dict:
    default = customer.default_address or {}
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "address1": default.get("address1", "") or "1 Main Street",
        "city": default.get("city", "") or "Austin",
        "province_code": default.get("province_code", "") or "TX",
        "country_code": default.get("country_code", "") or "US",
        "zip": default.get("zip", "") or "78701",
        "phone": customer.phone or None,
    }


def build_deliveries(store: Store, count: int, *, seed: int, now: datetime) -> list[Delivery]:
    """Shopify REST bodies as its webhooks deliver them: orders first, then what follows."""
    chance = random.Random(seed)  # noqa: S311 - a demo's dice
    customers = list(Customer.objects.filter(store=store).order_by("pk")[: count * 4])
    variants = list(
        Variant.objects.filter(product__store=store).select_related("product").order_by("pk")[:200]
    )
    if not customers or not variants:
        return []
    orders, later = [], []
    for index in range(count):
        customer = chance.choice(customers)
        order_id = ORDER_ID_BASE + seed * 100_000 + index
        created = now - timedelta(minutes=chance.randint(5, 2 * 24 * 60))
        items = []
        for line, variant in enumerate(chance.sample(variants, k=min(len(variants), 2))):
            quantity = chance.randint(1, 2)
            items.append(
                {
                    "id": order_id * 10 + line,
                    "title": variant.product.title,
                    "variant_title": variant.title,
                    "sku": variant.sku,
                    "quantity": quantity,
                    "price": str(variant.price),
                }
            )
        subtotal = sum((Decimal(i["price"]) * i["quantity"] for i in items), Decimal(0))
        shipping = Decimal("0.00") if subtotal >= 100 else Decimal("6.95")
        total = (subtotal + shipping).quantize(CENT)
        address = _address(customer)
        order = {
            "id": order_id,
            "name": f"#W{seed}-{index + 1:04d}",
            "email": customer.email,
            "created_at": _iso(created),
            "updated_at": _iso(created),
            "currency": store.currency,
            "financial_status": "paid",
            "fulfillment_status": None,
            "subtotal_price": str(subtotal.quantize(CENT)),
            "total_price": str(total),
            "total_tax": "0.00",
            "total_discounts": "0.00",
            "source_name": "web",
            "tags": "front-door",
            "shipping_lines": [{"title": "Standard", "code": "STD", "price": str(shipping)}],
            "billing_address": address,
            "shipping_address": address,
            "client_details": {"browser_ip": f"198.51.100.{chance.randint(1, 254)}"},
            "customer": {
                "id": 9_100_000 + customer.pk,
                "email": customer.email,
                "first_name": customer.first_name,
                "last_name": customer.last_name,
            },
            "line_items": items,
            "transactions": [
                {
                    "id": order_id * 10 + 9,
                    "kind": "sale",
                    "status": "success",
                    "amount": str(total),
                    "currency": store.currency,
                    "gateway": "shopify_payments",
                    "created_at": _iso(created + timedelta(seconds=2)),
                    "payment_details": {
                        "credit_card_company": chance.choice(["Visa", "Mastercard", "Amex"]),
                        "credit_card_number": f"•••• •••• •••• {chance.randint(1000, 9999)}",
                        "avs_result_code": chance.choice(["Y", "Y", "Y", "N"]),
                        "cvv_result_code": chance.choice(["M", "M", "M", "N"]),
                    },
                }
            ],
        }
        orders.append(Delivery("orders/create", f"demo-{seed}-order-{index}", _json(order)))
        shipped = created + timedelta(hours=chance.randint(2, 20))
        if index % 2 == 0:
            tracking = f"9400{seed % 100:02d}{order_id % 10**14:014d}"
            later.append(
                Delivery(
                    "fulfillments/create",
                    f"demo-{seed}-fulfillment-{index}",
                    _json(
                        {
                            "id": order_id * 10 + 5,
                            "order_id": order_id,
                            "status": "success",
                            "shipment_status": "in_transit",
                            "tracking_company": "USPS",
                            "tracking_number": tracking,
                            "tracking_url": f"https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}",
                            "created_at": _iso(shipped),
                            "updated_at": _iso(shipped),
                        }
                    ),
                )
            )
        if index % 10 == 3:
            part = (total / 4).quantize(CENT)
            later.append(
                Delivery(
                    "refunds/create",
                    f"demo-{seed}-refund-{index}",
                    _json(
                        {
                            "id": order_id * 10 + 6,
                            "order_id": order_id,
                            "created_at": _iso(shipped + timedelta(days=1)),
                            "note": "Partial refund: a stone came loose",
                            "transactions": [
                                {
                                    "id": order_id * 10 + 7,
                                    "kind": "refund",
                                    "status": "success",
                                    "amount": str(part),
                                    "currency": store.currency,
                                    "gateway": "shopify_payments",
                                }
                            ],
                        }
                    ),
                )
            )
        if index % 20 == 7 or (count < 8 and index == count - 1):
            later.append(
                Delivery(
                    "disputes/create",
                    f"demo-{seed}-dispute-{index}",
                    _json(
                        {
                            "id": order_id * 10 + 8,
                            "order_id": order_id,
                            "type": "chargeback",
                            "amount": str(total),
                            "currency": store.currency,
                            "reason": chance.choice(["fraudulent", "product_not_received"]),
                            "network_reason_code": "10.4",
                            "status": "needs_response",
                            "evidence_due_by": _iso(now + timedelta(days=7)),
                            "evidence_sent_on": None,
                            "finalized_on": None,
                            "initiated_at": _iso(now - timedelta(hours=1)),
                        }
                    ),
                )
            )
    return orders + later


def _json(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _headers(delivery: Delivery, secret: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": delivery.topic,
        "X-Shopify-Shop-Domain": DEMO_SHOP,
        "X-Shopify-Webhook-Id": delivery.webhook_id,
        "X-Shopify-Hmac-Sha256": signature(secret, delivery.body),
        "X-Shopify-Triggered-At": _iso(timezone.now()),
    }


def post_over_http(url: str, deliveries: list[Delivery], secret: str) -> Counter:
    """POST each delivery to a running desk (one keep-alive connection); answers by status."""
    target = urllib.parse.urlsplit(url)
    kind = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    connection = kind(target.hostname, target.port, timeout=30)
    path = target.path.rstrip("/") + PATH
    answers: Counter = Counter()
    try:
        for delivery in deliveries:
            connection.request("POST", path, body=delivery.body, headers=_headers(delivery, secret))
            response = connection.getresponse()
            response.read()
            answers[response.status] += 1
    finally:
        connection.close()
    return answers


def post_in_process(deliveries: list[Delivery], secret: str) -> Counter:
    """Each delivery through the desk's WSGI application, as `storedesk web` would pass it."""
    from storedesk.wsgi import application

    answers: Counter = Counter()
    for delivery in deliveries:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": PATH,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "HTTP_HOST": "localhost",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(delivery.body)),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(delivery.body),
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in _headers(delivery, secret).items():
            if name != "Content-Type":
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        status = {}

        def start_response(line, headers, exc_info=None, status=status):
            status["code"] = int(line.split(" ", 1)[0])

        chunks = application(environ, start_response)
        b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        answers[status["code"]] += 1
    return answers


def send_via_webhooks(store: Store, *, count: int, seed: int, url: str = "") -> FrontDoor:
    """Send `count` orders and what follows them as signed Shopify webhooks (to `url`, or
    through this process's WSGI application and applied here)."""
    secret = shop_secret(store)
    deliveries = build_deliveries(store, count, seed=seed, now=timezone.now())
    result = FrontDoor(sent=Counter(delivery.topic for delivery in deliveries))
    result.order_names = [
        json.loads(delivery.body)["name"]
        for delivery in deliveries
        if delivery.topic == "orders/create"
    ]
    if url:
        result.answers = post_over_http(url, deliveries, secret)
        return result
    result.answers = post_in_process(deliveries, secret)
    while True:
        drained = do_apply_received()
        result.applied += drained.applied
        if not drained.more_left:
            break
    return result
