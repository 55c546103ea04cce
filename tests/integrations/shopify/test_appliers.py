"""Shopify's deliveries applied: orders stored and brought up to date (never by an older
version), refunds exactly once through the refund guards, parcels and tracking, disputes,
cancellations, and a refund that comes before its order waits for it."""

import copy
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from storedesk.accounts.roles import Role
from storedesk.commerce.models import Customer, Order, Payment, Refund, Shipment
from storedesk.core.models import DomainEvent
from storedesk.disputes.models import Dispute
from storedesk.integrations.connections.models import Connection, InboundDelivery
from storedesk.integrations.connections.services import do_apply_delivery
from tests.factories import StoreFactory, UserFactory
from tests.integrations.shopify.helpers import connect, fixture, post

pytestmark = pytest.mark.django_db

Status = InboundDelivery.Status
ORDER_ID = 450789469


@pytest.fixture
def shop():
    return connect(StoreFactory())


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """Post a signed delivery and run what its commit queues (the apply task, the events)."""

    def run(topic, payload, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, topic, payload, **headers)
        assert response.status_code == 200, response.content
        return InboundDelivery.objects.latest("pk")

    return run


def paid_order(**changes):
    """Shopify's order fixture with a captured sale, as a paid order's transactions show."""
    order = fixture("order")
    sale = fixture("transaction") | {"kind": "sale", "id": 389404470, "amount": "409.94"}
    order |= {"financial_status": "paid", "transactions": [sale]}
    order.update(changes)
    return order


def test_orders_create_stores_the_order_with_its_customer_lines_and_parcel(shop, deliver):
    delivery = deliver("orders/create", paid_order())
    assert delivery.status == Status.APPLIED
    assert delivery.outcome == "created"
    order = Order.objects.get()
    assert (order.number, order.provider_id, order.currency) == ("#1001", str(ORDER_ID), "USD")
    assert order.total_price == Decimal("409.94")
    assert order.total_tax == Decimal("11.94")
    assert order.line_items.count() == 3
    assert order.shipping_address["province_code"] == "KY"
    assert order.customer.email == "bob.norman@hostmail.com"
    payment = Payment.objects.get()
    assert (payment.gateway, payment.provider_id, payment.captured) == (
        "shopify_payments",
        "389404470",
        True,
    )
    assert payment.card_brand == "visa"
    assert payment.card_last4 == "4242"
    shipment = Shipment.objects.get()
    assert (shipment.tracking_number, shipment.status) == ("1Z2345", "failure")


def test_a_newer_update_changes_the_order_and_an_older_one_never_undoes_it(shop, deliver):
    deliver("orders/create", paid_order())
    newer = paid_order(updated_at="2008-01-12T09:00:00-05:00")
    newer["shipping_address"] = newer["shipping_address"] | {"address1": "1 New Street"}
    newer["cancelled_at"] = "2008-01-12T09:00:00-05:00"
    newer["cancel_reason"] = "customer"
    applied = deliver("orders/updated", newer)
    assert applied.outcome == "updated"
    older = paid_order(updated_at="2008-01-11T09:00:00-05:00")
    stale = deliver("orders/updated", older)
    assert stale.outcome == "stale"
    order = Order.objects.get()
    assert order.shipping_address["address1"] == "1 New Street"
    assert order.cancel_reason == "customer"
    assert order.cancelled_at is not None
    changed = DomainEvent.objects.get(name="order_facts_changed").payload["changed"]
    assert "shipping_address" in changed
    assert "cancelled_at" in changed
    assert DomainEvent.objects.filter(name="order_cancelled").count() == 1


def test_the_same_version_again_changes_nothing(shop, deliver):
    deliver("orders/create", paid_order())
    again = deliver("orders/updated", paid_order())
    assert again.outcome == "unchanged"
    assert not DomainEvent.objects.filter(name="order_facts_changed").exists()


def test_a_refund_is_recorded_once_whatever_the_redeliveries(shop, deliver):
    deliver("orders/create", paid_order())
    refund = fixture("refund")
    first = deliver("refunds/create", refund)
    second = deliver("refunds/create", refund)  # a second delivery id, same refund
    assert first.outcome == "created"
    assert second.status == Status.APPLIED
    stored = Refund.objects.get()
    assert stored.amount == Decimal("209.00")
    assert stored.idempotency_key == "shopify:refund:509562969"
    assert Order.objects.get().financial_status == "partially_refunded"


def test_a_refund_before_its_order_is_parked_and_applied_when_the_order_arrives(shop, deliver):
    parked = deliver("refunds/create", fixture("refund"))
    assert parked.status == Status.PARKED
    assert parked.object_key == f"order:{ORDER_ID}"
    assert "not stored yet" in parked.last_error
    deliver("orders/create", paid_order())
    parked.refresh_from_db()
    assert parked.status == Status.APPLIED
    assert Refund.objects.get().amount == Decimal("209.00")


def test_a_refund_of_money_not_seen_taken_waits_for_the_payment(shop, deliver):
    deliver("orders/create", fixture("order"))  # authorized only: nothing captured yet
    parked = deliver("refunds/create", fixture("refund"))
    assert parked.status == Status.PARKED
    assert parked.object_key == f"payments:{ORDER_ID}"
    deliver("orders/paid", paid_order(updated_at="2008-01-11T11:00:00-05:00"))
    parked.refresh_from_db()
    assert parked.status == Status.APPLIED
    assert Refund.objects.count() == 1


def test_fulfilment_create_and_a_tracking_update(shop, deliver):
    deliver("orders/create", paid_order(fulfillments=[]))
    fulfillment = fixture("fulfillment") | {"tracking_number": "", "tracking_numbers": []}
    deliver("fulfillments/create", fulfillment)
    shipment = Shipment.objects.get()
    assert shipment.tracking_number == ""
    assert Order.objects.get().fulfillment_status == "fulfilled"
    tracked = fixture("fulfillment") | {"shipment_status": "in_transit"}
    assert deliver("fulfillments/update", tracked).outcome == "updated"
    shipment.refresh_from_db()
    assert (shipment.tracking_number, shipment.status) == ("1Z2345", "in_transit")
    assert DomainEvent.objects.filter(name="order_shipped").count() == 1


def test_a_dispute_lands_in_the_disputes_app(shop, deliver):
    deliver("orders/create", paid_order())
    dispute = fixture("dispute") | {"order_id": ORDER_ID, "status": "needs_response"}
    assert deliver("disputes/create", dispute).outcome == "created"
    stored = Dispute.objects.get()
    assert (stored.gateway, stored.provider_id, stored.reason) == (
        "shopify_payments",
        "1052608616",
        "fraudulent",
    )
    assert stored.amount == Decimal("100.00")
    won = dispute | {"status": "won", "finalized_on": "2013-07-10T19:00:00-04:00"}
    assert deliver("disputes/update", won).outcome == "updated"
    assert Dispute.objects.get().status == "won"


def test_customers_update_changes_a_known_customer(shop, deliver):
    deliver("orders/create", paid_order())
    customer = fixture("customer") | {"first_name": "Robert", "phone": "+15025551199"}
    assert deliver("customers/update", customer).outcome == "updated"
    stored = Customer.objects.get()
    assert (stored.first_name, stored.phone, stored.provider_id) == (
        "Robert",
        "+15025551199",
        "207119551",
    )


def test_app_uninstalled_breaks_the_connection_and_tells_the_team(shop, deliver, mailoutbox):
    admin = UserFactory(email="owner@tinypearl.example")
    admin.groups.add(Group.objects.get_or_create(name=Role.ADMIN.value)[0])
    delivery = deliver("app/uninstalled", {"id": 690933842, "domain": "shop.apple.com"})
    assert delivery.outcome == "connection_broken"
    shop.refresh_from_db()
    assert shop.status == Connection.Status.BROKEN
    assert "uninstalled" in shop.broken_reason
    assert [message.to for message in mailoutbox] == [["owner@tinypearl.example"]]


def test_a_malformed_order_fails_once_and_waits_for_a_person(shop, deliver):
    broken = copy.deepcopy(paid_order())
    broken["created_at"] = "yesterday"
    delivery = deliver("orders/create", broken)
    assert delivery.status == Status.FAILED
    assert delivery.next_attempt_at is None
    assert do_apply_delivery(delivery.pk) == "skipped"
