"""The Resolve panel on the order and the ticket page, through the Django test client and the
real services (the demo store's gateway): the cost preview and the limit verdict before
confirming, the outcome in place of the panel, one action per idempotency key, and every bad
input answered with its reason, never a 500."""

from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import Refund
from storedesk.desk.models import TicketEvent
from storedesk.disputes.models import Dispute
from storedesk.resolutions.models import Approval, Kind, Resolution
from tests.desk.builders import make_ticket
from tests.factories import (
    CustomerFactory,
    LineItemFactory,
    OrderFactory,
    PaymentFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_store(db):
    return StoreFactory(is_demo=True)


@pytest.fixture
def paid_order(demo_store):
    """A $120 order (a $100 ring and a $20 chain) paid and captured, with a ticket about it."""
    customer = CustomerFactory(store=demo_store, email="olivia@mail.example")
    order = OrderFactory(
        store=demo_store,
        customer=customer,
        subtotal_price=Decimal("120.00"),
        total_price=Decimal("120.00"),
    )
    LineItemFactory(order=order, title="Moonstone Ring", price=Decimal("100.00"))
    LineItemFactory(order=order, title="Silver Chain", price=Decimal("20.00"))
    PaymentFactory(order=order)
    return order


@pytest.fixture
def ticket(paid_order):
    ticket = make_ticket(requester="olivia@mail.example", subject="Ring arrived bent")
    ticket.orders.add(paid_order)
    return ticket


def _panel(client, order, ticket=None):
    url = f"/resolutions/orders/{order.pk}/panel/"
    return client.get(url + (f"?ticket={ticket.number}" if ticket else ""))


def _key(html: str) -> str:
    return html.split('name="idempotency_key" value="')[1].split('"')[0]


def _submit(client, order, key, *, ticket=None, **fields):
    data = {"idempotency_key": key, "kind": "partial_refund", "reason": "damaged", **fields}
    if ticket:
        data["ticket"] = ticket.number
    return client.post(f"/resolutions/orders/{order.pk}/resolve/", data, HTTP_HX_REQUEST="true")


def test_the_order_and_ticket_pages_offer_the_panel(agent_client, paid_order, ticket):
    order_page = agent_client.get(f"/orders/{paid_order.pk}/").text
    ticket_page = agent_client.get(f"/desk/tickets/{ticket.number}/").text

    assert f'hx-get="/resolutions/orders/{paid_order.pk}/panel/"' in order_page
    assert f'hx-get="/resolutions/orders/{paid_order.pk}/panel/?ticket={ticket.number}"' in (
        ticket_page
    )


def test_each_showing_of_the_panel_has_its_own_key(agent_client, paid_order, ticket):
    first, second = _panel(agent_client, paid_order, ticket), _panel(agent_client, paid_order)

    assert first.status_code == 200
    assert _key(first.text) != _key(second.text)
    assert f'name="ticket" value="{ticket.number}"' in first.text
    assert "Moonstone Ring" in first.text  # the items to choose from
    assert "Amount (USD)" in first.text


def test_the_preview_shows_cost_refundable_and_the_limit(agent_client, paid_order):
    url = f"/resolutions/orders/{paid_order.pk}/preview/"
    base = {"idempotency_key": "k" * 32, "kind": "partial_refund", "reason": "damaged"}

    within = agent_client.post(url, {**base, "amount": "30.00"})
    over = agent_client.post(url, {**base, "amount": "80.00"})

    assert within.status_code == 200
    assert 'data-testid="preview-within"' in within.text
    assert '<dd class="num" data-testid="preview-amount">30.00 USD</dd>' in within.text
    assert "Gateway fee not returned" in within.text
    assert "90.00 USD" in within.text.split('data-testid="preview-refundable"')[1][:40]
    assert 'data-testid="demo-gateway"' in within.text
    assert 'data-testid="preview-approval"' in over.text
    assert "over the 50.00 limit per action" in over.text
    assert not Resolution.objects.exists()  # a preview writes nothing


def test_within_the_limit_it_is_done_at_once_and_on_the_timeline(
    agent_client, agent, paid_order, ticket
):
    key = _key(_panel(agent_client, paid_order, ticket).text)

    response = _submit(agent_client, paid_order, key, ticket=ticket, amount="30.00")

    assert response.status_code == 200
    assert 'data-status="done"' in response.text
    assert "Demo gateway: no money moved." in response.text
    resolution = Resolution.objects.get()
    assert (resolution.status, resolution.amount, resolution.actor) == (
        "done",
        Decimal("30.00"),
        agent,
    )
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED
    assert _key(response.text) != key  # the panel offers a new action, with a new key
    appended = response.text.split('hx-swap-oob="beforeend:#conversation"')[1]
    assert appended.count('data-testid="resolution-event"') == 2  # on the timeline at once
    assert "Partial refund 30.00 USD done (Damaged)" in appended
    steps = [e.data["step"] for e in TicketEvent.objects.filter(ticket=ticket, kind="resolution")]
    assert steps == ["resolution_started", "resolution_done"]
    page = agent_client.get(f"/desk/tickets/{ticket.number}/").text
    assert 'data-step="resolution_done"' in page
    assert "Partial refund 30.00 USD done (Damaged)" in page


def test_a_double_click_does_one_thing(agent_client, paid_order, ticket):
    key = _key(_panel(agent_client, paid_order, ticket).text)

    first = _submit(agent_client, paid_order, key, ticket=ticket, amount="30.00")
    second = _submit(agent_client, paid_order, key, ticket=ticket, amount="30.00")

    assert first.status_code == second.status_code == 200
    assert 'data-status="done"' in second.text
    assert Resolution.objects.count() == 1
    assert Refund.objects.count() == 1


def test_over_the_limit_it_needs_a_reason_then_waits_for_approval(
    agent_client, agent, paid_order, ticket
):
    key = _key(_panel(agent_client, paid_order, ticket).text)

    no_reason = _submit(agent_client, paid_order, key, ticket=ticket, amount="80.00")
    asked = _submit(
        agent_client, paid_order, key, ticket=ticket, amount="80.00", note="Bent in transit"
    )

    assert no_reason.status_code == 400
    assert "Over your limits: say why, for the approver." in no_reason.text
    assert asked.status_code == 200
    assert 'data-status="pending_approval"' in asked.text
    approval = Approval.objects.get()
    assert (approval.requested_by, approval.reason) == (agent, "Bent in transit")
    assert approval.requested_amount == Decimal("80.00")
    assert not Refund.objects.exists()  # no money moves before someone approves


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"amount": "0"}, "Enter an amount above zero."),
        ({"amount": "-5"}, "Enter an amount above zero."),
        ({"amount": "twelve"}, "Enter an amount as a number, such as 12.50."),
        ({"amount": "12.345"}, "USD amounts have at most 2 decimal places."),
        ({"amount": ""}, "Enter an amount, or choose items or the shipping."),
        ({"amount": "10", "reason": ""}, "Choose the reason for this resolution."),
        ({"amount": "10", "kind": "bribe"}, "Select a valid choice."),
        ({"amount": "10", "lines": ["999999"]}, "Select a valid choice."),
        ({"kind": "store_credit"}, "Enter the credit&#x27;s amount."),
        ({"kind": "no_compensation"}, "Say why nothing is given."),
        ({"kind": "coupon", "amount": "5", "coupon_percent": "10"}, "not both"),
    ],
)
def test_bad_input_is_refused_with_its_reason(agent_client, paid_order, fields, message):
    key = _key(_panel(agent_client, paid_order).text)

    response = _submit(agent_client, paid_order, key, **fields)

    assert response.status_code == 400
    assert message in response.text
    assert not Resolution.objects.exists()


def test_more_than_refundable_is_refused_by_the_service(agent_client, make_user, paid_order):
    lead_client = agent_client
    lead_client.force_login(make_user(Role.LEAD, username="lena"))
    key = _key(_panel(lead_client, paid_order).text)

    response = _submit(lead_client, paid_order, key, amount="150.00")

    assert response.status_code == 422
    assert "more than order" in response.text
    assert AuditEntry.objects.filter(action="resolution.attempt_refused").exists()


def test_an_open_chargeback_refuses_and_links_the_dispute(agent_client, paid_order):
    Dispute.objects.create(
        order=paid_order,
        payment=paid_order.payments.get(),
        gateway="stripe",
        provider_id="dp_1Open",
        kind=Dispute.Kind.CHARGEBACK,
        status="needs_response",
        amount=Decimal("120.00"),
        currency="USD",
        reason="fraudulent",
        opened_at=timezone.now(),
    )
    key = _key(_panel(agent_client, paid_order).text)

    response = _submit(agent_client, paid_order, key, amount="20.00")

    assert response.status_code == 409
    assert 'data-status="refused"' in response.text
    assert "open chargeback (dp_1Open)" in response.text
    assert 'data-testid="dispute-link"' in response.text
    assert Resolution.objects.get().status == Resolution.Status.REFUSED
    assert not Refund.objects.exists()


def test_a_percent_coupon_is_worth_its_share_of_the_order(agent_client, paid_order):
    key = _key(_panel(agent_client, paid_order).text)

    response = _submit(
        agent_client,
        paid_order,
        key,
        kind="coupon",
        coupon_percent="10",
        coupon_expires_on="2099-01-31",
    )

    assert response.status_code == 200
    coupon = Resolution.objects.get()
    assert (coupon.kind, coupon.amount) == (Kind.COUPON, Decimal("12.00"))
    assert "Coupon: 10% off." in coupon.note
    assert "2099-01-31" in coupon.note
    assert coupon.platform_reference  # the code the customer gets


def test_agents_without_the_permission_cannot_open_the_panel(client, make_user, paid_order):
    client.force_login(make_user(None, username="nobody"))
    assert _panel(client, paid_order).status_code == 403


def test_an_unknown_order_is_a_404(agent_client, demo_store):
    assert agent_client.get("/resolutions/orders/999999/panel/").status_code == 404


@pytest.mark.parametrize("rows", [1, 8])
def test_the_panel_query_count_does_not_grow(
    agent_client, paid_order, rows, django_assert_num_queries
):
    for _ in range(rows):
        LineItemFactory(order=paid_order)
    # session, user, permissions (2), order with store, line items, earlier resolutions
    with django_assert_num_queries(7):
        response = _panel(agent_client, paid_order)
    assert response.status_code == 200
