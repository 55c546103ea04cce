"""Customers list and customer page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from storedesk.commerce.queries import customer_standing
from storedesk.commerce.services import refresh_customer_aggregates
from storedesk.desk.models import Ticket
from tests.factories import BASE_TIME, CustomerFactory, OrderFactory, RefundFactory
from tests.pages.conftest import add_tickets


def test_customer_list_searches_name_prefix_and_email(agent_client, full_order, store):
    CustomerFactory(
        store=store,
        first_name="Noah",
        last_name="Reed",
        name_key="noah reed",
        last_name_key="reed",
        email="noah@mail.example",
    )
    by_name = agent_client.get("/customers/", {"q": "Oliv"})
    assert [c.email for c in by_name.context["page"]] == ["olivia.bennett@mail.example"]
    by_last_name = agent_client.get("/customers/", {"q": "ree"})
    assert [c.email for c in by_last_name.context["page"]] == ["noah@mail.example"]
    by_email = agent_client.get("/customers/", {"q": "NOAH@mail.example"})
    assert [c.email for c in by_email.context["page"]] == ["noah@mail.example"]
    nobody = agent_client.get("/customers/", {"q": "zed"})
    assert "No customer matches “zed”." in nobody.text


def test_customer_list_htmx_gets_the_results_only(agent_client, full_order):
    response = agent_client.get("/customers/", {"q": "oli"}, headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<section class="panel" id="results">')
    assert "Olivia Bennett" in response.text


def test_customer_page_shows_details_and_orders(agent_client, full_order):
    customer = full_order.customer
    customer.phone = "+1 512 555 0100"
    customer.default_address = full_order.shipping_address
    customer.save()
    older = OrderFactory(
        store=full_order.store, customer=customer, created_at=BASE_TIME - timedelta(days=40)
    )
    response = agent_client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    html = response.text
    assert "Olivia Bennett" in html
    assert 'data-testid="vip" title="marked VIP by the store">VIP</span>' in html
    assert '<span class="tag">repeat</span>' in html
    assert "+1 512 555 0100" in html
    assert "512 Congress Ave" in html
    assert 'data-testid="total-spent">412.50 USD<' in html
    assert list(response.context["page"]) == [full_order, older]


def test_unknown_customer_is_404(agent_client, db):
    assert agent_client.get("/customers/424242/").status_code == 404


# session, user, permissions (2), customer with store, order count, order page, latest tickets
CUSTOMER_PAGE_QUERIES = 8
# session, user, permissions (2), store, count, page
CUSTOMER_LIST_QUERIES = 7


@pytest.mark.parametrize("orders", [1, 20])
def test_customer_page_query_count_is_fixed(
    agent_client, full_order, django_assert_num_queries, orders
):
    OrderFactory.create_batch(orders, store=full_order.store, customer=full_order.customer)
    add_tickets(full_order.customer, orders)
    with django_assert_num_queries(CUSTOMER_PAGE_QUERIES):
        response = agent_client.get(f"/customers/{full_order.customer_id}/")
    assert len(response.context["tickets"]) == min(orders, 10)


@pytest.mark.parametrize("customers", [1, 20])
def test_customer_list_query_count_is_fixed(
    agent_client, store, django_assert_num_queries, customers
):
    CustomerFactory.create_batch(customers, store=store)
    with django_assert_num_queries(CUSTOMER_LIST_QUERIES):
        response = agent_client.get("/customers/", {"q": "emm"})
    assert response.context["page"].paginator.count == customers


def test_lifetime_value_is_paid_orders_less_refunds_and_leaves_cancelled_orders_out(store):
    customer = CustomerFactory(store=store)
    paid = OrderFactory(store=store, customer=customer, total_price=Decimal("120.00"))
    RefundFactory(order=paid, amount=Decimal("20.00"))
    paid.total_refunded = Decimal("20.00")
    paid.save()
    OrderFactory(
        store=store,
        customer=customer,
        total_price=Decimal("55.50"),
        created_at=BASE_TIME + timedelta(days=3),
    )
    OrderFactory(
        store=store, customer=customer, total_price=Decimal("999.00"), cancelled_at=BASE_TIME
    )
    refresh_customer_aggregates([customer.pk])
    customer.refresh_from_db()

    standing = customer_standing(customer)

    assert (standing.lifetime_value, standing.currency) == (Decimal("155.50"), "USD")
    assert standing.orders_count == 3
    assert standing.first_order_at == BASE_TIME
    assert standing.last_order_at == BASE_TIME + timedelta(days=3)
    assert not standing.is_vip


@override_settings(VIP_LIFETIME_VALUE="500.00", VIP_ORDER_COUNT=4)
@pytest.mark.parametrize(
    ("marked", "spent", "orders", "reason"),
    [
        (True, "0.00", 0, "marked VIP by the store"),
        (False, "500.00", 1, "lifetime value of 500.00 USD or more"),
        (False, "499.99", 4, "4 orders or more"),
        (False, "499.99", 3, ""),
    ],
)
def test_the_vip_rule_reads_its_thresholds_from_settings(store, marked, spent, orders, reason):
    customer = CustomerFactory(
        store=store, is_vip=marked, total_spent=Decimal(spent), orders_count=orders
    )
    assert customer_standing(customer).vip_reason == reason


@override_settings(VIP_LIFETIME_VALUE="400.00")
def test_customer_page_shows_value_orders_dates_vip_and_latest_tickets(agent_client, full_order):
    customer = full_order.customer
    customer.is_vip = False
    customer.first_order_at = BASE_TIME - timedelta(days=40)
    customer.last_order_at = BASE_TIME
    customer.save()
    tickets = add_tickets(customer, 12)

    response = agent_client.get(f"/customers/{customer.pk}/")

    html = response.text
    assert 'data-testid="total-spent">412.50 USD<' in html
    assert "Lifetime value" in html
    assert 'data-testid="orders-count">3<' in html
    assert f'data-testid="first-order">{BASE_TIME - timedelta(days=40):%Y-%m-%d}<' in html
    assert f'data-testid="last-order">{BASE_TIME:%Y-%m-%d}<' in html
    assert "VIP: lifetime value of 400.00 USD or more." in html
    shown = [ticket.number for ticket in response.context["tickets"]]
    assert shown == [ticket.number for ticket in reversed(tickets)][:10]
    assert f"#{tickets[-1].number} Question 11" in html
    assert f"#{tickets[0].number} Question 0" not in html
    assert f'href="/desk/?view=customer:{customer.pk}"' in html


def test_the_inbox_lists_every_ticket_of_one_customer(agent_client, full_order):
    tickets = add_tickets(full_order.customer, 2)
    Ticket.objects.filter(pk=tickets[0].pk).update(status=Ticket.Status.CLOSED)
    someone_else = add_tickets(CustomerFactory(store=full_order.store), 1, start=8000)

    response = agent_client.get("/desk/", {"view": f"customer:{full_order.customer_id}"})

    numbers = [ticket.number for ticket in response.context["page"].tickets]
    assert numbers == [tickets[1].number, tickets[0].number]
    assert someone_else[0].number not in numbers
    assert agent_client.get("/desk/", {"view": "customer:x"}).status_code == 404


def test_customer_tickets_are_left_out_for_a_role_without_the_desk(client, make_user, full_order):
    add_tickets(full_order.customer, 1)
    user = make_user(None, username="viewer")
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_customer", "view_order"])
    )
    client.force_login(user)
    response = client.get(f"/customers/{full_order.customer_id}/")
    assert response.status_code == 200
    assert 'data-testid="customer-tickets"' not in response.text
