"""Query counts are pinned exactly and do not grow with the rows returned.

A bearer request costs 3 queries before the endpoint's own: the token with its user, then the
user's and the user's groups' permissions (cached for the rest of the request). A session
request costs the session and the user instead of the token.
"""

import pytest

from storedesk.accounts.roles import Role
from tests.factories import (
    CustomerFactory,
    LineItemFactory,
    OrderFactory,
    PaymentFactory,
    RefundFactory,
    ShipmentEventFactory,
    ShipmentFactory,
)

AUTH = 3  # token+user, user permissions, group permissions


def _rich_order(size: int):
    order = OrderFactory()
    for _ in range(size):
        LineItemFactory(order=order)
        payment = PaymentFactory(order=order)
        RefundFactory(order=order, payment=payment)
        shipment = ShipmentFactory(order=order)
        ShipmentEventFactory(shipment=shipment)
        ShipmentEventFactory(shipment=shipment)
    return order


def _populate(size: int) -> None:
    for _ in range(size):
        order = OrderFactory()
        PaymentFactory(order=order)
        ShipmentFactory(order=order)


@pytest.mark.parametrize("size", [1, 12])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders",
        "/api/v1/customers",
        "/api/v1/shipments",
        "/api/v1/payments",
        "/api/v1/orders?gateway=stripe",
        "/api/v1/customers?tag=vip",
    ],
)
def test_lists_cost_one_query(agent_api, django_assert_num_queries, size, path):
    _populate(size)

    with django_assert_num_queries(AUTH + 1):
        response = agent_api.get(path)

    assert response.status_code == 200


@pytest.mark.parametrize("size", [1, 12])
def test_lists_with_a_cursor_cost_the_same(agent_api, django_assert_num_queries, size):
    _populate(size + 1)
    cursor = agent_api.get("/api/v1/orders", {"limit": 1}).json()["next_cursor"]

    with django_assert_num_queries(AUTH + 1):
        agent_api.get("/api/v1/orders", {"limit": 1, "cursor": cursor})


@pytest.mark.parametrize("size", [1, 6])
@pytest.mark.parametrize(
    ("role", "queries"),
    [
        # order+customer, line items, payments, refunds(+agent), shipments, events [, disputes]
        (Role.AGENT, 6),
        (Role.PAYMENTS, 7),
    ],
)
def test_order_detail(token_client, django_assert_num_queries, size, role, queries):
    client = token_client(role)
    order = _rich_order(size)

    with django_assert_num_queries(AUTH + queries):
        response = client.get(f"/api/v1/orders/{order.id}")

    assert response.status_code == 200
    assert len(response.json()["shipments"]) == size


@pytest.mark.parametrize("size", [1, 12])
def test_customer_detail_costs_two_queries(agent_api, django_assert_num_queries, size):
    customer = CustomerFactory()
    for _ in range(size):
        OrderFactory(customer=customer, store=customer.store)

    with django_assert_num_queries(AUTH + 2):  # customer, recent orders
        response = agent_api.get(f"/api/v1/customers/{customer.id}")

    assert len(response.json()["recent_orders"]) == min(size, 10)


@pytest.mark.parametrize("size", [1, 12])
def test_shipment_detail_costs_two_queries(agent_api, django_assert_num_queries, size):
    shipment = ShipmentFactory()
    for _ in range(size):
        ShipmentEventFactory(shipment=shipment)

    with django_assert_num_queries(AUTH + 2):  # shipment+order number, events
        response = agent_api.get(f"/api/v1/shipments/{shipment.id}")

    assert len(response.json()["events"]) == size


def test_payment_detail_costs_one_query(payments_api, django_assert_num_queries):
    payment = PaymentFactory()

    with django_assert_num_queries(AUTH + 1):
        response = payments_api.get(f"/api/v1/payments/{payment.id}")

    assert response.json()["card_fingerprint"] == payment.card_fingerprint


def test_session_request_costs_session_and_user_instead_of_token(
    agent_client, django_assert_num_queries
):
    _populate(3)

    with django_assert_num_queries(2 + 2 + 1):  # session, user, 2 permission sets, orders
        response = agent_client.get("/api/v1/orders")

    assert response.status_code == 200
