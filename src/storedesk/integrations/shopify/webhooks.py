"""POST /webhooks/shopify/: a shop's signed webhook deliveries.

The shop is found by `X-Shopify-Shop-Domain` (an unknown one: 401); the body must carry the
base64 HMAC-SHA256 of its raw bytes, keyed with that connection's webhook secret, in
`X-Shopify-Hmac-Sha256` (compared in constant time; forged or missing: 401, nothing stored).
A verified delivery is stored once by `X-Shopify-Webhook-Id` and answered 200 at once (Shopify
waits 5 seconds at most and retries 8 times over 4 hours); a task applies it. The intake is
`connections.intake`'s (served by `storedesk web` through its lean entry).
"""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from storedesk.integrations.connections import intake
from storedesk.integrations.connections.systems import SHOPIFY

PATH = "/webhooks/shopify/"


def signature(secret: str, body: bytes) -> str:
    """The X-Shopify-Hmac-Sha256 value Shopify sends for this body."""
    return intake.hmac_sha256_base64(secret.encode(), body)


def verify(secret: str, body: bytes, header: str) -> bool:
    return bool(secret) and intake.matches(signature(secret, body), header)


def object_key(topic: str, payload: dict) -> str:
    """What the delivery is about: its order (so parked ones wait on it), else its object."""
    if topic.startswith("orders/"):
        return f"order:{payload.get('id', '')}"
    if payload.get("order_id"):
        return f"order:{payload['order_id']}"
    if topic.startswith("customers/"):
        return f"customer:{payload.get('id', '')}"
    return ""


def occurred_at(headers: intake.Headers):
    triggered = parse_datetime(headers("X-Shopify-Triggered-At") or "")
    return triggered if triggered and triggered.tzinfo else None


SOURCE = intake.WebhookSource(
    system=SHOPIFY,
    path=PATH,
    sender_header="X-Shopify-Shop-Domain",
    unknown_sender=("unknown_shop", _("This shop is not connected.")),
    signature_header="X-Shopify-Hmac-Sha256",
    verify=verify,
    delivery_id_header="X-Shopify-Webhook-Id",
    topic_header="X-Shopify-Topic",
    object_key=object_key,
    occurred_at=occurred_at,
)

shopify_webhook = intake.webhook_view(SOURCE)
