"""Domain events through a transactional outbox.

A service calls `record_event` inside its transaction; the event row commits (or rolls back)
with the change, and a task dispatches it to the registered handlers after commit. A sweep
re-dispatches events whose task was lost, so no event is lost and handlers must be idempotent.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from storedesk.core.bulk import bulk_insert
from storedesk.core.context import get_correlation_id, set_correlation_id
from storedesk.core.models import DomainEvent
from storedesk.core.queueing import enqueue_on_commit
from storedesk.core.retry import RetryPolicy

logger = logging.getLogger(__name__)

EventHandler = Callable[[DomainEvent], None]
_handlers: dict[str, list[EventHandler]] = defaultdict(list)
MAX_ATTEMPTS = 8
EVENTS_PER_INSERT = 1000


def handles(event_name: str) -> Callable[[EventHandler], EventHandler]:
    """Register a handler for an event name (handlers must be idempotent)."""

    def register(handler: EventHandler) -> EventHandler:
        if handler not in _handlers[event_name]:
            _handlers[event_name].append(handler)
        return handler

    return register


def handlers_for(event_name: str) -> list[EventHandler]:
    return list(_handlers.get(event_name, ()))


def record_event(name: str, **payload) -> DomainEvent:
    """Record an event with the current change; it is dispatched only if the change commits."""
    event = DomainEvent.objects.create(
        name=name, payload=payload, correlation_id=get_correlation_id()
    )
    enqueue_on_commit(dispatch_event, event.pk)
    return event


def record_events_bulk(name: str, payloads: Sequence[dict], *, dispatch: bool = True) -> int:
    """Write many outbox events in one insert, in the caller's transaction.

    With `dispatch`, each is enqueued after commit like `record_event`; bulk loads that would
    flood the queue pass False and leave them to the outbox sweep.
    """
    if not payloads:
        return 0
    correlation_id = get_correlation_id()
    if not dispatch:
        now = timezone.now()
        return bulk_insert(
            DomainEvent,
            [
                {
                    "name": name,
                    "payload": payload,
                    "correlation_id": correlation_id,
                    "created_at": now,
                    "attempts": 0,
                    "last_error": "",
                }
                for payload in payloads
            ],
        )
    events = DomainEvent.objects.bulk_create(
        [
            DomainEvent(name=name, payload=payload, correlation_id=correlation_id)
            for payload in payloads
        ],
        batch_size=EVENTS_PER_INSERT,
    )
    for event in events:
        enqueue_on_commit(dispatch_event, event.pk)
    return len(events)


@task()
def dispatch_event(event_id: int) -> str:
    with transaction.atomic():
        event = DomainEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.handled_at is not None:
            return "skipped"
        set_correlation_id(event.correlation_id or None)
        try:
            with transaction.atomic():
                for handler in handlers_for(event.name):
                    handler(event)
        except Exception as exc:
            logger.exception("Handler failed for %s", event)
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            event.save(update_fields=["attempts", "last_error"])
            return "failed"
        event.attempts += 1
        event.handled_at = timezone.now()
        event.last_error = ""
        event.save(update_fields=["attempts", "handled_at", "last_error"])
    return "handled"


def redispatch_stale_events(older_than: timedelta | None = None) -> int:
    """Re-enqueue pending events whose dispatch was lost or failed, with backoff by attempts;
    an event counts as lost after `settings.TASK_LOST_AFTER` (two minutes by default)."""
    if older_than is None:
        older_than = settings.TASK_LOST_AFTER
    now = timezone.now()
    count = 0
    # Tried again after `older_than`, then twice as long each time, from the event's creation.
    policy = RetryPolicy(base=older_than, max_attempts=MAX_ATTEMPTS)
    pending = DomainEvent.objects.filter(
        handled_at__isnull=True, attempts__lt=policy.max_attempts, created_at__lt=now - older_than
    ).only("pk", "attempts", "created_at")[:500]
    for event in pending:
        # The first dispatch counts as a try: a lost one waits `base`, one failure 2 × `base`.
        if event.created_at + policy.delay(event.attempts + 1) <= now:
            dispatch_event.enqueue(event.pk)
            count += 1
    return count
