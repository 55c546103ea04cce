"""The only writers of stored Stripe events: receive once, process in a task, retry failures.

A verified event is stored before anything else (unique on Stripe's `evt_…` id, so a
redelivery, even a concurrent one, is stored and applied once), then processed by a task after
commit. A failure stays on the row with its reason and is retried with backoff from our copy;
after the last attempt a person retries it with `storedesk retry-stripe-events`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.core.context import get_correlation_id, set_correlation_id
from storedesk.core.retry import RetryPolicy
from storedesk.core.tasks import enqueue_on_commit
from storedesk.integrations.stripe.events import EventNotApplied, process_event
from storedesk.integrations.stripe.models import StripeEvent
from storedesk.integrations.stripe.tasks import process_stripe_event

logger = logging.getLogger(__name__)

ACTOR = "stripe-webhook"  # who the audit trail names for what Stripe's events change
# 1 min, 2 min, 4 min … at most 6 h: about a day of retries, long enough for a late order import
RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=6), max_attempts=12)
MAX_ATTEMPTS = RETRY.max_attempts
DUE_BATCH = 200

Status = StripeEvent.Status


@dataclass(frozen=True)
class ReceivedEvent:
    event: StripeEvent
    created: bool


def _text(value: Any, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


@transaction.atomic
def do_receive_event(event: Mapping[str, Any]) -> ReceivedEvent:
    """Store a verified Stripe event once and queue its processing after commit; a repeat of
    the same `evt_…` (Stripe redelivers until it sees a 2xx) stores and queues nothing."""
    event_id = str(event["id"])
    stripe_object = (event.get("data") or {}).get("object") or {}
    now = timezone.now()
    try:
        with transaction.atomic():
            stored = StripeEvent.objects.create(
                event_id=event_id,
                type=_text(event.get("type"), 100),
                object_id=_text(stripe_object.get("id"), 255),
                livemode=bool(event.get("livemode")),
                api_version=_text(event.get("api_version"), 32),
                created_at=datetime.fromtimestamp(int(event["created"]), tz=UTC),
                payload=dict(event),
                received_at=now,
                correlation_id=get_correlation_id(),
                # picked up by the sweep if its task is lost (a worker killed mid-way)
                next_attempt_at=now + settings.TASK_LOST_AFTER,
            )
    except IntegrityError:  # delivered before, or twice at the same moment: the other one won
        return ReceivedEvent(StripeEvent.objects.get(event_id=event_id), created=False)
    enqueue_on_commit(process_stripe_event, stored.pk)
    return ReceivedEvent(stored, created=True)


def _lock(stored_id: int) -> StripeEvent | None:
    """Lock the event and every stored event about the same object, in pk order, so two
    events of one dispute are never applied at the same time or out of order."""
    stored = StripeEvent.objects.filter(pk=stored_id).only("pk", "object_id").first()
    if stored is None:
        return None
    same_object = StripeEvent.objects.filter(pk=stored_id)
    if stored.object_id:
        same_object = StripeEvent.objects.filter(object_id=stored.object_id)
    list(same_object.select_for_update().order_by("pk").values_list("pk", flat=True))
    return StripeEvent.objects.get(pk=stored_id)


def _is_due(stored: StripeEvent, now: datetime) -> bool:
    if stored.status == Status.RECEIVED:
        return True
    return (
        stored.status == Status.FAILED
        and stored.next_attempt_at is not None
        and stored.next_attempt_at <= now
    )


def _superseded_by(stored: StripeEvent) -> str:
    """The id of a later event about the same object that was already applied, if any: each
    event carries the whole object, so an older one arriving late must not undo a newer one."""
    if not stored.object_id:
        return ""
    newer = (
        StripeEvent.objects.filter(
            object_id=stored.object_id,
            status=Status.PROCESSED,
            created_at__gt=stored.created_at,
        )
        .exclude(pk=stored.pk)
        .values_list("event_id", flat=True)
        .first()
    )
    return newer or ""


def do_process_event(stored_id: int, *, now: datetime | None = None) -> str:
    """Apply one stored event if it is due; returns its outcome ("skipped" when it is not
    due or already done). Failures are recorded on the row, never raised."""
    with transaction.atomic():
        stored = _lock(stored_id)
        now = now or timezone.now()
        if stored is None or not _is_due(stored, now):
            return "skipped"
        set_correlation_id(stored.correlation_id or None)
        previous_status = stored.status
        stored.attempts += 1
        try:
            with transaction.atomic():
                newer = _superseded_by(stored)
                outcome = "superseded" if newer else process_event(stored.payload, actor=ACTOR)
        except EventNotApplied as error:
            _failed(stored, str(error), retry=error.retryable, now=now)
        except Exception as error:  # a bug or an outage: kept and retried, never lost
            logger.exception("Stripe event %s failed", stored.event_id)
            _failed(stored, f"{type(error).__name__}: {error}", retry=True, now=now)
        else:
            ignored = outcome in {"ignored", "superseded"}
            stored.status = Status.IGNORED if ignored else Status.PROCESSED
            stored.outcome = outcome
            stored.last_error = f"superseded by {newer}" if newer else ""
            stored.processed_at, stored.next_attempt_at = now, None
        stored.save(
            update_fields=[
                "status",
                "outcome",
                "attempts",
                "next_attempt_at",
                "processed_at",
                "last_error",
            ]
        )
        if stored.status != previous_status and stored.status != Status.IGNORED:
            record_audit(
                actor=None,
                actor_label=ACTOR,
                action=f"stripe.event_{stored.status}",
                obj=stored,
                changes={
                    "type": stored.type,
                    "outcome": stored.outcome,
                    "error": stored.last_error,
                    "attempts": stored.attempts,
                },
            )
    return stored.outcome


def _failed(stored: StripeEvent, reason: str, *, retry: bool, now: datetime) -> None:
    stored.status = Status.FAILED
    stored.outcome = "failed"
    stored.last_error = reason[:2000]
    stored.next_attempt_at = RETRY.next_attempt_at(stored.attempts, now) if retry else None
    if stored.next_attempt_at is None:
        logger.error("Stripe event %s needs a person: %s", stored.event_id, reason)


def enqueue_due_events(now: datetime | None = None) -> int:
    """Queue the failed events whose retry time has come and the received ones whose task
    was lost; returns how many."""
    now = now or timezone.now()
    due = list(
        StripeEvent.objects.filter(
            status__in=[Status.RECEIVED, Status.FAILED], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )
    for stored_id in due:
        process_stripe_event.enqueue(stored_id)
    return len(due)


@transaction.atomic
def do_retry_events(event_ids: Iterable[str] = ()) -> int:
    """Make failed events due now and queue them: the given `evt_…` ids, or every event that
    ran out of attempts. For use once the cause (an order not imported, a bug) is fixed."""
    failed = StripeEvent.objects.filter(status=Status.FAILED)
    event_ids = list(event_ids)
    failed = (
        failed.filter(event_id__in=event_ids) if event_ids else failed.filter(next_attempt_at=None)
    )
    ids = list(failed.select_for_update().order_by("pk").values_list("pk", flat=True))
    StripeEvent.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
    for stored_id in ids:
        enqueue_on_commit(process_stripe_event, stored_id)
    return len(ids)
