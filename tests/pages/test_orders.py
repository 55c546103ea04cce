"""Order search (the top search box) and the order page."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storedesk.accounts.roles import Role
from storedesk.commerce.models import Order, Payment
from storedesk.commerce.queries import search_orders
from tests.factories import (
    BASE_TIME,
    CustomerFactory,
    OrderFactory,
    PaymentFactory,
    ShipmentFactory,
)
from tests.pages.conftest import add_order_rows, add_tickets


@pytest.mark.parametrize("typed", ["#TP20001", "TP20001", "tp20001", "#tp20001", " 20001 "])
def test_an_order_number_opens_the_order(agent_client, full_order, typed):
    response = agent_client.get("/orders/", {"q": typed})
    assert response.status_code == 302
    assert response.url == f"/orders/{full_order.pk}/"


def test_a_tracking_number_opens_the_order(agent_client, full_order):
    response = agent_client.get("/orders/", {"q": "lx999888777vn"})
    assert response.url == f"/orders/{full_order.pk}/"


def test_an_exact_email_lists_that_customers_orders(agent_client, full_order):
    OrderFactory(
        store=full_order.store,
        customer=full_order.customer,
        created_at=BASE_TIME + timedelta(days=1),
    )
    OrderFactory(store=full_order.store)
    response = agent_client.get("/orders/", {"q": "Olivia.Bennett@mail.example"})
    assert response.status_code == 200
    assert [order.customer_id for order in response.context["page"]] == [
        full_order.customer_id,
        full_order.customer_id,
    ]
    assert "2 orders match “Olivia.Bennett@mail.example”." in response.text


def test_an_email_with_one_order_opens_it(agent_client, full_order):
    response = agent_client.get("/orders/", {"q": "olivia.bennett@mail.example"})
    assert response.url == f"/orders/{full_order.pk}/"


@pytest.mark.parametrize("typed", ["oli", "Olivia B", "benn", "BENNETT"])
def test_a_name_prefix_finds_orders_by_first_or_last_name(store, full_order, typed):
    other = CustomerFactory(
        store=store,
        first_name="Ben",
        last_name="Nolan",
        name_key="ben nolan",
        last_name_key="nolan",
    )
    OrderFactory(store=store, customer=other)
    assert list(search_orders(store, typed)) == [full_order]


def test_a_name_prefix_is_a_list_newest_first(agent_client, store):
    customers = [
        CustomerFactory(
            store=store,
            first_name=f"Mia{n}",
            last_name="Clark",
            name_key=f"mia{n} clark",
            last_name_key="clark",
        )
        for n in range(3)
    ]
    orders = [
        OrderFactory(store=store, customer=customer, created_at=BASE_TIME + timedelta(hours=n))
        for n, customer in enumerate(customers)
    ]
    response = agent_client.get("/orders/", {"q": "cla"})
    assert response.status_code == 200
    assert list(response.context["page"]) == orders[::-1]


def test_a_name_search_sorts_index_keys_and_reads_only_the_pages_orders(store):
    """A broad prefix matches thousands of orders: the sort works on (id, created_at) pairs
    and only the page's orders are read, narrow (no addresses or other JSON)."""
    customer = CustomerFactory(store=store, first_name="Emma", name_key="emma stone")
    orders = [
        OrderFactory(store=store, customer=customer, created_at=BASE_TIME + timedelta(hours=n))
        for n in range(12)
    ]

    with CaptureQueriesContext(connection) as queries:
        page = search_orders(store, "em")[3:8]

    assert page == orders[::-1][3:8]
    *_, sort, rows = (query["sql"] for query in queries.captured_queries)  # after tracking
    assert "UNION" in sort
    assert '"number"' not in sort
    assert "ORDER BY" not in rows
    assert '"commerce_order"."number"' in rows
    for wide in ("billing_address", "shipping_address", "discount_codes", "default_address"):
        assert wide not in rows


def test_a_prefix_never_matches_the_middle_of_a_name(store, full_order):
    assert list(search_orders(store, "livia")) == []
    assert list(search_orders(store, "ennett")) == []


def test_an_unknown_number_says_no_order_matches(agent_client, full_order):
    response = agent_client.get("/orders/", {"q": "#TP99999"})
    assert response.status_code == 200
    assert "No order matches “#TP99999”." in response.text


def test_search_stays_inside_the_store(agent_client, full_order):
    from tests.factories import StoreFactory

    other_store = StoreFactory(slug="other", name="Other")
    OrderFactory(store=other_store, number="#TP77777", number_key="TP77777")
    response = agent_client.get("/orders/", {"q": "TP77777"})
    assert "No order matches" in response.text


def test_empty_search_lists_latest_orders_50_a_page(agent_client, store):
    OrderFactory.create_batch(51, store=store)
    first = agent_client.get("/orders/")
    assert first.status_code == 200
    assert len(first.context["page"].object_list) == 50
    assert "Page 1 of 2" in first.text
    second = agent_client.get("/orders/", {"page": 2})
    assert len(second.context["page"].object_list) == 1


def test_htmx_gets_only_the_results_fragment(agent_client, full_order):
    response = agent_client.get("/orders/", {"q": "nobody"}, headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<section class="panel" id="results">')


# session, user, permissions (2), store, tracking lookup, count, page
SEARCH_QUERIES = 9  # the page's keys, then its orders


@pytest.mark.parametrize("orders", [2, 30])
def test_search_list_query_count_is_fixed(agent_client, store, django_assert_num_queries, orders):
    for order in OrderFactory.create_batch(orders, store=store):
        ShipmentFactory(order=order)
    with django_assert_num_queries(SEARCH_QUERIES):
        response = agent_client.get("/orders/", {"q": "emma"})
    assert response.context["page"].paginator.count == orders


def test_order_page_shows_everything(agent_client, full_order):
    response = agent_client.get(f"/orders/{full_order.pk}/")
    assert response.status_code == 200
    html = response.text
    assert "Order #TP20001" in html
    assert f'href="/customers/{full_order.customer_id}/"' in html
    assert '<span class="badge vip" title="marked VIP by the store">VIP</span>' in html
    assert "412.50 USD" in html
    assert "Moonstone Ring" in html
    assert "Size 7" in html
    assert "VISA ···· 4242" in html
    assert "authenticated" in html
    assert '<span class="badge risk-elevated">elevated</span> score 67' in html
    assert (
        html.index("Departed Hanoi sorting center")
        < html.index("Arrived at Austin post office")
        < html.index("Delivered, front door")
    )
    assert "O BENNETT" in html
    assert "Returns v2 within 30 days" in html
    assert "Returns v1" not in html
    assert "Returns v3 LATER" not in html
    assert "Ships from Hanoi in 2 days" in html
    assert "order.imported" in html


def test_fingerprint_is_hidden_from_agents(agent_client, full_order):
    html = agent_client.get(f"/orders/{full_order.pk}/").text
    assert "fpSECRET123" not in html
    assert 'id="disputes"' not in html


def test_fingerprint_and_disputes_are_shown_to_payments_specialists(client, make_user, full_order):
    from storedesk.disputes.models import Dispute

    payment = full_order.payments.get()
    Dispute.objects.create(
        order=full_order,
        payment=payment,
        gateway="stripe",
        provider_id="dp_1",
        reason="product_not_received",
        network_reason_code="13.1",
        status="needs_response",
        amount=payment.amount,
        currency="USD",
        opened_at=BASE_TIME + timedelta(days=20),
    )
    client.force_login(make_user(Role.PAYMENTS, username="payments"))
    html = client.get(f"/orders/{full_order.pk}/").text
    assert '<dd class="mono" data-testid="fingerprint">fpSECRET123</dd>' in html
    assert '<span title="product_not_received">Product not received</span> (13.1)' in html
    assert "Needs response" in html  # the status in words, not `needs_response`


def _warm_caches():
    ContentType.objects.get_for_model(Order)


# session, user, permissions (2), order+store+customer+risk, items, payments, refunds, shipments,
# events, open order tasks, policies, audit history, tickets about the order, customer's tickets
ORDER_PAGE_QUERIES = 15


@pytest.mark.parametrize("extra", [0, 4])
def test_order_page_query_count_is_fixed(
    agent_client, full_order, django_assert_num_queries, extra
):
    add_order_rows(full_order, count=extra)
    for ticket in add_tickets(full_order.customer, extra * 4):
        ticket.orders.add(full_order)
    _warm_caches()
    with django_assert_num_queries(ORDER_PAGE_QUERIES):
        assert agent_client.get(f"/orders/{full_order.pk}/").status_code == 200


@pytest.mark.parametrize("extra", [0, 4])
def test_order_page_for_payments_adds_one_query_for_disputes(
    client, make_user, full_order, django_assert_num_queries, extra
):
    add_order_rows(full_order, count=extra)
    client.force_login(make_user(Role.PAYMENTS, username="payments"))
    _warm_caches()
    with django_assert_num_queries(ORDER_PAGE_QUERIES + 1):
        assert client.get(f"/orders/{full_order.pk}/").status_code == 200


def test_order_page_never_links_a_stored_non_http_tracking_or_proof_url(agent_client, store):
    """Rows stored before ingest checked links: the page shows them as plain text."""
    order = OrderFactory(store=store, number="#TP40001", number_key="TP40001")
    ShipmentFactory(
        order=order,
        tracking_number="LX888VN",
        tracking_url="\tjavascript:alert(1)",
        proof_of_delivery_url="data:text/html,<script>alert(2)</script>",
        status="delivered",
    )

    text = agent_client.get(f"/orders/{order.pk}/").text

    assert '<span class="mono">LX888VN</span>' in text
    assert "alert(" not in text
    assert "Proof of delivery" not in text


def test_order_page_lists_tickets_about_it_and_the_customers_other_tickets(
    agent_client, full_order
):
    about, other, unrelated = add_tickets(full_order.customer, 3)
    about.orders.add(full_order)
    unrelated.customer = CustomerFactory(store=full_order.store)
    unrelated.save()

    response = agent_client.get(f"/orders/{full_order.pk}/")

    assert [t.number for t in response.context["order_tickets"]] == [about.number]
    assert [t.number for t in response.context["other_tickets"]] == [other.number]
    html = response.text
    assert f'href="/desk/tickets/{about.number}/">#{about.number} Question 0</a>' in html
    assert f'href="/desk/tickets/{other.number}/">#{other.number} Question 1</a>' in html
    assert f"#{unrelated.number} " not in html
    assert f'href="/desk/?view=customer:{full_order.customer_id}"' in html


def test_failed_attempts_beyond_the_latest_three_fold_and_a_success_always_shows(
    agent_client, full_order
):
    first_success = full_order.payments.get()
    declined = [
        PaymentFactory(
            order=full_order,
            status=Payment.Status.FAILED,
            failure_code="card_declined",
            created_at=BASE_TIME + timedelta(minutes=n),
        )
        for n in range(25)
    ]

    response = agent_client.get(f"/orders/{full_order.pk}/")

    shown = response.context["payments"]
    assert shown == sorted([first_success, *declined[-3:]], key=lambda p: (p.created_at, p.pk))
    assert response.context["folded_payments"] == declined[:-3]
    folded = response.text.split('data-testid="folded-payments"')[1].split("</details>")[0]
    assert "22 earlier failed attempts" in folded
    assert folded.count('<article class="payment">') == 22
