"""Customers list and customer page."""

from datetime import timedelta

import pytest

from tests.factories import BASE_TIME, CustomerFactory, OrderFactory


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
    assert '<span class="badge vip">VIP</span>' in html
    assert '<span class="tag">repeat</span>' in html
    assert "+1 512 555 0100" in html
    assert "512 Congress Ave" in html
    assert 'data-testid="total-spent">412.50 USD<' in html
    assert list(response.context["page"]) == [full_order, older]


def test_unknown_customer_is_404(agent_client, db):
    assert agent_client.get("/customers/424242/").status_code == 404


# session, user, permissions (2), customer with store, order count, order page
CUSTOMER_PAGE_QUERIES = 7
# session, user, permissions (2), store, count, page
CUSTOMER_LIST_QUERIES = 7


@pytest.mark.parametrize("orders", [1, 20])
def test_customer_page_query_count_is_fixed(
    agent_client, full_order, django_assert_num_queries, orders
):
    OrderFactory.create_batch(orders, store=full_order.store, customer=full_order.customer)
    with django_assert_num_queries(CUSTOMER_PAGE_QUERIES):
        agent_client.get(f"/customers/{full_order.customer_id}/")


@pytest.mark.parametrize("customers", [1, 20])
def test_customer_list_query_count_is_fixed(
    agent_client, store, django_assert_num_queries, customers
):
    CustomerFactory.create_batch(customers, store=store)
    with django_assert_num_queries(CUSTOMER_LIST_QUERIES):
        response = agent_client.get("/customers/", {"q": "emm"})
    assert response.context["page"].paginator.count == customers
