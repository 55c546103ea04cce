"""Customers, shipments and payments: filters, details and the role-gated payment fields."""

from datetime import timedelta

import pytest
from django.test import override_settings

from storedesk.commerce.models import Customer, Payment, Shipment
from tests.factories import (
    BASE_TIME,
    CustomerFactory,
    OrderFactory,
    PaymentFactory,
    ShipmentEventFactory,
    ShipmentFactory,
)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


# --- Customers


@pytest.fixture
def customers(db):
    ava = CustomerFactory(
        first_name="Ava",
        last_name="Nguyen",
        email="ava@mail.example",
        is_vip=True,
        tags=["vip", "wholesale"],
        total_spent="1250.50",
    )
    bea = CustomerFactory(
        first_name="Bea", last_name="Avalos", email="bea@mail.example", tags=["vip-candidate"]
    )
    cal = CustomerFactory(first_name="Cal", last_name="Smith", email="cal@mail.example")
    return ava, bea, cal


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["cal", "bea", "ava"]),
        ({"email": " Ava@Mail.example "}, ["ava"]),
        ({"name": "ava"}, ["bea", "ava"]),  # first-name prefix and last-name prefix
        ({"name": "Ava  Ngu"}, ["ava"]),
        ({"vip": "true"}, ["ava"]),
        ({"vip": "false"}, ["cal", "bea"]),
        ({"tag": "vip"}, ["ava"]),  # whole tags only: not 'vip-candidate'
        ({"tag": "wholesale"}, ["ava"]),
        ({"tag": "vip-candidate"}, ["bea"]),
        ({"tag": "vi"}, []),
    ],
)
def test_customer_filters(agent_api, customers, params, expected):
    by_id = {customer.id: customer.first_name.lower() for customer in customers}

    assert [by_id[i] for i in _ids(agent_api.get("/api/v1/customers", params))] == expected


def test_customer_detail_has_recent_orders_newest_first(agent_api, customers):
    ava = customers[0]
    for day in range(12):
        OrderFactory(customer=ava, store=ava.store, created_at=BASE_TIME + timedelta(days=day))

    customer = agent_api.get(f"/api/v1/customers/{ava.id}").json()

    assert customer["name"] == "Ava Nguyen"
    assert customer["total_spent"] == {"amount": "1250.50", "currency": "USD"}
    assert customer["tags"] == ["vip", "wholesale"]
    created = [order["created_at"] for order in customer["recent_orders"]]
    assert len(created) == 10
    assert created == sorted(created, reverse=True)
    assert created[0] == "2026-03-13T15:00:00Z"


def test_unknown_customer_is_404(agent_api, db):
    response = agent_api.get("/api/v1/customers/424242")

    assert response.status_code == 404
    assert response.json()["message"] == "No customer has id 424242."


# --- Shipments


@pytest.fixture
def shipments(db):
    order = OrderFactory(number="#TP30001")
    usps = ShipmentFactory(order=order, tracking_number="LX555000111VN")
    ShipmentEventFactory(shipment=usps)
    dhl = ShipmentFactory(
        carrier="DHL", tracking_number="JJD0001", status=Shipment.Status.DELIVERED
    )
    return usps, dhl


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["dhl", "usps"]),
        ({"tracking_number": "LX555000111VN"}, ["usps"]),
        ({"carrier": "dhl"}, ["dhl"]),
        ({"status": "delivered"}, ["dhl"]),
        ({"status": "in_transit"}, ["usps"]),
        ({"order": "TP30001"}, ["usps"]),
        ({"order": "#TP30001"}, ["usps"]),
    ],
)
def test_shipment_filters(agent_api, shipments, params, expected):
    names = {shipments[0].id: "usps", shipments[1].id: "dhl"}

    assert [names[i] for i in _ids(agent_api.get("/api/v1/shipments", params))] == expected


def test_shipment_filter_by_order_id(agent_api, shipments):
    usps = shipments[0]

    assert _ids(agent_api.get("/api/v1/shipments", {"order": str(usps.order_id)})) == [usps.id]


def test_shipment_detail_has_events(agent_api, shipments):
    usps = shipments[0]

    shipment = agent_api.get(f"/api/v1/shipments/{usps.id}").json()

    assert shipment["order_number"] == "#TP30001"
    assert shipment["tracking_number"] == "LX555000111VN"
    assert [event["city"] for event in shipment["events"]] == ["Hanoi"]


# --- Payments


@pytest.fixture
def payments(db):
    stripe = PaymentFactory(
        card_fingerprint="fpStripe01",
        risk_score=71,
        risk_level="elevated",
        raw={"id": "ch_1", "outcome": {"risk_score": 71}},
        order=OrderFactory(number="#TP40001", created_at=BASE_TIME),
    )
    paypal = PaymentFactory(
        gateway=Payment.Gateway.PAYPAL,
        method=Payment.Method.PAYPAL,
        status=Payment.Status.FAILED,
        card_fingerprint="",
        risk_score=None,
        order=OrderFactory(number="#TP40002", created_at=BASE_TIME + timedelta(days=1)),
    )
    return stripe, paypal


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["paypal", "stripe"]),
        ({"gateway": "stripe"}, ["stripe"]),
        ({"status": "failed"}, ["paypal"]),
        ({"risk_level": "elevated"}, ["stripe"]),
        ({"created_after": "2026-03-03"}, ["paypal"]),
        ({"created_before": "2026-03-03"}, ["stripe"]),
        ({"order": "TP40002"}, ["paypal"]),
    ],
)
def test_payment_filters(agent_api, payments, params, expected):
    names = {payments[0].id: "stripe", payments[1].id: "paypal"}

    assert [names[i] for i in _ids(agent_api.get("/api/v1/payments", params))] == expected


def test_agent_gets_null_fingerprint_risk_score_and_raw(agent_api, payments):
    stripe = payments[0]

    listed = agent_api.get("/api/v1/payments", {"gateway": "stripe"}).json()["items"][0]
    detail = agent_api.get(f"/api/v1/payments/{stripe.id}").json()

    assert (listed["card_fingerprint"], listed["risk_score"]) == (None, None)
    assert (detail["card_fingerprint"], detail["risk_score"], detail["raw"]) == (None, None, None)
    assert detail["card_last4"] == "4242"
    assert detail["risk_level"] == "elevated"


def test_payments_specialist_gets_fingerprint_risk_score_and_raw(payments_api, payments):
    stripe = payments[0]

    listed = payments_api.get("/api/v1/payments", {"gateway": "stripe"}).json()["items"][0]
    detail = payments_api.get(f"/api/v1/payments/{stripe.id}").json()

    assert (listed["card_fingerprint"], listed["risk_score"]) == ("fpStripe01", 71)
    assert detail["raw"] == {"id": "ch_1", "outcome": {"risk_score": 71}}
    assert detail["amount"] == {"amount": "89.00", "currency": "USD"}
    assert detail["order_number"] == "#TP40001"


def test_payment_without_fingerprint_is_null_not_empty(payments_api, payments):
    paypal = payments[1]

    detail = payments_api.get(f"/api/v1/payments/{paypal.id}").json()

    assert (detail["card_fingerprint"], detail["risk_score"]) == (None, None)


def test_a_stored_non_http_link_is_served_empty(agent_api, shipments):
    usps, _dhl = shipments
    Shipment.objects.filter(pk=usps.pk).update(
        tracking_url="javascript:alert(1)", proof_of_delivery_url="vbscript:x"
    )

    shipment = agent_api.get(f"/api/v1/shipments/{usps.id}").json()

    assert (shipment["tracking_url"], shipment["proof_of_delivery_url"]) == ("", "")


@override_settings(VIP_LIFETIME_VALUE="1000.00", VIP_ORDER_COUNT=5)
def test_customer_detail_has_lifetime_value_order_count_and_vip_by_rule(agent_api, customers):
    ava, bea = customers[0], customers[1]
    Customer.objects.filter(pk=ava.pk).update(is_vip=False, orders_count=2)
    Customer.objects.filter(pk=bea.pk).update(total_spent="12.00", orders_count=1)

    big_spender = agent_api.get(f"/api/v1/customers/{ava.id}").json()
    newcomer = agent_api.get(f"/api/v1/customers/{bea.id}").json()

    assert big_spender["lifetime_value"] == {"amount": "1250.50", "currency": "USD"}
    assert big_spender["orders_count"] == 2
    assert (big_spender["vip"], big_spender["vip_reason"]) == (
        True,
        "lifetime value of 1000.00 USD or more",
    )
    assert (newcomer["vip"], newcomer["vip_reason"]) == (False, "")
    assert newcomer["lifetime_value"] == {"amount": "12.00", "currency": "USD"}
