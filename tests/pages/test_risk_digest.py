"""The payment digest page and its drill-down lists: who may open them, what they show, bad
input, and a fixed number of queries whatever the day holds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.commerce.queries import store_today
from tests.factories import StoreFactory
from tests.risk.digest_data import Shop, at, quiet_day, quiet_history

PAGES = ["/risk/digest/", "/risk/digest/orders/?filter=orders"]


@pytest.fixture
def store(db):
    return StoreFactory(timezone="America/New_York")


@pytest.fixture
def yesterday(store):
    return store_today(store, timezone.now()) - timedelta(days=1)


@pytest.fixture
def busy(store, yesterday):
    """Four quiet weeks, then yesterday: a quiet day plus a card-testing burst."""
    shop = Shop(store)
    quiet_history(shop, before=yesterday)
    quiet_day(shop, yesterday)
    shop.order(at(yesterday, 14, 10), ip="45.77.51.50", declines=12, total=Decimal("19.00"))
    return shop.save()


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, store, page):
    response = client.get(page)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


@pytest.mark.parametrize("page", PAGES)
def test_a_user_without_a_role_gets_the_friendly_403(client, make_user, store, page):
    client.force_login(make_user(None, username="norole"))
    assert client.get(page).status_code == 403


@pytest.mark.parametrize("role", [Role.AGENT, Role.LEAD, Role.PAYMENTS, Role.ADMIN])
@pytest.mark.parametrize("page", PAGES)
def test_every_role_that_sees_risk_can_open_the_digest(client, make_user, store, role, page):
    client.force_login(make_user(role, username=f"u-{role}"))
    assert client.get(page).status_code == 200


def test_yesterday_by_default_with_its_figures_and_anomalies(agent_client, busy, yesterday):
    response = agent_client.get("/risk/digest/")

    html = response.text
    assert response.status_code == 200
    assert f'value="{yesterday:%Y-%m-%d}"' in html
    day = f"{yesterday:%Y-%m-%d}"
    assert (
        f'data-testid="digest-orders" href="/risk/digest/orders/?date={day}&amp;filter=orders">13<'
        in html
    )
    assert 'data-testid="digest-declined" href' in html
    assert html.count('data-testid="anomaly"') == 2
    assert "Card testing: declined payments from one IP" in html
    assert "filter=anomaly&amp;value=decline_burst_ip&amp;key=45.77.51.50" in html
    assert 'data-testid="digest-early-fraud-warnings">0<' in html  # none warned that day
    assert 'rel="next"' in html  # yesterday has a next day: today
    assert f'href="/risk/digest/?date={yesterday - timedelta(days=1):%Y-%m-%d}"' in html


def test_today_has_no_next_day_and_is_marked_partial(agent_client, store):
    today = store_today(store, timezone.now())
    response = agent_client.get(f"/risk/digest/?date={today:%Y-%m-%d}")
    assert response.status_code == 200
    assert 'rel="next"' not in response.text
    assert "This day is not over yet" in response.text


def test_a_day_without_data(agent_client, store):
    response = agent_client.get("/risk/digest/?date=2024-02-29")
    assert response.status_code == 200
    assert 'data-testid="digest-quiet"' in response.text
    assert "Anomalies need at least 7 days of order history" in response.text


@pytest.mark.parametrize(
    ("date_text", "message"),
    [
        ("2026-02-30", "“2026-02-30” is not a date. Use the form YYYY-MM-DD"),
        ("<script>", "“&lt;script&gt;” is not a date."),
        ("2999-01-01", "2999-01-01 has not happened yet"),
        ("1999-12-31", "Digests start on 2000-01-01."),
    ],
)
def test_a_bad_date_is_a_clear_message(agent_client, store, date_text, message):
    response = agent_client.get("/risk/digest/", {"date": date_text})
    assert response.status_code == 400
    assert message in response.text
    assert '<input id="digest-date" type="date" name="date"' in response.text


def test_without_a_store(agent_client, db):
    response = agent_client.get("/risk/digest/")
    assert response.status_code == 200
    assert "No store yet" in response.text


# session, user, user and group permissions, store; then the digest: first order, orders,
# payments, decisions, refunds, disputes, early fraud warnings, flag reasons, the anomalies'
# orders and payments, and the month's network ratios (card payments, chargebacks, early
# fraud warnings, thresholds in force), and the month's care budget (plan, spend)
QUIET_QUERIES = 21
BUSY_QUERIES = QUIET_QUERIES + 1  # the anomalies' order totals


def test_the_digest_page_query_count_is_fixed(
    agent_client, store, yesterday, django_assert_num_queries
):
    shop = Shop(store)
    quiet_history(shop, before=yesterday)
    quiet_day(shop, yesterday)
    shop.save()
    with django_assert_num_queries(QUIET_QUERIES):
        assert agent_client.get("/risk/digest/").status_code == 200


def test_the_digest_page_query_count_with_anomalies(agent_client, busy, django_assert_num_queries):
    with django_assert_num_queries(BUSY_QUERIES):
        assert agent_client.get("/risk/digest/").status_code == 200


def test_the_drill_down_lists_an_anomalys_orders(agent_client, busy, yesterday):
    response = agent_client.get(
        "/risk/digest/orders/",
        {
            "date": f"{yesterday:%Y-%m-%d}",
            "filter": "anomaly",
            "value": "decline_burst_ip",
            "key": "45.77.51.50",
        },
    )
    assert response.status_code == 200
    assert "Card testing: declined payments from one IP" in response.text
    assert busy[-1].number in response.text
    assert "1 order, newest first." in response.text


def test_the_drill_down_is_paginated_with_its_filter_kept(agent_client, busy, yesterday):
    day = f"{yesterday - timedelta(days=5):%Y-%m-%d}"
    shop = Shop(busy[0].store, first_number=90_000)
    for n in range(45):
        shop.order(at(yesterday - timedelta(days=5), 8, n), email=f"many{n}@gmail.com")
    shop.save()

    response = agent_client.get("/risk/digest/orders/", {"date": day, "filter": "orders"})

    assert "57 orders, newest first." in response.text
    assert f"?date={day}&amp;filter=orders&amp;page=2" in response.text
    page_two = agent_client.get(
        "/risk/digest/orders/", {"date": day, "filter": "orders", "page": "2"}
    )
    assert page_two.status_code == 200
    assert "Page 2 of 2" in page_two.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter": "nope"}, "There is no list called “nope”."),
        ({"filter": "rule", "value": "x"}, "A rule is named by its number."),
        ({"filter": "orders", "date": "soon"}, "“soon” is not a date."),
    ],
)
def test_the_drill_down_refuses_bad_input(agent_client, store, params, message):
    response = agent_client.get("/risk/digest/orders/", params)
    assert response.status_code == 400
    assert message in response.text


# session, user, permissions (2), store, then the count and one page of orders with customers
DRILL_DOWN_QUERIES = 7


@pytest.mark.parametrize("extra", [0, 30])
def test_the_drill_down_query_count_is_fixed(
    agent_client, store, yesterday, django_assert_num_queries, extra
):
    shop = Shop(store)
    quiet_day(shop, yesterday)
    for n in range(extra):
        shop.order(at(yesterday, 7, n), email=f"extra{n}@gmail.com")
    shop.save()
    with django_assert_num_queries(DRILL_DOWN_QUERIES):
        response = agent_client.get("/risk/digest/orders/", {"filter": "orders"})
    assert response.status_code == 200


def test_the_home_page_links_to_the_digest(agent_client, store):
    assert 'href="/risk/digest/"' in agent_client.get("/").text


@pytest.fixture
def disputed(busy, yesterday):
    """A fraud dispute opened yesterday on one of yesterday's orders."""
    from storedesk.disputes.models import Dispute

    order = busy[-1]
    return Dispute.objects.create(
        order=order,
        payment=order.payments.first(),
        gateway="stripe",
        provider_id="dp_reason_test",
        reason="fraudulent",
        status="needs_response",
        amount=Decimal("19.00"),
        currency="USD",
        opened_at=at(yesterday, 15),
    )


# Dispute reasons are for the roles that work disputes (README: "Who sees what").
SEES_DISPUTE_REASONS = {Role.AGENT: False, Role.LEAD: False, Role.PAYMENTS: True, Role.ADMIN: True}


@pytest.mark.parametrize("role", list(SEES_DISPUTE_REASONS))
def test_dispute_reasons_show_only_to_roles_that_work_disputes(client, make_user, disputed, role):
    client.force_login(make_user(role, username=f"u-{role}"))
    response = client.get("/risk/digest/")
    assert response.status_code == 200
    assert response.context["digest"].disputes_count.value == 1
    shown = "filter=dispute&amp;value=fraudulent" in response.text
    assert shown is SEES_DISPUTE_REASONS[role]
    assert ('data-testid="digest-dispute-reasons-hidden"' in response.text) is not shown


@pytest.mark.parametrize("role", list(SEES_DISPUTE_REASONS))
def test_the_disputed_orders_list_needs_the_dispute_permission(
    client, make_user, disputed, yesterday, role
):
    client.force_login(make_user(role, username=f"u-{role}"))
    response = client.get(f"/risk/digest/orders/?date={yesterday}&filter=dispute&value=fraudulent")
    assert response.status_code == (200 if SEES_DISPUTE_REASONS[role] else 403)
    assert (disputed.order.number in response.text) is SEES_DISPUTE_REASONS[role]


def test_the_digest_page_shows_the_network_ratio_watch(agent_client, store, yesterday):
    from tests.factories import OrderFactory
    from tests.gateways.builders import dispute, payments

    start = at(yesterday.replace(day=1), 1)
    order = OrderFactory(store=store, created_at=start)
    sold = payments(order, 40, start, brand="visa")
    for payment in sold[:4]:
        dispute(payment, start)

    page = agent_client.get("/risk/digest/").content.decode()

    assert 'data-testid="digest-ratio-warnings"' in page
    assert "Visa VAMP" in page
    assert "4 counted so far on 40 transactions" in page
