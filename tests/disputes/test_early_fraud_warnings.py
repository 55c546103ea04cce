"""Early fraud warnings (Stripe `radar.early_fraud_warning`) recorded once per provider id, from
the real payloads in ../shared/fixtures, through the Stripe event router."""

import copy
from datetime import UTC, datetime

import pytest
from django.db import connection

from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import Payment
from storedesk.commerce.services import do_ingest_orders
from storedesk.core.models import DomainEvent
from storedesk.disputes.models import EarlyFraudWarning
from storedesk.disputes.services import EarlyFraudWarningRefused, do_record_early_fraud_warning
from storedesk.integrations.stripe.events import process_event
from storedesk.integrations.stripe.mappers import early_fraud_warning_to_input
from tests.commerce.builders import order_in
from tests.concurrency import run_at_once
from tests.factories import StoreFactory
from tests.shared_data import shared_json

pytestmark = pytest.mark.django_db
DJ_STRIPE = "fixtures/stripe/dj-stripe"


def _stripe_resource(name: str) -> dict:
    return copy.deepcopy(shared_json("fixtures/stripe/fixtures3.json")["resources"][name])


def _event(warning: dict, kind: str = "created") -> dict:
    """Stripe's own example event, carrying the warning as a webhook would."""
    event = _stripe_resource("event")
    event["type"] = f"radar.early_fraud_warning.{kind}"
    event["data"] = {"object": warning}
    return event


@pytest.fixture
def order():
    """An order paid by the charge Stripe's example warning is about (ch_1234)."""
    store = StoreFactory()
    do_ingest_orders(store, [order_in(1)])
    payment = Payment.objects.get()
    Payment.objects.filter(pk=payment.pk).update(provider_id="ch_1234")
    return payment.order


def test_a_warning_delivered_twice_is_recorded_once_and_linked_to_its_order(order):
    warning = _stripe_resource("radar.early_fraud_warning")

    first = process_event(_event(warning))
    second = process_event(_event(warning))

    assert (first, second) == ("recorded", "unchanged")
    stored = EarlyFraudWarning.objects.get()
    assert (stored.provider_id, stored.charge_provider_id, stored.fraud_type) == (
        "issfr_1Pgc79B7WZ01zgkWxwDzEIPX",
        "ch_1234",
        "misc",
    )
    assert (stored.order, stored.payment.provider_id, stored.actionable) == (
        order,
        "ch_1234",
        True,
    )
    assert stored.warned_at == datetime(2009, 2, 13, 23, 31, 30, tzinfo=UTC)
    assert stored.raw == warning
    assert AuditEntry.objects.filter(action__startswith="dispute.early_fraud").count() == 1
    recorded = DomainEvent.objects.get(name="early_fraud_warning_recorded")
    assert recorded.payload == {
        "warning_id": stored.pk,
        "order_id": order.pk,
        "fraud_type": "misc",
    }
    assert not DomainEvent.objects.filter(name="early_fraud_warning_updated").exists()


def test_a_warning_for_an_unknown_charge_is_kept_and_linked_by_a_later_delivery(order):
    warning = shared_json(
        f"{DJ_STRIPE}/early_fraud_warning_fake_issfr_fakefakefakefakefake0001.json"
    )

    assert process_event(_event(warning)) == "recorded"
    stored = EarlyFraudWarning.objects.get()
    assert (stored.order, stored.charge_provider_id, stored.actionable) == (None, "", True)

    later = warning | {"charge": {"id": "ch_1234", "object": "charge"}, "actionable": False}
    assert process_event(_event(later, "updated")) == "updated"

    stored.refresh_from_db()
    assert (stored.order, stored.charge_provider_id, stored.actionable) == (order, "ch_1234", False)
    updated = DomainEvent.objects.get(name="early_fraud_warning_updated")
    assert updated.payload["changed"] == ["actionable", "charge_provider_id", "order_id"]
    assert updated.payload["order_id"] == order.pk


def test_a_late_created_event_does_not_make_a_warning_actionable_again(order):
    warning = _stripe_resource("radar.early_fraud_warning")
    process_event(_event(warning | {"actionable": False}, "updated"))

    assert process_event(_event(warning, "created")) == "unchanged"

    assert EarlyFraudWarning.objects.get().actionable is False


def test_other_stripe_events_are_left_alone(order):
    assert process_event(_stripe_resource("event")) == "ignored"
    assert not EarlyFraudWarning.objects.exists()


def test_a_warning_without_an_id_is_refused():
    warning = _stripe_resource("radar.early_fraud_warning") | {"id": None}

    with pytest.raises(EarlyFraudWarningRefused):
        do_record_early_fraud_warning(early_fraud_warning_to_input(warning))
    assert not EarlyFraudWarning.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_warning_delivered_at_the_same_moment_is_recorded_once():
    """Webhook retries racing each other: one row, one audit entry, one event, one urgent case
    (real locks)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks and concurrent connections (PostgreSQL)")
    store = StoreFactory()
    do_ingest_orders(store, [order_in(1)])
    Payment.objects.update(provider_id="ch_1234")
    event = _event(_stripe_resource("radar.early_fraud_warning"))
    outcomes = run_at_once(*[lambda: process_event(event)] * 4)

    assert sorted(outcomes) == ["recorded", "unchanged", "unchanged", "unchanged"]
    assert EarlyFraudWarning.objects.count() == 1
    assert AuditEntry.objects.filter(action="dispute.early_fraud_warning_recorded").count() == 1
    assert DomainEvent.objects.filter(name="early_fraud_warning_recorded").count() == 1
    assert AuditEntry.objects.filter(action="dispute.early_fraud_warning_case").count() == 1
