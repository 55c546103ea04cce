"""Tracking states from carrier scans: stuck by business days per carrier and service (data),
delivered, returned; and what triage makes of them."""

from datetime import UTC, datetime

import pytest

from storedesk.commerce.models import StuckThreshold
from storedesk.commerce.services.tracking import business_days_between, tracking_states
from storedesk.triage.priority import score_facts
from tests.desk.builders import make_ticket
from tests.factories import OrderFactory, ShipmentEventFactory
from tests.triage.workflow_helpers import analyse

pytestmark = pytest.mark.django_db

# Friday 3 July 2026 is the observed Independence Day holiday in the US.
NOW = datetime(2026, 7, 10, 15, 0, tzinfo=UTC)  # a Friday


def parcel(
    carrier="USPS", service="", status="in_transit", scanned=datetime(2026, 7, 6, 9, tzinfo=UTC)
):
    order = OrderFactory()
    ShipmentEventFactory(
        shipment__order=order,
        shipment__carrier=carrier,
        shipment__service=service,
        shipment__status=status,
        shipment__shipped_at=datetime(2026, 7, 1, tzinfo=UTC),
        happened_at=scanned,
    )
    return order


def test_business_days_skip_weekends_and_us_holidays():
    thursday = datetime(2026, 7, 2, 18, tzinfo=UTC)
    assert business_days_between(thursday, datetime(2026, 7, 6, 9, tzinfo=UTC)) == 1  # Fri off
    assert business_days_between(thursday, NOW) == 5


def test_stuck_follows_the_threshold_of_the_carrier_and_service():
    usps = parcel()  # last scan Monday: Tue–Fri = 4 business days, USPS allows 4
    priority = parcel(service="Priority Mail")  # Priority Mail allows 3
    ups = parcel(carrier="UPS", scanned=datetime(2026, 7, 9, 9, tzinfo=UTC))
    delivered = parcel(status="delivered", scanned=datetime(2026, 6, 1, tzinfo=UTC))

    states = tracking_states([usps.pk, priority.pk, ups.pk, delivered.pk], NOW)

    assert (states[usps.pk].stuck, states[priority.pk].stuck, states[ups.pk].stuck) == (
        False,
        True,
        False,
    )
    assert (states[delivered.pk].stuck, states[delivered.pk].delivered) == (False, True)


def test_thresholds_are_data_an_admin_can_change():
    order = parcel()
    StuckThreshold.objects.filter(carrier="USPS", service="").update(business_days=2)
    assert tracking_states([order.pk], NOW)[order.pk].stuck is True


def test_triage_scores_stuck_and_delivered_but_missing():
    stuck = score_facts({"shipment_stuck": True})
    missing = score_facts({"delivered_said_missing": True})
    assert stuck.reasons == [{"reason": "parcel stuck: no carrier scan", "points": 15}]
    assert missing.reasons == [
        {"reason": "delivered per the carrier, the customer says not", "points": 15}
    ]


@pytest.mark.parametrize(
    ("intent", "status", "expected"),
    [
        ("not_received", "delivered", (False, True)),
        ("delivered_not_received", "delivered", (False, True)),
        ("order_status", "delivered", (False, False)),
        ("not_received", "in_transit", (True, False)),
    ],
)
def test_ticket_facts_say_stuck_and_delivered_but_missing(intent, status, expected):
    from storedesk.triage.facts import facts_for

    order = parcel(status=status, scanned=datetime(2026, 6, 1, tzinfo=UTC))
    ticket = make_ticket()
    ticket.orders.add(order)
    analyse(ticket.messages.first(), intent)

    facts = facts_for(ticket, NOW)

    assert (facts["shipment_stuck"], facts["delivered_said_missing"]) == expected
