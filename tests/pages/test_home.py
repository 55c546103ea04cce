"""Home: the store at a glance, in the store's time zone, in a fixed number of queries."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.commerce.models import Payment, Refund
from storedesk.commerce.queries import day_bounds, store_overview
from tests.factories import OrderFactory, PaymentFactory, RefundFactory


def _order_today(store, **kwargs):
    order = OrderFactory(store=store, created_at=timezone.now(), **kwargs)
    PaymentFactory(order=order)
    return order


def test_day_bounds_follow_the_store_zone_across_dst():
    start, end = day_bounds(date(2026, 3, 8), "America/New_York")
    assert start.astimezone(UTC) == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)


def test_overview_counts_the_stores_own_day(store):
    day = date(2026, 3, 2)
    inside = datetime(2026, 3, 3, 4, 30, tzinfo=UTC)  # 23:30 in New York on March 2
    outside = datetime(2026, 3, 3, 5, 30, tzinfo=UTC)  # already March 3 in New York
    first = OrderFactory(store=store, created_at=inside, total_price=Decimal("100.00"))
    OrderFactory(store=store, created_at=inside, total_price=Decimal("50.00"), currency="EUR")
    OrderFactory(store=store, created_at=outside, total_price=Decimal("999.00"))
    PaymentFactory(order=first)
    PaymentFactory(order=first, status=Payment.Status.FAILED, provider_id="ch_failed")
    PaymentFactory(order=first, gateway=Payment.Gateway.PAYPAL, method=Payment.Method.PAYPAL)
    RefundFactory(order=first, payment=None, status=Refund.Status.PENDING, amount=Decimal("30.00"))
    RefundFactory(order=first, payment=None, status=Refund.Status.SUCCEEDED)

    overview = store_overview(store, day)

    assert overview.orders_count == 2
    assert overview.sales == Decimal("100.00")
    assert [(row["gateway"], row["status"], row["count"]) for row in overview.payments] == [
        ("paypal", "succeeded", 1),
        ("stripe", "failed", 1),
        ("stripe", "succeeded", 1),
    ]
    assert overview.pending_refunds_count == 1
    assert overview.pending_refunds_amount == Decimal("30.00")
    assert len(overview.latest_orders) == 3


def test_home_shows_todays_figures(agent_client, store):
    order = _order_today(store, total_price=Decimal("123.45"))
    RefundFactory(order=order, status=Refund.Status.PENDING, amount=Decimal("20.00"))
    OrderFactory(store=store, created_at=timezone.now() - timedelta(days=3))

    response = agent_client.get("/")

    assert response.status_code == 200
    html = response.text
    assert '<p class="tile-figure" data-testid="orders-today">1</p>' in html
    assert '<p class="tile-figure" data-testid="sales-today">123.45 USD</p>' in html
    assert '<p class="tile-figure" data-testid="pending-refunds">1</p>' in html
    assert "Stripe" in html
    assert order.number in html
    assert "Tiny Pearl Jewelry" in html


def test_home_without_a_store_says_so(agent_client, db):
    response = agent_client.get("/")
    assert response.status_code == 200
    assert "No store yet" in response.text


# session, user, user permissions (2), store, 5 overview queries
HOME_QUERIES = 10


@pytest.mark.parametrize("orders", [1, 15])
def test_home_query_count_is_fixed(agent_client, store, django_assert_num_queries, orders):
    for _ in range(orders):
        order = _order_today(store)
        RefundFactory(order=order, status=Refund.Status.PENDING)
    with django_assert_num_queries(HOME_QUERIES):
        assert agent_client.get("/").status_code == 200
