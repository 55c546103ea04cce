"""Deciding approvals and editing the limits, through the pages and the real services: a lead
approves, approves a lower amount, or declines with a reason; nobody decides their own; the
limits page saves a new version each time, refuses bad values, and shows the history."""

from decimal import Decimal

import pytest
from django.test import Client

from storedesk.accounts.roles import Role
from storedesk.commerce.models import Refund
from storedesk.desk.models import Message, TicketEvent
from storedesk.resolutions.limits import current_limits
from storedesk.resolutions.models import Approval, Resolution, ResolutionLimits
from storedesk.resolutions.services import do_request_resolution
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
def lead(make_user):
    return make_user(Role.LEAD, username="lena", first_name="Lena")


@pytest.fixture
def lead_client(lead):
    client = Client()
    client.force_login(lead)
    return client


@pytest.fixture
def asked(agent):
    """An agent's $80 partial refund of a $120 demo-store order, over the $50 limit."""
    store = StoreFactory(is_demo=True)
    customer = CustomerFactory(store=store, email="olivia@mail.example", first_name="Olivia")
    order = OrderFactory(
        store=store, customer=customer, subtotal_price=Decimal("120"), total_price=Decimal("120")
    )
    LineItemFactory(order=order, price=Decimal("120.00"))
    PaymentFactory(order=order)
    ticket = make_ticket(requester="olivia@mail.example", subject="Ring arrived bent")
    ticket.orders.add(order)
    resolution = do_request_resolution(
        actor=agent,
        order=order,
        kind="partial_refund",
        amount="80.00",
        currency="USD",
        reason="damaged",
        note="Bent in transit; photos attached",
        ticket=ticket,
        idempotency_key="asked-1",
    )
    return resolution.approval


def test_a_lead_lowers_the_amount_and_approves(lead_client, lead, asked):
    response = lead_client.post(f"/resolutions/approvals/{asked.pk}/approve/", {"amount": "60.00"})

    assert response.status_code == 302
    messages = lead_client.get(response["Location"]).text
    assert "Approved: Partial refund on order" in messages
    asked.refresh_from_db()
    assert (asked.status, asked.approver, asked.approved_amount) == (
        Approval.Status.APPROVED,
        lead,
        Decimal("60.00"),
    )
    resolution = asked.resolution
    resolution.refresh_from_db()
    assert (resolution.status, resolution.amount) == (Resolution.Status.DONE, Decimal("60.00"))
    assert Refund.objects.get().amount == Decimal("60.00")
    steps = [e.data["step"] for e in TicketEvent.objects.filter(kind="resolution").order_by("pk")]
    assert steps == [
        "approval_requested",
        "approval_approved",
        "resolution_started",
        "resolution_done",
    ]
    reply = Message.objects.get(ticket=resolution.ticket, kind="outbound")
    assert "$60.00" in reply.text


def test_approve_as_asked(lead_client, asked):
    lead_client.post(f"/resolutions/approvals/{asked.pk}/approve/", {"amount": ""})
    asked.refresh_from_db()
    assert asked.approved_amount == Decimal("80.00")


def test_a_higher_amount_is_refused(lead_client, asked):
    response = lead_client.post(
        f"/resolutions/approvals/{asked.pk}/approve/", {"amount": "95.00"}, follow=True
    )
    assert "An approval can lower the amount, not raise it" in response.text
    asked.refresh_from_db()
    assert asked.status == Approval.Status.PENDING


def test_a_bad_amount_is_refused_with_its_reason(lead_client, asked):
    response = lead_client.post(
        f"/resolutions/approvals/{asked.pk}/approve/", {"amount": "lots"}, follow=True
    )
    assert "Enter an amount as a number, such as 12.50." in response.text
    assert Approval.objects.get().status == Approval.Status.PENDING


def test_a_lead_declines_with_a_reason(lead_client, asked):
    empty = lead_client.post(
        f"/resolutions/approvals/{asked.pk}/decline/", {"reason": " "}, follow=True
    )
    declined = lead_client.post(
        f"/resolutions/approvals/{asked.pk}/decline/",
        {"reason": "Offer a reship instead"},
        follow=True,
    )

    assert "Say why the request is declined." in empty.text
    assert "Declined: Partial refund on order" in declined.text
    asked.refresh_from_db()
    assert (asked.status, asked.decline_reason) == ("declined", "Offer a reship instead")
    event = TicketEvent.objects.filter(kind="resolution").order_by("pk").last()
    assert event.data["step"] == "resolution_declined"
    page = lead_client.get(f"/desk/tickets/{asked.resolution.ticket.number}/").text
    assert "declined Partial refund 80.00 USD: Offer a reship instead" in page
    assert not Refund.objects.exists()


def test_nobody_approves_their_own_request(agent, asked, make_user):
    # An agent who became a lead still cannot decide what they asked for.
    agent.groups.add(*make_user(Role.LEAD, username="other-lead").groups.all())
    client = Client()
    client.force_login(agent)

    response = client.post(f"/resolutions/approvals/{asked.pk}/approve/", {}, follow=True)

    assert "Nobody approves their own request" in response.text
    assert Approval.objects.get().status == Approval.Status.PENDING


def test_agents_cannot_decide(agent_client, asked):
    assert agent_client.post(f"/resolutions/approvals/{asked.pk}/approve/").status_code == 403
    assert agent_client.post(f"/resolutions/approvals/{asked.pk}/decline/").status_code == 403


def test_an_unknown_approval_is_a_404(lead_client, db):
    assert lead_client.post("/resolutions/approvals/999999/approve/").status_code == 404


# --- Limits --------------------------------------------------------------------------------------


def _limits_form(client) -> dict:
    """The limits page's form as it is shown (every box with its current value)."""
    html = client.get("/resolutions/limits/").text
    data = {}
    for chunk in html.split("<input")[1:]:
        attributes = chunk.split(">")[0]
        if 'name="' not in attributes or "csrfmiddlewaretoken" in attributes:
            continue
        name = attributes.split('name="')[1].split('"')[0]
        if 'type="checkbox"' in attributes:
            if " checked" in attributes:
                data[name] = "on"
            continue
        data[name] = attributes.split('value="')[1].split('"')[0] if 'value="' in attributes else ""
    return data


def test_the_limits_page_shows_the_built_in_limits(lead_client):
    html = lead_client.get("/resolutions/limits/").text
    assert "The built-in limits (no version saved yet)." in html
    assert 'name="agent.refund.max_amount"' in html
    assert 'value="50.00"' in html
    assert 'name="agent.refund.max_share"' in html
    assert 'value="30"' in html


def test_saving_makes_a_new_version_with_its_note(lead_client, lead):
    data = _limits_form(lead_client) | {"agent.refund.max_amount": "75", "note": "Peak season"}

    response = lead_client.post("/resolutions/limits/", data)

    assert response.status_code == 302
    saved = ResolutionLimits.objects.get()
    assert (saved.version, saved.note, saved.changed_by) == (1, "Peak season", lead)
    assert current_limits()["agent"]["refund"]["max_amount"] == "75.00"
    assert current_limits()["agent"]["refund"]["max_share"] == "0.30"  # untouched
    page = lead_client.get("/resolutions/limits/").text
    assert "Version 1, saved by" in page
    assert "Peak season" in page.split('data-testid="limits-history"')[1]


def test_saving_unchanged_limits_makes_no_new_version(lead_client):
    lead_client.post("/resolutions/limits/", _limits_form(lead_client) | {"note": "first"})
    again = lead_client.post("/resolutions/limits/", _limits_form(lead_client), follow=True)

    assert ResolutionLimits.objects.count() == 1
    assert "Nothing changed; no new version." in again.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("agent.refund.max_amount", "-1", "greater than or equal to 0"),
        ("agent.refund.max_share", "150", "less than or equal to 100"),
        ("lead.reship.reships_per_order", "1.5", "Enter a whole number."),
        ("agent.coupon.max_amount", "ten", "Enter a number."),
    ],
)
def test_bad_values_are_refused_and_nothing_is_saved(lead_client, field, value, message):
    response = lead_client.post("/resolutions/limits/", _limits_form(lead_client) | {field: value})

    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert not ResolutionLimits.objects.exists()


def test_agents_cannot_open_the_limits(agent_client):
    assert agent_client.get("/resolutions/limits/").status_code == 403
    assert agent_client.post("/resolutions/limits/", {}).status_code == 403


@pytest.mark.parametrize("versions", [1, 6])
def test_the_limits_page_query_count_does_not_grow(
    lead_client, lead, versions, django_assert_num_queries
):
    for n in range(versions):
        data = _limits_form(lead_client) | {"agent.coupon.max_amount": str(30 + n)}
        lead_client.post("/resolutions/limits/", data)
    # session, user, permissions (2), latest version, history
    with django_assert_num_queries(6):
        response = lead_client.get("/resolutions/limits/")
    assert response.text.count('<td class="num">') == versions
