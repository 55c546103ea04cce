"""GET /api/v1/orders and /orders/{number_or_id}: filters, detail shape, role-gated fields."""

from datetime import timedelta
from urllib.parse import quote

import pytest

from storedesk.accounts.roles import Role
from storedesk.commerce.models import Order, Payment
from tests.factories import (
    BASE_TIME,
    CustomerFactory,
    LineItemFactory,
    OrderFactory,
    PaymentFactory,
    RefundFactory,
    ShipmentEventFactory,
    ShipmentFactory,
)

ORDERS = "/api/v1/orders"


def _numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["number"] for item in response.json()["items"]]


@pytest.fixture
def three_orders(db):
    """Oldest to newest: a paid Stripe order, a refunded PayPal order, a pending one."""
    ava = CustomerFactory(first_name="Ava", email="ava@mail.example")
    first = OrderFactory(number="#TP20001", customer=ava, created_at=BASE_TIME)
    PaymentFactory(order=first, gateway=Payment.Gateway.STRIPE)
    second = OrderFactory(
        number="#TP20002",
        created_at=BASE_TIME + timedelta(days=1),
        financial_status=Order.FinancialStatus.REFUNDED,
        fulfillment_status=Order.FulfillmentStatus.UNFULFILLED,
    )
    PaymentFactory(order=second, gateway=Payment.Gateway.PAYPAL)
    third = OrderFactory(
        number="#TP20003",
        customer=ava,
        created_at=BASE_TIME + timedelta(days=2),
        financial_status=Order.FinancialStatus.PENDING,
    )
    return first, second, third


def test_orders_come_newest_first(agent_api, three_orders):
    assert _numbers(agent_api.get(ORDERS)) == ["#TP20003", "#TP20002", "#TP20001"]


def test_order_summary_has_money_as_strings_with_currency(agent_api, three_orders):
    item = agent_api.get(ORDERS, {"number": "TP20001"}).json()["items"][0]

    assert item["total_price"] == {"amount": "89.00", "currency": "USD"}
    assert item["total_refunded"] == {"amount": "0.00", "currency": "USD"}
    assert item["financial_status"] == "paid"
    assert item["created_at"] == "2026-03-02T15:00:00Z"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"email": "AVA@mail.example"}, ["#TP20003", "#TP20001"]),
        ({"number": "#TP20002"}, ["#TP20002"]),
        ({"number": "tp20002"}, ["#TP20002"]),
        ({"financial_status": "refunded"}, ["#TP20002"]),
        ({"fulfillment_status": "unfulfilled"}, ["#TP20002"]),
        ({"gateway": "paypal"}, ["#TP20002"]),
        ({"gateway": "stripe"}, ["#TP20001"]),
        ({"created_after": "2026-03-03T15:00:00Z"}, ["#TP20003", "#TP20002"]),
        ({"created_before": "2026-03-03T15:00:00Z"}, ["#TP20001"]),
        ({"created_after": "2026-03-03", "created_before": "2026-03-04"}, ["#TP20002"]),
        ({"created_after": "2026-03-03T10:00:00-05:00"}, ["#TP20003", "#TP20002"]),
        ({"email": "ava@mail.example", "financial_status": "paid"}, ["#TP20001"]),
        ({"number": "TP99999"}, []),
    ],
)
def test_order_filters(agent_api, three_orders, params, expected):
    assert _numbers(agent_api.get(ORDERS, params)) == expected


def test_order_filter_by_customer(agent_api, three_orders):
    first, _, _ = three_orders

    assert _numbers(agent_api.get(ORDERS, {"customer_id": first.customer_id})) == [
        "#TP20003",
        "#TP20001",
    ]


def test_order_paid_twice_at_one_gateway_is_listed_once(agent_api, three_orders):
    first, _, _ = three_orders
    PaymentFactory(order=first, gateway=Payment.Gateway.STRIPE)

    assert _numbers(agent_api.get(ORDERS, {"gateway": "stripe"})) == ["#TP20001"]


@pytest.fixture
def full_order(db):
    order = OrderFactory(number="#TP10234", total_price="178.00", subtotal_price="178.00")
    LineItemFactory(order=order)
    LineItemFactory(order=order)
    payment = PaymentFactory(
        order=order,
        card_fingerprint="fpAbc123",
        risk_score=67,
        raw={"id": "ch_1", "object": "charge"},
    )
    RefundFactory(order=order, payment=payment, amount="20.00")
    shipment = ShipmentFactory(order=order)
    ShipmentEventFactory(shipment=shipment, message="Accepted at USPS origin facility")
    ShipmentEventFactory(
        shipment=shipment,
        happened_at=BASE_TIME + timedelta(days=5),
        message="Arrived at the destination country",
    )
    return order


@pytest.mark.parametrize("reference", ["TP10234", "tp10234", quote("#TP10234"), "{id}"])
def test_order_detail_by_number_or_id(agent_api, full_order, reference):
    response = agent_api.get(f"{ORDERS}/{reference.format(id=full_order.id)}")

    assert response.status_code == 200
    assert response.json()["number"] == "#TP10234"


def test_order_detail_has_items_payments_refunds_shipments_and_events(agent_api, full_order):
    order = agent_api.get(f"{ORDERS}/TP10234").json()

    assert order["total_price"] == {"amount": "178.00", "currency": "USD"}
    assert order["customer"]["email"] == full_order.customer.email
    assert [item["price"] for item in order["line_items"]] == [
        {"amount": "89.00", "currency": "USD"}
    ] * 2
    assert order["payments"][0]["order_number"] == "#TP10234"
    assert order["payments"][0]["card_last4"] == "4242"
    assert order["refunds"][0]["amount"] == {"amount": "20.00", "currency": "USD"}
    assert order["refunds"][0]["reason"] == "wrong_size"
    assert [event["message"] for event in order["shipments"][0]["events"]] == [
        "Accepted at USPS origin facility",
        "Arrived at the destination country",
    ]


def test_agent_sees_no_fingerprint_risk_score_or_disputes(agent_api, full_order):
    order = agent_api.get(f"{ORDERS}/TP10234").json()

    assert order["payments"][0]["card_fingerprint"] is None
    assert order["payments"][0]["risk_score"] is None
    assert order["payments"][0]["risk_level"] == "normal"
    assert order["disputes"] is None


def test_payments_specialist_sees_fingerprint_risk_score_and_disputes(payments_api, full_order):
    order = payments_api.get(f"{ORDERS}/TP10234").json()

    assert order["payments"][0]["card_fingerprint"] == "fpAbc123"
    assert order["payments"][0]["risk_score"] == 67
    assert order["disputes"] == []


def test_unknown_order_is_json_404_naming_it(agent_api, db):
    response = agent_api.get(f"{ORDERS}/{quote('#TP99999')}")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "No order matches '#TP99999'.",
        "details": None,
    }


def test_unknown_order_id_is_404(agent_api, db):
    assert agent_api.get(f"{ORDERS}/987654").status_code == 404


def test_payments_specialist_role_is_the_one_with_details(token_client, full_order):
    for role, visible in [(Role.LEAD, False), (Role.ADMIN, True)]:
        order = token_client(role).get(f"{ORDERS}/TP10234").json()
        assert (order["payments"][0]["card_fingerprint"] == "fpAbc123") is visible


def test_payments_specialist_sees_the_orders_disputes(payments_api, full_order):
    from storedesk.disputes.models import Dispute

    Dispute.objects.create(
        order=full_order,
        payment=full_order.payments.get(),
        gateway="stripe",
        provider_id="dp_1Test",
        reason="product_not_received",
        network_reason_code="13.1",
        status="needs_response",
        amount="178.00",
        currency="USD",
        opened_at=BASE_TIME + timedelta(days=20),
        raw={"id": "dp_1Test"},
    )

    disputes = payments_api.get(f"{ORDERS}/TP10234").json()["disputes"]

    assert [(d["provider_id"], d["reason"], d["amount"]) for d in disputes] == [
        ("dp_1Test", "product_not_received", {"amount": "178.00", "currency": "USD"})
    ]
