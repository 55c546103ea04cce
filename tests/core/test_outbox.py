from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from storedesk.core import events
from storedesk.core.models import DomainEvent


@pytest.fixture
def seen(monkeypatch):
    """Register a handler for a test event and collect what it receives."""
    received = []
    monkeypatch.setitem(events._handlers, "test_happened", [lambda e: received.append(e.payload)])
    return received


@pytest.mark.django_db(transaction=True)
def test_event_is_dispatched_after_commit(seen):
    with transaction.atomic():
        event = events.record_event("test_happened", order_id=7)
        assert seen == []  # nothing handled before the change commits
    assert seen == [{"order_id": 7}]
    event.refresh_from_db()
    assert event.handled_at is not None
    assert event.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_event_of_a_rolled_back_change_is_neither_stored_nor_handled(seen):
    def change_that_fails():
        with transaction.atomic():
            events.record_event("test_happened", order_id=8)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert seen == []
    assert not DomainEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_dispatch_is_idempotent(seen):
    event = events.record_event("test_happened", order_id=9)
    assert events.dispatch_event.call(event.pk) == "skipped"
    assert seen == [{"order_id": 9}]


@pytest.mark.django_db(transaction=True)
def test_failed_handler_is_retried_by_the_sweep(monkeypatch):
    calls = []

    def flaky(event):
        calls.append(event.pk)
        if len(calls) == 1:
            raise ValueError("carrier API timed out")

    monkeypatch.setitem(events._handlers, "test_flaky", [flaky])
    event = events.record_event("test_flaky")
    event.refresh_from_db()
    assert event.handled_at is None
    assert event.last_error == "ValueError: carrier API timed out"

    DomainEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    assert events.redispatch_stale_events() == 1
    event.refresh_from_db()
    assert event.handled_at is not None
    assert calls == [event.pk, event.pk]


@pytest.mark.django_db
def test_an_event_counts_as_lost_after_the_configured_time(settings, monkeypatch):
    monkeypatch.setitem(events._handlers, "test_lost", [])
    event = events.record_event("test_lost")  # its task never runs: no commit in this test
    DomainEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(seconds=40)
    )

    assert events.redispatch_stale_events() == 0  # two minutes by default
    settings.TASK_LOST_AFTER = timedelta(seconds=30)
    assert events.redispatch_stale_events() == 1


@pytest.mark.django_db
def test_a_failed_event_waits_twice_as_long_after_each_try_and_stops_after_the_last(monkeypatch):
    monkeypatch.setitem(events._handlers, "test_backoff", [])
    event = events.record_event("test_backoff")

    def redispatched(attempts: int, age: timedelta) -> int:
        DomainEvent.objects.filter(pk=event.pk).update(
            attempts=attempts, created_at=timezone.now() - age, handled_at=None
        )
        return events.redispatch_stale_events()

    assert redispatched(2, timedelta(minutes=7)) == 0  # two tries: due 4 × 2 min after creation
    assert redispatched(2, timedelta(minutes=9)) == 1
    assert redispatched(events.MAX_ATTEMPTS, timedelta(days=30)) == 0
