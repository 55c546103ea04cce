"""Resolution pages that read: the lists Home links to, the approvals queue (with what an
approver needs, in a fixed number of queries), its navigation badge, and the care budget."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.commerce.queries import store_today
from storedesk.resolutions.models import Approval, CareBudget, Kind, Reason, Resolution
from tests.desk.builders import make_ticket
from tests.factories import CustomerFactory, LineItemFactory, OrderFactory
from tests.pages.resolution_builders import make_approval, make_resolution

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(make_user):
    return make_user(Role.LEAD, username="lead", first_name="Lena")


@pytest.fixture
def lead_client(lead):
    client = Client()
    client.force_login(lead)
    return client


def _customer_order(store, n: int = 0, **fields):
    customer = CustomerFactory(store=store, total_spent=Decimal("640.00"), orders_count=4)
    order = OrderFactory(store=store, customer=customer, total_price=Decimal("120.00"), **fields)
    LineItemFactory(order=order, title=f"Moonstone Ring {n}")
    return order


# --- The lists Home links to ----------------------------------------------------------------


def test_the_list_shows_only_what_its_filter_names(agent_client, agent, store):
    order = _customer_order(store)
    waiting = make_resolution(order, actor=agent, status=Resolution.Status.PROCESSING)
    failed = make_resolution(
        order, actor=agent, status=Resolution.Status.FAILED, error="Stripe: rate limited"
    )
    make_resolution(order, kind=Kind.RESHIP, status=Resolution.Status.PROCESSING)  # not money
    make_resolution(order)  # done

    waiting_page = agent_client.get("/resolutions/?show=refunds_waiting")
    failed_page = agent_client.get("/resolutions/?show=failed")
    everything = agent_client.get("/resolutions/?show=nonsense")

    assert waiting_page.status_code == 200
    assert waiting_page.text.count('<tr class="resolution-row">') == 1
    assert f"/orders/{waiting.order_id}/" in waiting_page.text
    assert failed_page.text.count('<tr class="resolution-row">') == 1
    assert "Stripe: rate limited" in failed_page.text
    assert failed.get_status_display() in failed_page.text
    assert everything.text.count('<tr class="resolution-row">') == 4


@pytest.mark.parametrize("rows", [1, 12])
def test_the_list_query_count_does_not_grow(
    agent_client, agent, store, rows, django_assert_num_queries
):
    order = _customer_order(store)
    ticket = make_ticket(requester=order.email)
    for _ in range(rows):
        make_resolution(order, actor=agent, ticket=ticket)
    # session, user, permissions (2), store, count, page rows (orders, tickets, actors joined)
    with django_assert_num_queries(7):
        response = agent_client.get("/resolutions/")
    assert response.text.count('<tr class="resolution-row">') == rows


# --- The approvals queue --------------------------------------------------------------------


def test_the_queue_shows_what_the_approver_needs(lead_client, agent, store):
    order = _customer_order(store)
    ticket = make_ticket(requester=order.email, subject="Ring arrived bent")
    earlier_order = OrderFactory(store=store, customer=order.customer)
    make_resolution(earlier_order, kind=Kind.COUPON, amount=Decimal("15.00"))
    approval = make_approval(order, requested_by=agent, ticket=ticket, reason="Bent in transit")

    response = lead_client.get("/resolutions/approvals/")

    html = response.text
    assert response.status_code == 200
    assert html.count('class="approval-row panel"') == 1
    assert "Bent in transit" in html
    assert f"#{ticket.number} Ring arrived bent" in html
    assert '<dd data-testid="approval-ltv">640.00 USD</dd>' in html
    history = html.split('data-testid="approval-history"')[1].split("</ul>")[0]
    assert "Coupon" in history
    assert "15.00 USD" in history
    assert earlier_order.number in history
    assert f'action="/resolutions/approvals/{approval.pk}/approve/"' in html
    assert "over the 50.00 limit per action" in html


def test_nobody_is_offered_to_decide_their_own_request(lead_client, lead, store):
    make_approval(_customer_order(store), requested_by=lead)

    html = lead_client.get("/resolutions/approvals/").text

    assert 'data-testid="approval-own"' in html
    assert 'data-testid="approve"' not in html


def test_an_expired_request_is_not_waiting(lead_client, agent, store):
    approval = make_approval(_customer_order(store), requested_by=agent)
    approval.expires_at = timezone.now() - timedelta(minutes=1)
    approval.save(update_fields=["expires_at"])

    assert 'data-testid="approvals-empty"' in lead_client.get("/resolutions/approvals/").text
    assert lead_client.get("/resolutions/approvals/count/").text == ""


def test_agents_cannot_open_the_queue(agent_client, store):
    assert agent_client.get("/resolutions/approvals/").status_code == 403
    assert agent_client.get("/resolutions/approvals/count/").status_code == 403


def test_the_navigation_badge_counts_pending_requests(lead_client, agent, store):
    for n in range(3):
        make_approval(_customer_order(store, n), requested_by=agent)

    page = lead_client.get("/").text
    badge = lead_client.get("/resolutions/approvals/count/")

    assert 'data-testid="nav-approvals"' in page
    assert 'hx-get="/resolutions/approvals/count/"' in page
    assert badge.text == "3"


def test_agents_have_no_approvals_in_the_navigation(agent_client, store):
    assert 'data-testid="nav-approvals"' not in agent_client.get("/").text


@pytest.mark.parametrize("rows", [1, 10])
def test_the_queue_query_count_does_not_grow(
    lead_client, agent, store, rows, django_assert_num_queries
):
    for n in range(rows):
        order = _customer_order(store, n)
        make_resolution(order, kind=Kind.COUPON)  # earlier history of each customer
        make_approval(order, requested_by=agent, ticket=make_ticket(requester=order.email))
    # session, user, permissions (2), store, count, page (requester, resolution, order, risk,
    # customer, ticket joined), the customers' earlier resolutions
    with django_assert_num_queries(8):
        response = lead_client.get("/resolutions/approvals/")
    assert response.text.count('class="approval-row panel"') == rows


# --- The care budget ------------------------------------------------------------------------


def _this_month(store):
    return store_today(store, timezone.now()).replace(day=1)


def test_a_lead_sets_the_plan_and_it_is_audited(lead_client, lead, store):
    month = _this_month(store)
    response = lead_client.post(
        "/resolutions/budget/",
        {
            "month": f"{month:%Y-%m}",
            "refunds": "1000",
            "reships": "200",
            "coupons": "0",
            "gifts": "50",
        },
    )

    assert response.status_code == 302
    budget = CareBudget.objects.get()
    assert (budget.month, budget.refunds, budget.reships, budget.gifts) == (
        month,
        Decimal("1000.00"),
        Decimal("200.00"),
        Decimal("50.00"),
    )
    entry = AuditEntry.objects.get(action="resolutions.budget_set")
    assert entry.actor == lead
    assert Decimal(entry.changes["refunds"][1]) == Decimal("1000")


def test_a_bad_plan_is_refused_and_nothing_is_saved(lead_client, store):
    month = _this_month(store)
    response = lead_client.post(
        "/resolutions/budget/",
        {"month": f"{month:%Y-%m}", "refunds": "-5", "reships": "abc", "coupons": "", "gifts": "1"},
    )
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in response.text
    assert not CareBudget.objects.exists()


def test_agents_read_the_budget_but_cannot_change_it(agent_client, store):
    month = _this_month(store)
    page = agent_client.get("/resolutions/budget/")
    refused = agent_client.post(
        "/resolutions/budget/",
        {"month": f"{month:%Y-%m}", "refunds": "1", "reships": "1", "coupons": "1", "gifts": "1"},
    )
    assert page.status_code == 200
    assert 'data-testid="budget-plan-form"' not in page.text
    assert refused.status_code == 403
    assert not CareBudget.objects.exists()


def test_spend_is_live_by_category_reason_agent_and_product(lead_client, agent, store):
    month = _this_month(store)
    CareBudget.objects.create(
        store=store, month=month, refunds=Decimal("100"), reships=Decimal("100"),
        coupons=Decimal("100"), gifts=Decimal("0"), updated_at=timezone.now(),
    )  # fmt: skip
    order = _customer_order(store)
    make_resolution(order, actor=agent, cost=Decimal("85.00"), reason=Reason.DAMAGED)
    make_resolution(order, actor=agent, kind=Kind.RESHIP, cost=Decimal("40.00"))
    make_resolution(order, kind=Kind.COUPON, cost=Decimal("100.00"), reason=Reason.GOODWILL)
    make_resolution(order, cost=Decimal("999.00"), status=Resolution.Status.FAILED)  # not spent
    last_month = timezone.now() - timedelta(days=40)
    make_resolution(order, cost=Decimal("500.00"), done_at=last_month)  # another month

    html = lead_client.get("/resolutions/budget/").text

    refunds = html.split('data-testid="budget-refunds"')[1].split("</tr>")[0]
    assert '<td class="num">85.00</td><td class="num">15.00</td><td class="num">85%</td>' in refunds
    assert 'class="budget-warn"' in html.split('data-testid="budget-refunds"')[0][-60:]
    assert 'class="budget-over"' in html.split('data-testid="budget-coupons"')[0][-60:]
    assert 'data-testid="budget-warning"' in html
    by_reason = html.split('data-testid="budget-by-reason"')[1].split("</table>")[0]
    assert "Damaged" in by_reason
    assert "Goodwill" in by_reason
    assert "Moonstone Ring 0" in html.split('data-testid="budget-by-product"')[1]


def test_home_warns_when_the_budget_reaches_80_percent(agent_client, store):
    month = _this_month(store)
    CareBudget.objects.create(
        store=store, month=month, refunds=Decimal("100"), updated_at=timezone.now()
    )
    make_resolution(_customer_order(store), cost=Decimal("79.99"))
    assert 'data-testid="home-budget-warning"' not in agent_client.get("/").text

    make_resolution(_customer_order(store, 1), cost=Decimal("0.01"))
    html = agent_client.get("/").text
    assert 'data-testid="home-budget-warning"' in html
    assert "80%" in html.split('data-testid="home-budget-warning"')[1][:300]


@pytest.mark.parametrize("rows", [1, 10])
def test_the_budget_query_count_does_not_grow(
    lead_client, agent, store, rows, django_assert_num_queries
):
    for n in range(rows):
        make_resolution(_customer_order(store, n), actor=agent)
    # session, user, permissions (2), store, plan, spend, by reason, by agent, by product
    with django_assert_num_queries(10):
        response = lead_client.get("/resolutions/budget/")
    assert response.status_code == 200


def test_a_request_for_a_payments_specialist_says_so(lead_client, agent, store):
    approval = make_approval(_customer_order(store), requested_by=agent)
    Approval.objects.filter(pk=approval.pk).update(approver_role=Role.PAYMENTS.value)

    html = lead_client.get("/resolutions/approvals/").text

    assert "for a Payments specialist to decide" in html
