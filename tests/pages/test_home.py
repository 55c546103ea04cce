"""Home: the care team's work waiting (every figure a link to the list it counts) and the
store's day in the viewer's time zone, in a bounded number of queries."""

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from storedesk.accounts.models import Team
from storedesk.accounts.roles import Role
from storedesk.commerce.models import OrderTask, Payment, Refund
from storedesk.commerce.queries import day_bounds, store_overview
from storedesk.desk.models import SavedView
from storedesk.desk.queries import TEAM_QUEUE_COUNTS_KEY
from storedesk.desk.tasks import refresh_inbox_counts
from storedesk.resolutions.models import Kind, Resolution
from storedesk.triage.models import TicketSla
from tests.desk.builders import make_ticket
from tests.factories import OrderFactory, PaymentFactory, RefundFactory
from tests.pages.resolution_builders import make_approval, make_resolution


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

    overview = store_overview(store, day, "America/New_York")

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
    assert "Refunds in progress at the gateway" in html
    assert "Stripe" in html
    assert order.number in html
    assert "Tiny Pearl Jewelry" in html


def test_home_without_a_store_says_so(agent_client, db):
    response = agent_client.get("/")
    assert response.status_code == 200
    assert "No store yet" in response.text


COUNT_LINK = re.compile(
    r'<a class="count-link" data-count="(\d+)" data-testid="([^"]+)" href="([^"]+)"'
)
LIST_ROW = re.compile(r'<(?:tr|li) class="(?:ticket|task|resolution|approval)-row')


def _task(order, kind=OrderTask.Kind.REFUND_NEEDED, status=OrderTask.Status.OPEN):
    return OrderTask.objects.create(
        order=order, kind=kind, status=status, amount=Decimal("20.00"), currency="USD",
        reason="Cancelled after capture", created_at=timezone.now(),
    )  # fmt: skip


def _sla(ticket, *, due_in: timedelta, warn_before=timedelta(hours=1)):
    now = timezone.now()
    TicketSla.objects.update_or_create(
        ticket=ticket,
        defaults={
            "next_due_at": now + due_in,
            "warn_at": now + due_in - warn_before,
            "updated_at": now,
        },
    )


def _work(store, agent, *, tickets: int = 1):
    """Open work of every kind Home counts: teams, an owner, SLA deadlines, saved views, tasks."""
    care, payments = Team.objects.get(slug="care"), Team.objects.get(slug="payments")
    made = []
    for n in range(tickets):
        made += [
            make_ticket(requester=f"care{n}@mail.example", team=care, status="open"),
            make_ticket(requester=f"mine{n}@mail.example", team=care, assignee=agent, priority=4),
            make_ticket(requester=f"pay{n}@mail.example", team=payments, status="pending"),
            make_ticket(requester=f"hold{n}@mail.example", status="on_hold"),
        ]
        _sla(made[-4], due_in=-timedelta(minutes=5))  # breached
        _sla(made[-3], due_in=timedelta(minutes=20))  # due soon
        _sla(made[-2], due_in=timedelta(days=2))  # far off: neither
        order = OrderFactory(store=store)
        _task(order)
        _task(OrderFactory(store=store), status=OrderTask.Status.DONE)
        _resolutions(order, agent)
    SavedView.objects.create(name="Payments team", owner=agent, filters={"team": str(payments.pk)})
    return made


def _resolutions(order, agent):
    """One of each resolution Home counts, and others it must not: a refund at the gateway,
    a failed call, an approval waiting, a reship at the gateway (not a refund), one done."""
    make_resolution(order, actor=agent, status=Resolution.Status.PROCESSING)
    make_resolution(order, actor=agent, status=Resolution.Status.FAILED, error="rate limited")
    make_approval(order, requested_by=agent)
    make_resolution(order, kind=Kind.RESHIP, status=Resolution.Status.PROCESSING)
    make_resolution(order, actor=agent)


def test_every_home_number_is_the_row_count_of_the_list_it_links_to(agent_client, agent, store):
    _work(store, agent, tickets=2)

    html = agent_client.get("/").text
    links = {
        testid: (int(count), url.replace("&amp;", "&"))
        for count, testid, url in COUNT_LINK.findall(html)
    }

    care, payments = Team.objects.get(slug="care"), Team.objects.get(slug="payments")
    assert {testid: count for testid, (count, _url) in links.items()} == {
        "view-overdue": 2,
        "view-sla_at_risk": 4,
        "tasks-refund_needed": 2,
        "resolutions-refunds_waiting": 2,
        "resolutions-failed": 2,
        "view-mine": 2,
        "view-unassigned": 6,
        "view-open": 8,
        "view-urgent": 2,
        "view-pending": 2,
        "view-on_hold": 2,
        f"view-saved:{SavedView.objects.get().pk}": 2,
        f"team-{care.pk}": 4,
        f"team-{Team.objects.get(slug='fulfillment').pk}": 0,
        f"team-{payments.pk}": 2,
        f"team-{Team.objects.get(slug='product-quality').pk}": 0,
    }
    for testid, (count, url) in links.items():
        listed = agent_client.get(url)
        assert listed.status_code == 200, testid
        assert len(LIST_ROW.findall(listed.text)) == count, (testid, url)


def test_a_lead_sees_approvals_waiting_as_the_queue_lists_them(client, make_user, agent, store):
    _work(store, agent, tickets=3)
    expired = make_approval(OrderFactory(store=store), requested_by=agent)
    expired.expires_at = timezone.now() - timedelta(minutes=1)
    expired.save(update_fields=["expires_at"])  # past its time: no longer waiting
    client.force_login(make_user(Role.LEAD, username="lead"))

    html = client.get("/").text
    links = {
        testid: (int(count), url.replace("&amp;", "&"))
        for count, testid, url in COUNT_LINK.findall(html)
    }

    assert links["resolutions-approvals"] == (3, "/resolutions/approvals/")
    for testid in ("resolutions-approvals", "resolutions-refunds_waiting", "resolutions-failed"):
        count, url = links[testid]
        assert len(LIST_ROW.findall(client.get(url).text)) == count, testid
    assert "Budget left" in html


def test_home_counts_a_refund_task_that_waits(agent_client, store):
    _task(OrderFactory(store=store))

    html = agent_client.get("/").text

    assert 'data-count="1" data-testid="tasks-refund_needed"' in html
    assert 'href="/tasks/?kind=refund_needed&amp;status=open"' in html


def test_home_today_is_the_viewers_day_not_the_stores(agent_client, agent, store, monkeypatch):
    day = timezone.now().date()
    viewer_now = datetime.combine(day, time(2, 0), tzinfo=UTC)  # 09:00 in Hanoi, evening in NY
    agent.timezone = "Asia/Ho_Chi_Minh"
    agent.save(update_fields=["timezone"])
    OrderFactory(store=store, created_at=viewer_now - timedelta(hours=1))  # today in both
    OrderFactory(store=store, created_at=viewer_now - timedelta(hours=16))  # Hanoi: yesterday
    monkeypatch.setattr(timezone, "now", lambda: viewer_now)

    html = agent_client.get("/").text

    assert f'data-testid="home-day">{day:%Y-%m-%d} · Asia/Ho_Chi_Minh<' in html
    assert '<p class="tile-figure" data-testid="orders-today">1</p>' in html


# Session, user, permissions (2), store, saved views, task counts, 5 overview queries and 4 for
# the resolution tiles (the store as their section reads it, counts, the month's budget plan
# and its spend); the inbox's view counts
# (team and personal) and the team queues (2) are kept for `COUNTS_FRESH_FOR`, so only a cold
# cache counts them.
HOME_QUERIES_KEPT = 16
HOME_QUERIES_COLD = HOME_QUERIES_KEPT + 4


@pytest.mark.parametrize("tickets", [1, 15])
def test_home_query_count_is_bounded(
    agent_client, agent, store, django_assert_max_num_queries, tickets
):
    _work(store, agent, tickets=tickets)
    for _ in range(tickets):
        order = _order_today(store)
        RefundFactory(order=order, status=Refund.Status.PENDING)
    with django_assert_max_num_queries(HOME_QUERIES_COLD):
        assert agent_client.get("/").status_code == 200
    with django_assert_max_num_queries(HOME_QUERIES_KEPT):
        assert agent_client.get("/").status_code == 200


def test_the_inbox_counting_job_keeps_the_team_queues_home_shows(agent_client, agent, store):
    _work(store, agent)
    refresh_inbox_counts.call()
    care = Team.objects.get(slug="care")
    make_ticket(requester="late@mail.example", team=care, status="open")  # after the count

    html = agent_client.get("/").text

    assert cache.get(TEAM_QUEUE_COUNTS_KEY) is not None
    assert f'data-count="2" data-testid="team-{care.pk}"' in html  # as counted, for 30 s
