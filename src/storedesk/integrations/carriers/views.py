"""POST /webhooks/easypost/: EasyPost's signed tracker events.

EasyPost names no account in its headers: the body's `X-Hmac-Signature` is checked (with the
official SDK's `validate_webhook`) against each active EasyPost connection's webhook secret and
belongs to the one that signed it. Forged or missing: 401, nothing stored. A verified event is
stored once by its `evt_…` id and answered 200 at once; a task applies it.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from storedesk.integrations.carriers.appliers import tracking_key
from storedesk.integrations.carriers.easypost_tracking import InvalidSignature
from storedesk.integrations.carriers.services import adapter_of
from storedesk.integrations.connections import intake
from storedesk.integrations.connections.credentials import credentials_of
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.secrets import SecretsUnreadable
from storedesk.integrations.connections.services import do_receive_delivery
from storedesk.integrations.connections.systems import EASYPOST
from storedesk.integrations.connections.tasks import drain_after_commit

logger = logging.getLogger(__name__)


def _signed_by(raw: bytes, headers) -> Connection | None:
    if not headers.get("X-Hmac-Signature"):
        return None
    for connection in Connection.objects.filter(
        system=EASYPOST, status=Connection.Status.ACTIVE
    ).order_by("pk"):
        try:
            adapter_of(credentials_of(connection)).verify_webhook(raw, headers)
        except (InvalidSignature, SecretsUnreadable, ValueError):
            continue
        return connection
    return None


@csrf_exempt
def easypost_webhook(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return intake.method_not_allowed()
    raw = intake.read_body(request)
    if raw is None:
        return intake.too_large()
    connection = _signed_by(raw, request.headers)
    if connection is None:
        logger.warning("EasyPost webhook refused: no connection's secret signed it")
        return intake.error(401, "bad_signature", _("The signature does not match the body."))
    try:
        body, payload = intake.json_object(raw)
    except intake.NotJson:
        return intake.error(400, "malformed_json", _("The body is not a JSON object."))
    event_id, topic = payload.get("id"), payload.get("description")
    if not isinstance(event_id, str) or not event_id or not isinstance(topic, str):
        return intake.error(400, "not_an_event", _("The body is not an EasyPost event."))
    result = payload.get("result") if isinstance(payload.get("result"), dict) else {}
    updated = parse_datetime(str(payload.get("updated_at") or ""))
    received = do_receive_delivery(
        connection,
        delivery_id=event_id,
        topic=topic,
        body=body,
        object_key=tracking_key(str(result.get("tracking_code") or "")),
        occurred_at=updated if updated and updated.tzinfo else None,
    )
    drain_after_commit(received)
    return JsonResponse(
        {"received": True, "duplicate": not received.created, "status": received.delivery.status}
    )
