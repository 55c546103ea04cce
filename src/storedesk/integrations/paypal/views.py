"""POST /webhooks/paypal/: PayPal's signed webhook events.

PayPal names no account in its headers: the delivery is checked against each active PayPal
connection's webhook id (a store has one, a desk a few) and belongs to the one whose id it was
signed for. Forged, stale, missing or unverifiable signatures: 401, nothing stored. A verified
event is stored once by its event id and answered 200 at once; a task applies it.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from storedesk.integrations.connections import intake
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import do_receive_delivery
from storedesk.integrations.connections.systems import PAYPAL
from storedesk.integrations.connections.tasks import drain_after_commit
from storedesk.integrations.paypal.appliers import object_key
from storedesk.integrations.paypal.signature import (
    SignatureRefused,
    Transmission,
    check_time,
    verify_with_certificate,
)

logger = logging.getLogger(__name__)


def _verified_connection(transmission: Transmission, raw: bytes) -> Connection | None:
    connections = Connection.objects.filter(
        system=PAYPAL, status=Connection.Status.ACTIVE
    ).order_by("pk")
    for connection in connections:
        webhook_id = str(connection.config.get("webhook_id") or "")
        if not webhook_id:
            continue
        try:
            if settings.PAYPAL_WEBHOOK_VERIFICATION == "postback":
                if _postback(connection, transmission, webhook_id, raw):
                    return connection
                continue
            verify_with_certificate(transmission, webhook_id, raw)
        except SignatureRefused as reason:
            logger.info("PayPal delivery not for connection %s: %s", connection.pk, reason)
            continue
        return connection
    return None


def _postback(connection, transmission, webhook_id: str, raw: bytes) -> bool:
    from storedesk.integrations.paypal.client import PayPalError
    from storedesk.integrations.paypal.services import client_for

    try:
        event = json.loads(raw)
        return client_for(connection).verify_webhook_signature(
            transmission=transmission, webhook_id=webhook_id, event=event
        )
    except (ValueError, PayPalError) as error:
        raise SignatureRefused(f"postback failed: {error}") from None


def _is_event(payload: dict) -> bool:
    return (
        isinstance(payload.get("id"), str)
        and 0 < len(payload["id"]) <= 255  # noqa: PLR2004
        and isinstance(payload.get("event_type"), str)
        and isinstance(payload.get("resource"), dict)
    )


@csrf_exempt
def paypal_webhook(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return intake.method_not_allowed()
    raw = intake.read_body(request)
    if raw is None:
        return intake.too_large()
    try:
        transmission = Transmission.from_headers(request.headers)
        check_time(transmission)
    except SignatureRefused as reason:
        logger.warning("PayPal webhook refused: %s", reason)
        return intake.error(401, "bad_signature", _("The PayPal signature headers do not hold."))
    connection = _verified_connection(transmission, raw)
    if connection is None:
        logger.warning(
            "PayPal webhook %s refused: no connection's signature", transmission.transmission_id
        )
        return intake.error(401, "bad_signature", _("The signature does not match the body."))
    try:
        body, payload = intake.json_object(raw)
    except intake.NotJson:
        return intake.error(400, "malformed_json", _("The body is not a JSON object."))
    if not _is_event(payload):
        return intake.error(400, "not_an_event", _("The body is not a PayPal webhook event."))
    created = parse_datetime(str(payload.get("create_time") or ""))
    received = do_receive_delivery(
        connection,
        delivery_id=payload["id"],
        topic=payload["event_type"],
        body=body,
        object_key=object_key(payload),
        occurred_at=created if created and created.tzinfo else None,
    )
    drain_after_commit(received)
    return JsonResponse(
        {"received": True, "duplicate": not received.created, "status": received.delivery.status}
    )
