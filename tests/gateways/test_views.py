"""The account-health and ratio pages and API, through the test client, with pinned query
counts (the same whatever the number of rows)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.gateways.models import AccountHealthCase
from storedesk.gateways.services import CaseIn, do_open_case
from tests.factories import OrderFactory, StoreFactory
from tests.gateways.builders import dispute, payments

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory(timezone="UTC")


@pytest.fixture
def specialist(client, make_user):
    user = make_user(Role.PAYMENTS, username="pat")
    client.force_login(user)
    return user


def _cases(store, n):
    now = timezone.now()
    return [
        do_open_case(
            store,
            CaseIn(
                gateway="stripe",
                kind="payout_hold",
                provider_ref=f"acct_{i}",
                title=f"Payouts paused {i}",
                happened_at=now,
                deadline=now + timedelta(days=n - i),
                required_documents=["external_account"],
            ),
        ).case
        for i in range(n)
    ]


# session, user, permissions (2), count, page, timelines, owners
HEALTH_PAGE_QUERIES = 8


@pytest.mark.parametrize("n", [1, 6])
def test_the_health_page_lists_open_cases_soonest_deadline_first(
    client, specialist, store, n, django_assert_num_queries
):
    cases = _cases(store, n)
    client.get("/gateways/health/")  # the first request of a session also writes it
    with django_assert_num_queries(HEALTH_PAGE_QUERIES):
        response = client.get("/gateways/health/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index(cases[-1].title) <= body.index(cases[0].title)
    assert "external_account" in body


def test_assign_and_resolve_from_the_page(client, specialist, store):
    case = _cases(store, 1)[0]
    client.post(f"/gateways/health/{case.pk}/assign/", {"owner": specialist.pk})
    case.refresh_from_db()
    assert case.owner == specialist
    response = client.post(f"/gateways/health/{case.pk}/resolve/", {"note": "bank fixed"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == AccountHealthCase.Status.RESOLVED
    assert "Payouts paused" not in client.get("/gateways/health/").content.decode()


def test_an_owner_must_be_someone_who_works_cases(client, specialist, store, make_user):
    case = _cases(store, 1)[0]
    agent = make_user(Role.AGENT, username="al")
    client.post(f"/gateways/health/{case.pk}/assign/", {"owner": agent.pk})
    case.refresh_from_db()
    assert case.owner is None


def test_the_account_health_api(client, specialist, store, django_assert_num_queries):
    _cases(store, 3)
    client.get("/api/v1/account-health")
    with django_assert_num_queries(5):  # session, user, permissions (2), one page
        response = client.get("/api/v1/account-health?limit=2")
    assert response.status_code == 200
    page = response.json()
    assert [item["kind"] for item in page["items"]] == ["payout_hold", "payout_hold"]
    assert page["items"][0]["required_documents"] == ["external_account"]
    assert page["next_cursor"]
    rest = client.get(f"/api/v1/account-health?limit=2&cursor={page['next_cursor']}").json()
    assert len(rest["items"]) == 1
    assert client.get("/api/v1/account-health?status=resolved").json()["items"] == []


def _month_over_the_early_warning(store):
    order = OrderFactory(store=store, created_at=datetime(2026, 2, 1, tzinfo=UTC))
    payments(order, 100, datetime(2026, 2, 10, tzinfo=UTC), brand="mastercard")
    march = payments(order, 2, datetime(2026, 3, 2, tzinfo=UTC), brand="mastercard")
    for payment in march:
        dispute(payment, datetime(2026, 3, 3, tzinfo=UTC))


def test_the_ratios_api(client, specialist, store, django_assert_num_queries):
    _month_over_the_early_warning(store)
    client.get("/api/v1/ratios?month=2026-03")
    with django_assert_num_queries(9):  # session, user, permissions (2), store, thresholds, 3
        response = client.get("/api/v1/ratios?month=2026-03")
    assert response.status_code == 200
    body = response.json()
    row = next(r for r in body["rows"] if r["network"] == "mastercard")
    ecm = next(p for p in row["programs"] if p["program"] == "ecm")
    assert (ecm["count"], ecm["transactions"], ecm["ratio"]) == (2, 100, "0.02000")
    assert ecm["level"] == "early_warning"
    assert any("Mastercard ECM" in text for text in body["warnings"])
    bad = client.get("/api/v1/ratios?month=2026-13")
    assert bad.status_code == 400
    assert "YYYY-MM" in bad.json()["message"]


def test_the_ratios_page_shows_the_table_chart_and_warning(
    client, specialist, store, django_assert_num_queries
):
    _month_over_the_early_warning(store)
    client.get("/gateways/ratios/?month=2026-03")
    with django_assert_num_queries(9):  # as the API: the sums are three aggregate queries
        response = client.get("/gateways/ratios/?month=2026-03")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="ratio-chart"' in body
    assert 'class="bar level-early_warning"' in body
    assert 'data-testid="ratio-warnings"' in body
    assert client.get("/gateways/ratios/?month=soon").status_code == 400


def test_a_month_with_no_sales_renders(client, specialist, store):
    response = client.get("/gateways/ratios/?month=2025-01")
    assert response.status_code == 200
    assert 'data-testid="no-ratios"' in response.content.decode()


def test_agents_may_not_see_gateway_health(client, make_user, store):
    client.force_login(make_user(Role.AGENT))
    assert client.get("/gateways/health/").status_code == 403
    assert client.get("/api/v1/ratios").status_code == 403
