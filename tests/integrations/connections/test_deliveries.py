"""The generic delivery store: once per (system, delivery id), applied in a task, parked until
the object arrives, unknown topics kept as ignored, failures retried then left for a person."""

from datetime import timedelta

import pytest
from django.utils import timezone

from storedesk.integrations.connections import services, tasks
from storedesk.integrations.connections.models import InboundDelivery
from storedesk.integrations.connections.services import (
    DeliveryFailed,
    DeliveryParked,
    do_apply_delivery,
    do_connect,
    do_receive_delivery,
    register_applier,
    wake_parked,
)
from storedesk.integrations.connections.tasks import enqueue_due_deliveries
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

Status = InboundDelivery.Status
KNOWN_ORDERS: set[str] = set()


def _apply(delivery, body):
    if delivery.topic == "boom/failed":
        raise DeliveryFailed("the order is in another currency", retryable=False)
    if delivery.topic == "boom/bug":
        raise RuntimeError("a bug")
    if body not in KNOWN_ORDERS:
        raise DeliveryParked(f"order {body} is not known yet", waiting_for=f"order:{body}")
    return "updated"


@pytest.fixture
def connection():
    KNOWN_ORDERS.clear()
    register_applier("easypost", {"refunds/create", "boom/failed", "boom/bug"}, _apply)
    yield do_connect(
        StoreFactory(), "easypost", config={}, secrets={"api_key": "k", "webhook_secret": "s"}
    )
    services._APPLIERS.pop("easypost", None)


def receive(connection, delivery_id, topic="refunds/create", body="1001"):
    return do_receive_delivery(connection, delivery_id=delivery_id, topic=topic, body=body)


def test_a_delivery_is_stored_once_however_often_it_comes(connection):
    first = receive(connection, "d-1")
    again = receive(connection, "d-1")
    assert first.created
    assert not again.created
    assert again.delivery.pk == first.delivery.pk
    assert InboundDelivery.objects.count() == 1


def test_an_unknown_topic_is_kept_as_ignored(connection):
    received = receive(connection, "d-2", topic="products/create")
    assert received.delivery.status == Status.IGNORED
    assert received.delivery.outcome == "unknown_topic"


def test_a_refund_before_its_order_is_parked_then_applied_when_the_order_arrives(connection):
    delivery = receive(connection, "d-3").delivery
    assert do_apply_delivery(delivery.pk) == "parked"
    delivery.refresh_from_db()
    assert delivery.status == Status.PARKED
    assert delivery.object_key == "order:1001"
    assert do_apply_delivery(delivery.pk) == "skipped"  # not due yet
    KNOWN_ORDERS.add("1001")
    assert wake_parked(connection.pk, ["order:1001"]) == 1
    assert do_apply_delivery(delivery.pk) == "updated"
    delivery.refresh_from_db()
    assert delivery.status == Status.APPLIED
    assert delivery.attempts == 2


def test_parked_deliveries_are_never_given_up(connection):
    delivery = receive(connection, "d-4").delivery
    now = timezone.now()
    for _ in range(services.MAX_ATTEMPTS + 5):
        now += timedelta(hours=2)
        do_apply_delivery(delivery.pk, now=now)
    delivery.refresh_from_db()
    assert delivery.status == Status.PARKED
    assert delivery.next_attempt_at is not None
    assert enqueue_due_deliveries(now=now + timedelta(hours=2)) == 1


def test_a_hopeless_failure_waits_for_a_person_and_a_bug_is_retried(connection):
    hopeless = receive(connection, "d-5", topic="boom/failed").delivery
    bug = receive(connection, "d-6", topic="boom/bug").delivery
    do_apply_delivery(hopeless.pk)
    do_apply_delivery(bug.pk)
    hopeless.refresh_from_db()
    bug.refresh_from_db()
    assert hopeless.status == Status.FAILED
    assert hopeless.next_attempt_at is None
    assert "another currency" in hopeless.last_error
    assert bug.status == Status.FAILED
    assert bug.next_attempt_at is not None
    assert "RuntimeError: a bug" in bug.last_error


def test_a_burst_queues_a_drain_now_and_one_at_the_window_s_end(settings, monkeypatch):
    """A thousand deliveries in a window cost two drain tasks, and the second one starts
    after the window, so what arrived during it is applied too."""
    from django.tasks import task_backends

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    monkeypatch.setattr(tasks, "_drain", {"until": 0.0, "trailing": False})
    backend = task_backends["default"]
    for _ in range(1000):
        tasks.request_drain()
    queued = backend.results
    assert len(queued) == 2
    assert queued[0].task.run_after is None
    assert queued[1].task.run_after is not None
    assert queued[1].task.run_after > timezone.now()
    monkeypatch.setattr(tasks, "_drain", {"until": 0.0, "trailing": False})
    tasks.request_drain()
    assert len(backend.results) == 3


def test_the_drain_applies_received_deliveries_in_order(connection):
    KNOWN_ORDERS.update({"1", "2", "3"})
    for number in (1, 2, 3):
        receive(connection, f"drain-{number}", body=str(number))
    assert services.do_apply_received(batch=2).applied == 3
    assert set(InboundDelivery.objects.values_list("status", flat=True)) == {Status.APPLIED}


def test_a_person_s_retry_is_applied_through_the_outbox_after_commit(
    connection, django_capture_on_commit_callbacks
):
    delivery = receive(connection, "d-retry", topic="boom/failed").delivery
    do_apply_delivery(delivery.pk)  # fails for good: waits for a person
    register_applier("easypost", {"boom/failed"}, lambda delivery, body: "updated")  # fixed
    with django_capture_on_commit_callbacks(execute=True):
        assert services.do_retry_deliveries(connection) == 1
    delivery.refresh_from_db()
    assert delivery.status == Status.APPLIED
    assert delivery.attempts == 2
