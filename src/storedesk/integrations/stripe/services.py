"""The only writers of stored Stripe events: receive once, process in a task, retry failures.

A verified event is stored before anything else (unique on Stripe's `evt_…` id, so a
redelivery, even a concurrent one, is stored and applied once), then processed by a task after
commit. A failure stays on the row with its reason and is retried with backoff from our copy;
after the last attempt a person retries it with `storedesk retry-stripe-events`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from storedesk.core.context import get_correlation_id
from storedesk.core.tasks import enqueue_on_commit
from storedesk.integrations.stripe.models import StripeEvent
from storedesk.integrations.stripe.processing import (  # noqa: F401  (the old path)
    ACTOR,
    MAX_ATTEMPTS,
    RETRY,
    Status,
    do_process_event,
)
from storedesk.integrations.stripe.tasks import enqueue_due_events, process_stripe_event  # noqa: F401


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
