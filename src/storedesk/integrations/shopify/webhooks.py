"""POST /webhooks/shopify/: a shop's signed webhook deliveries.

The shop is found by `X-Shopify-Shop-Domain` (an unknown one: 401); the body must carry the
base64 HMAC-SHA256 of its raw bytes, keyed with that connection's webhook secret, in
`X-Shopify-Hmac-Sha256` (compared in constant time; forged or missing: 401, nothing stored).
A verified delivery is stored once by `X-Shopify-Webhook-Id` and answered 200 at once (Shopify
waits 5 seconds at most and retries 8 times over 4 hours); a task applies it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from functools import lru_cache

from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from storedesk.integrations.connections import intake
from storedesk.integrations.connections.credentials import connection_by_lookup
from storedesk.integrations.connections.secrets import SecretsUnreadable, decrypt_secrets
from storedesk.integrations.connections.services import do_receive_delivery
from storedesk.integrations.connections.systems import SHOPIFY
from storedesk.integrations.connections.tasks import drain_after_commit

logger = logging.getLogger(__name__)


def signature(secret: str, body: bytes) -> str:
    """The X-Shopify-Hmac-Sha256 value Shopify sends for this body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(secret: str, body: bytes, header: str) -> bool:
    if not secret or not header:
        return False
    return hmac.compare_digest(signature(secret, body), header.strip())


@lru_cache(maxsize=256)
def webhook_secret(secrets_token: str) -> str:
    """The connection's webhook secret, decrypted once per stored token (a new token after a
    reconnect or a key rotation is a new entry)."""
    return decrypt_secrets(secrets_token).get("webhook_secret", "")


def object_key(topic: str, payload: dict) -> str:
    """What the delivery is about: its order (so parked ones wait on it), else its object."""
    if topic.startswith("orders/"):
        return f"order:{payload.get('id', '')}"
    if payload.get("order_id"):
        return f"order:{payload['order_id']}"
    if topic.startswith("customers/"):
        return f"customer:{payload.get('id', '')}"
    return ""


@csrf_exempt
def shopify_webhook(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return intake.method_not_allowed()
    raw = intake.read_body(request)
    if raw is None:
        return intake.too_large()
    domain = request.headers.get("X-Shopify-Shop-Domain", "")
    connection = connection_by_lookup(SHOPIFY, domain)
    if connection is None:
        logger.warning("Shopify webhook from an unknown shop %r refused", domain[:100])
        return intake.error(401, "unknown_shop", _("This shop is not connected."))
    try:
        secret = webhook_secret(connection.secrets_token)
    except SecretsUnreadable:
        logger.error("Shopify connection %s: its secrets cannot be decrypted", connection.pk)
        secret = ""
    if not verify(secret, raw, request.headers.get("X-Shopify-Hmac-Sha256", "")):
        logger.warning("Shopify webhook for %s refused: bad signature", connection.lookup_key)
        return intake.error(401, "bad_signature", _("The signature does not match the body."))
    try:
        body, payload = intake.json_object(raw)
    except intake.NotJson:
        return intake.error(400, "malformed_json", _("The body is not a JSON object."))
    delivery_id = request.headers.get("X-Shopify-Webhook-Id", "").strip()
    topic = request.headers.get("X-Shopify-Topic", "").strip().lower()
    if not delivery_id or not topic:
        return intake.error(
            400, "missing_header", _("X-Shopify-Webhook-Id and X-Shopify-Topic are required.")
        )
    triggered = parse_datetime(request.headers.get("X-Shopify-Triggered-At", "") or "")
    received = do_receive_delivery(
        connection,
        delivery_id=delivery_id,
        topic=topic,
        body=body,
        object_key=object_key(topic, payload),
        occurred_at=triggered if triggered and triggered.tzinfo else None,
    )
    drain_after_commit(received)
    return JsonResponse(
        {"received": True, "duplicate": not received.created, "status": received.delivery.status}
    )
