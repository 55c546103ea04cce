"""Signed outbound webhooks: other tools follow our ticket events.

Each domain event an endpoint subscribes to becomes one `WebhookDelivery` (unique per endpoint
and event, so an event dispatched twice is still delivered once), POSTed as JSON by a task after
the change commits, and retried with exponential backoff by a periodic job until it succeeds or
gives up after `WEBHOOK_MAX_ATTEMPTS`.

The signature follows Stripe's scheme, so receivers can reuse what they know:

    Storedesk-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff5…

`v1` is the hex HMAC-SHA256, keyed with the endpoint's secret, of `"{t}.{raw body}"`. To verify:
split the header on `,`, recompute the HMAC over the timestamp, a dot and the exact bytes
received, compare in constant time, and refuse timestamps older than five minutes (replays).
`verify_signature` below does exactly that. `Storedesk-Delivery` is the same on every retry of
one delivery: receivers use it to ignore a repeat.

Body: `{"id": "evt_42", "type": "ticket_created", "created": 1767225600, "data": {...}}` where
`data` holds the event's payload and the ticket as it is when the delivery is made.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from storedesk.core.events import handles
from storedesk.core.models import DomainEvent, WebhookDelivery, WebhookEndpoint
from storedesk.core.queueing import enqueue_on_commit
from storedesk.core.retry import RetryPolicy
from storedesk.core.scheduler import periodic

logger = logging.getLogger(__name__)

TICKET_EVENTS = (
    "ticket_created",
    "message_received",
    "message_sent",
    "ticket_status_changed",
    "ticket_assigned",
)
SIGNATURE_HEADER = "Storedesk-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
TIMEOUT_SECONDS = 10
DUE_BATCH = 200
USER_AGENT = "Storedesk-Webhooks/1"


def retry_policy() -> RetryPolicy:
    """30 s, 1 min, 2 min, 4 min … capped at 6 h; `WEBHOOK_MAX_ATTEMPTS` tries in all."""
    return RetryPolicy(
        base=timedelta(seconds=30),
        cap=timedelta(hours=6),
        max_attempts=settings.WEBHOOK_MAX_ATTEMPTS,
    )


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


# --- signing ---------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Storedesk-Signature` header value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does: the HMAC matches and the timestamp is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- subscribing and queuing -----------------------------------------------------------------


def subscribes(endpoint: WebhookEndpoint, event_name: str) -> bool:
    return "*" in endpoint.events or event_name in endpoint.events


@transaction.atomic
def do_add_endpoint(url: str, events: list[str], *, description: str = "") -> WebhookEndpoint:
    """A new endpoint with a fresh secret; events must be known ticket events or '*'."""
    URLValidator(schemes=["http", "https"])(url)
    events = list(dict.fromkeys(events)) or ["*"]
    unknown = [name for name in events if name != "*" and name not in TICKET_EVENTS]
    if unknown:
        raise ValidationError(
            f"unknown event: {', '.join(unknown)} (known: {', '.join(TICKET_EVENTS)}, or *)"
        )
    return WebhookEndpoint.objects.create(
        url=url, secret=new_secret(), events=events, description=description[:200]
    )


def queue_deliveries(event: DomainEvent) -> list[int]:
    """One delivery per subscribed endpoint; a second dispatch of the event adds none."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(is_active=True).order_by("pk")
        if subscribes(endpoint, event.name)
    ]
    if not endpoints:
        return []
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(endpoint=e, event=event, next_attempt_at=now) for e in endpoints],
        ignore_conflicts=True,
    )
    ids = list(
        WebhookDelivery.objects.filter(
            event=event, endpoint__in=endpoints, status=WebhookDelivery.Status.PENDING, attempts=0
        ).values_list("pk", flat=True)
    )
    for delivery_id in ids:
        enqueue_on_commit(deliver_webhook, delivery_id)
    return ids


for _event_name in TICKET_EVENTS:
    handles(_event_name)(queue_deliveries)


# --- delivering ------------------------------------------------------------------------------


# What an event's ids point to, described by the app that owns those rows (core sits below
# them all): payload key -> (key in the body, a function returning the row as JSON data).
_subjects: dict[str, tuple[str, Callable[[int], dict | None]]] = {}


def register_subject(payload_key: str, body_key: str, describe: Callable[[int], dict | None]):
    """Add `describe(payload[payload_key])` to each body as `body_key` (e.g. the ticket)."""
    _subjects[payload_key] = (body_key, describe)


def event_body(event: DomainEvent) -> bytes:
    """The JSON we POST: the event, and what it concerns as it is now (e.g. the ticket)."""
    data = dict(event.payload)
    for payload_key, (body_key, describe) in _subjects.items():
        if data.get(payload_key):
            described = describe(data[payload_key])
            if described is not None:
                data[body_key] = described
    body = {
        "id": f"evt_{event.pk}",
        "type": event.name,
        "created": int(event.created_at.timestamp()),
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address to send signed data to."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """(status, error): the HTTP status, or None and why the request did not complete."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only, checked on creation
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return None, f"{type(error).__name__}: {reason}"[:500]


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take a due delivery for one attempt; a concurrent worker finds it leased and skips it."""
    now = timezone.now()
    lease = now + timedelta(seconds=TIMEOUT_SECONDS * 3)
    claimed = WebhookDelivery.objects.filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True),
        pk=delivery_id,
        status=WebhookDelivery.Status.PENDING,
    ).update(next_attempt_at=lease)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)


@task(queue_name="webhooks")
def deliver_webhook(delivery_id: int) -> str:
    """One attempt: POST, then record success, a retry time, or giving up."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return "skipped"
    endpoint = delivery.endpoint
    body = event_body(delivery.event)
    timestamp = int(time.time())
    status, error = _post(
        endpoint.url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(endpoint.secret, body, timestamp),
            "Storedesk-Event": delivery.event.name,
            "Storedesk-Delivery": str(delivery.pk),
        },
    )
    delivery.attempts += 1
    delivery.response_status = status
    now = timezone.now()
    if status is not None and 200 <= status < 300:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at, delivery.next_attempt_at, delivery.last_error = now, None, ""
        outcome = "delivered"
    elif not endpoint.is_active or retry_policy().gives_up(delivery.attempts):
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
        delivery.last_error = error or f"HTTP {status}"
        outcome = "gave_up"
    else:
        delivery.next_attempt_at = retry_policy().next_attempt_at(delivery.attempts, now)
        delivery.last_error = error or f"HTTP {status}"
        outcome = "retry"
    delivery.save(
        update_fields=[
            "attempts",
            "response_status",
            "status",
            "delivered_at",
            "next_attempt_at",
            "last_error",
        ]
    )
    if outcome != "delivered":
        logger.warning("Webhook %s to %s: %s (%s)", delivery.pk, endpoint.url, outcome, error)
    return outcome


def enqueue_due_deliveries(now=None) -> int:
    """Enqueue the pending deliveries whose retry time has come (the due-index's range)."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )
    for delivery_id in due:
        deliver_webhook.enqueue(delivery_id)
    return len(due)


@periodic("webhook-retries", every=timedelta(minutes=1))
@task()
def retry_webhooks() -> int:
    return enqueue_due_deliveries()
