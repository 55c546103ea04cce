"""Applying one stored Stripe event (the work of the `process_stripe_event` task), with
retries for failures. Nothing here queues work: `services` and `tasks` do, so the task module
can import this one without a circle.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.core.context import set_correlation_id
from storedesk.core.retry import RetryPolicy
from storedesk.integrations.stripe.events import EventNotApplied, process_event
from storedesk.integrations.stripe.models import StripeEvent

logger = logging.getLogger(__name__)

ACTOR = "stripe-webhook"  # who the audit trail names for what Stripe's events change
# 1 min, 2 min, 4 min … at most 6 h: about a day of retries, long enough for a late order import
RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=6), max_attempts=12)
MAX_ATTEMPTS = RETRY.max_attempts


Status = StripeEvent.Status


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
