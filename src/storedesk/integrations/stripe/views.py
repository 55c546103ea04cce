"""POST /webhooks/stripe/: Stripe's signed event deliveries.

Checked in this order, each refusal a JSON error Stripe shows in its dashboard: configured (503,
so Stripe keeps retrying until the secret is set), size (413), signature with the official SDK
(400: forged, missing, or signed further than the tolerance from now, in the past or the future),
a JSON Stripe event (400). A verified event
is stored once and answered 200 at once; it is applied by a task after commit. An event that
cannot be applied (an unknown charge) still gets its 200: it is ours now, kept and retried from
our copy, where a 4xx/5xx would only make Stripe redeliver the same bytes for three days.
"""

import json
import logging
import time

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from storedesk.integrations.stripe.services import do_receive_event

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Stripe's events are a few KB; a dispute with evidence ~200 KB
SIGNATURE_TOLERANCE_SECONDS = 300  # Stripe's own default (stripe.Webhook.DEFAULT_TOLERANCE)
MAX_ID_LENGTH = 255
LATEST_TIMESTAMP = 2**37  # the year 6325: a `created` beyond is nonsense, not a date


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def webhook_secrets() -> list[str]:
    """STRIPE_WEBHOOK_SECRET, comma-separated while an endpoint secret is being rolled."""
    configured = settings.STRIPE_WEBHOOK_SECRET or ""
    return [secret.strip() for secret in configured.split(",") if secret.strip()]


def _verify(body: str, header: str, secrets: list[str]) -> str:
    """'' when one of the secrets signed the body recently enough, else why not."""
    import stripe  # on first delivery: the SDK costs a quarter second at every start-up

    reason = ""
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                body, header, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            reason = str(error.user_message or error)
        else:
            return _future_timestamp_reason(header)
    return reason


def _future_timestamp_reason(header: str) -> str:
    """'' unless the signed `t=` is beyond the tolerance ahead of our clock.

    The SDK only refuses old signatures; one dated ahead would stay replayable until that
    moment passes (a leaked header signed for next week works all week), so the same
    tolerance applies in both directions. Called once the SDK has verified the header, so
    its `t=` parses."""
    pairs = [item.split("=", 2) for item in header.split(",")]
    signed_at = int(next(pair[1] for pair in pairs if pair[0] == "t"))  # as the SDK reads it
    if signed_at > time.time() + SIGNATURE_TOLERANCE_SECONDS:
        return f"Timestamp outside the tolerance zone ({signed_at}): ahead of our clock"
    return ""


def _read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over MAX_BODY_BYTES (read no further than that)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


def _is_event(payload) -> bool:
    if not isinstance(payload, dict) or payload.get("object") != "event":
        return False
    event_id, data = payload.get("id"), payload.get("data")
    return (
        isinstance(event_id, str)
        and event_id.startswith("evt_")
        and len(event_id) <= MAX_ID_LENGTH
        and isinstance(payload.get("type"), str)
        and isinstance(payload.get("created"), int)
        and 0 < payload["created"] < LATEST_TIMESTAMP
        and isinstance(data, dict)
        and isinstance(data.get("object"), dict)
    )


@csrf_exempt
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        response = _error(405, "method_not_allowed", _("Stripe webhooks are POSTed."))
        response["Allow"] = "POST"
        return response
    secrets = webhook_secrets()
    if not secrets:
        return _error(
            503, "not_configured", _("Stripe webhooks are not set up (STRIPE_WEBHOOK_SECRET).")
        )
    raw = _read_body(request)
    if raw is None:
        return _error(
            413, "too_large", _("The body is over %(limit)d bytes.") % {"limit": MAX_BODY_BYTES}
        )
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _error(400, "malformed_body", _("The body is not UTF-8 text."))
    reason = _verify(body, request.headers.get("Stripe-Signature", ""), secrets)
    if reason:
        logger.warning("Stripe webhook refused: %s", reason)
        return _error(400, "bad_signature", reason)
    try:
        # NaN/Infinity and NUL characters parse in Python but no database stores them.
        payload = json.loads(body, parse_constant=_refuse_constant)
        if "\\u0000" in body.lower():
            raise ValueError("NUL character")
    except (ValueError, RecursionError):
        return _error(400, "malformed_json", _("The body is not valid JSON."))
    if not _is_event(payload):
        return _error(400, "not_an_event", _("The body is not a Stripe event object."))
    received = do_receive_event(payload)
    logger.info(
        "Stripe event %s (%s) %s",
        payload["id"],
        payload["type"],
        "received" if received.created else "already received",
    )
    return JsonResponse(
        {"received": True, "duplicate": not received.created, "status": received.event.status}
    )
