"""POST /webhooks/woocommerce/: a site's signed webhook deliveries.

The site is found by `X-WC-Webhook-Source` (unknown: 401); `X-WC-Webhook-Signature` must be the
base64 HMAC-SHA256 of the raw body keyed with the webhook's secret (as WooCommerce uses it:
HTML entities decoded), compared in constant time (forged or missing: 401, nothing stored). The
ping WooCommerce sends when a webhook is saved (`webhook_id=N`) is answered 200 and not stored.
A delivery is stored once by `X-WC-Webhook-Delivery-ID` (with the webhook id) and applied in a
task.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import re

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from storedesk.integrations.connections import intake
from storedesk.integrations.connections.credentials import connection_by_lookup
from storedesk.integrations.connections.secrets import SecretsUnreadable
from storedesk.integrations.connections.services import do_receive_delivery, secrets_of
from storedesk.integrations.connections.systems import WOOCOMMERCE
from storedesk.integrations.connections.tasks import drain_after_commit

logger = logging.getLogger(__name__)
PING = re.compile(rb"^webhook_id=\d+$")


def signature(secret: str, body: bytes) -> str:
    key = html.unescape(secret).encode()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def verify(secret: str, body: bytes, header: str) -> bool:
    if not secret or not header:
        return False
    return hmac.compare_digest(signature(secret, body), header.strip())


@csrf_exempt
def woocommerce_webhook(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return intake.method_not_allowed()
    raw = intake.read_body(request)
    if raw is None:
        return intake.too_large()
    source = request.headers.get("X-WC-Webhook-Source", "")
    connection = connection_by_lookup(WOOCOMMERCE, source)
    if connection is None:
        logger.warning("WooCommerce webhook from an unknown site %r refused", source[:100])
        return intake.error(401, "unknown_site", _("This site is not connected."))
    try:
        secret = secrets_of(connection).get("webhook_secret", "")
    except SecretsUnreadable:
        secret = ""
    if not verify(secret, raw, request.headers.get("X-WC-Webhook-Signature", "")):
        logger.warning("WooCommerce webhook for %s refused: bad signature", connection.lookup_key)
        return intake.error(401, "bad_signature", _("The signature does not match the body."))
    if PING.match(raw.strip()):
        return JsonResponse({"received": True, "ping": True})
    try:
        body, payload = intake.json_object(raw)
    except intake.NotJson:
        return intake.error(400, "malformed_json", _("The body is not a JSON object."))
    delivery_id = request.headers.get("X-WC-Webhook-Delivery-ID", "").strip()
    topic = request.headers.get("X-WC-Webhook-Topic", "").strip().lower()
    if not delivery_id or not topic:
        return intake.error(
            400,
            "missing_header",
            _("X-WC-Webhook-Delivery-ID and X-WC-Webhook-Topic are required."),
        )
    webhook_id = request.headers.get("X-WC-Webhook-ID", "").strip()
    received = do_receive_delivery(
        connection,
        delivery_id=f"{connection.lookup_key}:{webhook_id}:{delivery_id}",
        topic=topic,
        body=body,
        object_key=f"order:{payload.get('id', '')}" if topic.startswith("order.") else "",
    )
    drain_after_commit(received)
    return JsonResponse(
        {"received": True, "duplicate": not received.created, "status": received.delivery.status}
    )
