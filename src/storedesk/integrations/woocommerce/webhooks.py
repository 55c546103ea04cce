"""POST /webhooks/woocommerce/: a site's signed webhook deliveries.

The site is found by `X-WC-Webhook-Source` (unknown: 401); `X-WC-Webhook-Signature` must be the
base64 HMAC-SHA256 of the raw body keyed with the webhook's secret (as WooCommerce uses it:
HTML entities decoded), compared in constant time (forged or missing: 401, nothing stored). The
ping WooCommerce sends when a webhook is saved (`webhook_id=N`) is answered 200 and not stored.
A delivery is stored once by `X-WC-Webhook-Delivery-ID` (with the webhook id) and applied in a
task. The intake is `connections.intake`'s (served by `storedesk web` through its lean entry).
"""

from __future__ import annotations

import html
import re

from django.utils.translation import gettext_lazy as _

from storedesk.integrations.connections import intake
from storedesk.integrations.connections.systems import WOOCOMMERCE

PATH = "/webhooks/woocommerce/"
PING = re.compile(rb"^webhook_id=\d+$")


def signature(secret: str, body: bytes) -> str:
    return intake.hmac_sha256_base64(html.unescape(secret).encode(), body)


def verify(secret: str, body: bytes, header: str) -> bool:
    return bool(secret) and intake.matches(signature(secret, body), header)


def delivery_id(connection, headers: intake.Headers, delivery: str) -> str:
    """Delivery ids count per webhook: the site and the webhook's id make them unique."""
    webhook_id = headers("X-WC-Webhook-ID").strip()
    return f"{connection.lookup_key}:{webhook_id}:{delivery}"


def object_key(topic: str, payload: dict) -> str:
    return f"order:{payload.get('id', '')}" if topic.startswith("order.") else ""


SOURCE = intake.WebhookSource(
    system=WOOCOMMERCE,
    path=PATH,
    sender_header="X-WC-Webhook-Source",
    unknown_sender=("unknown_site", _("This site is not connected.")),
    signature_header="X-WC-Webhook-Signature",
    verify=verify,
    delivery_id_header="X-WC-Webhook-Delivery-ID",
    topic_header="X-WC-Webhook-Topic",
    object_key=object_key,
    delivery_id=delivery_id,
    is_ping=lambda body: bool(PING.match(body.strip())),
)

woocommerce_webhook = intake.webhook_view(SOURCE)
