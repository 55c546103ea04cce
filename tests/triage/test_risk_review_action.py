"""The routing rule action `risk_review`: a risk review opened (or reused) on the ticket's
orders, once, recorded on the ticket's timeline, the review's timeline and the audit log."""

import pytest

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.core.models import DomainEvent
from storedesk.desk.models import TicketEvent
from storedesk.desk.services import do_open_ticket, do_receive_message
from storedesk.risk.models import OrderRisk, RiskDecision
from storedesk.risk.review import do_open_review_for_ticket
from storedesk.risk.services import do_install_defaults, do_rescore_orders, do_score_orders
from storedesk.triage.services import do_save_rule
from storedesk.triage.tasks import on_message_received
from tests.desk.builders import inbound
from tests.factories import OrderFactory, PaymentFactory, StoreFactory
from tests.risk.review_fixtures import order_in_review
from tests.triage.workflow_helpers import analyse

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(make_user):
    lead = make_user(Role.LEAD, username="lead")
    do_install_defaults(lead)
    return lead


@pytest.fixture
def order():
    order = PaymentFactory().order
    do_score_orders([order.pk])
    assert OrderRisk.objects.get(order=order).status == "clear"
    return order


def _threat(django_capture_on_commit_callbacks, order, text="I will file a chargeback"):
    """A customer's message on a ticket about the order, analysed, then the triage handler."""
    with django_capture_on_commit_callbacks(execute=False):
        ticket = do_open_ticket(
            channel="email", requester_email=order.email, subject="My order", orders=[order]
        )
        message = do_receive_message(ticket, inbound(text))
    analyse(message, "payment_problem", threats=["chargeback"], has_threat=True)
    with django_capture_on_commit_callbacks(execute=True):
        on_message_received(DomainEvent.objects.filter(name="message_received").latest("pk"))
    return ticket


def test_the_rule_action_opens_exactly_one_review(lead, order, django_capture_on_commit_callbacks):
    do_save_rule(
        None,
        actor=lead,
        name="Chargeback threats to risk",
        condition=":threat_chargeback:",
        actions="risk_review",
    )

    ticket = _threat(django_capture_on_commit_callbacks, order)
    # The same ticket asking again (a second message) opens nothing more.
    do_open_review_for_ticket(ticket, reason="rule “Chargeback threats to risk”")

    risk = OrderRisk.objects.get(order=order)
    assert (risk.status, risk.stage) == ("in_review", "check")
    opened = RiskDecision.objects.get(order_risk=risk)
    assert (opened.kind, opened.details) == (
        "opened",
        {"ticket_id": ticket.pk, "ticket_number": ticket.number},
    )
    assert opened.reason == "rule “Chargeback threats to risk”"
    fired = TicketEvent.objects.get(ticket=ticket, kind="rule_fired")
    assert fired.data["results"] == [f"risk review: {order.number} opened"]
    on_ticket = TicketEvent.objects.get(ticket=ticket, kind="risk_review_opened")
    assert on_ticket.data["reviews"] == [{"order": order.number, "outcome": "opened"}]
    assert AuditEntry.objects.filter(action="risk.opened", object_id=str(order.pk)).count() == 1
    assert DomainEvent.objects.filter(name="order_flagged", payload__order_id=order.pk).count() == 1


def test_a_review_already_open_is_reused_and_noted(lead, order):
    OrderRisk.objects.filter(order=order).update(status="in_review", stage="check")
    ticket = do_open_ticket(channel="email", requester_email=order.email, orders=[order])

    first = do_open_review_for_ticket(ticket, reason="rule “Threats”")
    again = do_open_review_for_ticket(ticket, reason="rule “Threats”")

    assert [r.outcome for r in first] == ["in_review"]
    assert [r.outcome for r in again] == ["already_requested"]
    note = RiskDecision.objects.get(order_risk__order=order)
    assert (note.kind, note.details["ticket_id"], note.details["request"]) == (
        "note",
        ticket.pk,
        "in_review",
    )
    assert TicketEvent.objects.filter(ticket=ticket, kind="risk_review_opened").count() == 1


def test_a_ticket_without_an_order_opens_nothing(lead):
    ticket = do_open_ticket(channel="email", requester_email="emma@mail.example")

    assert do_open_review_for_ticket(ticket, reason="rule") == []
    assert not RiskDecision.objects.exists()


def test_an_order_never_scored_is_scored_then_opened(lead):
    order = OrderFactory()
    ticket = do_open_ticket(channel="email", requester_email=order.email, orders=[order])

    [result] = do_open_review_for_ticket(ticket, reason="rule")

    assert result.outcome == "opened"
    assert OrderRisk.objects.get(order=order).status == "in_review"


def test_a_review_opened_on_request_stays_open_when_a_rescore_finds_nothing(lead, order):
    ticket = do_open_ticket(channel="email", requester_email=order.email, orders=[order])
    do_open_review_for_ticket(ticket, reason="rule")

    do_rescore_orders([order.pk], because="ticket")

    risk = OrderRisk.objects.get(order=order)
    assert (risk.action, risk.status) == ("allow", "in_review")


def test_the_ticket_page_says_a_review_was_asked_for(lead, order, agent_client):
    ticket = do_open_ticket(channel="email", requester_email=order.email, orders=[order])
    do_open_review_for_ticket(ticket, reason="rule")

    html = agent_client.get(f"/desk/tickets/{ticket.number}/").text

    assert f"Payment risk review asked for: {order.number} (review opened)" in html


def _reasons(ticket) -> list[str]:
    from storedesk.triage.models import TicketPriority

    return [item["reason"] for item in TicketPriority.objects.get(ticket=ticket).reasons]


@pytest.mark.parametrize("outcome", ["approve", "cancel", "overtaken"])
def test_a_decided_or_closed_review_drops_the_payment_in_review_reason_from_its_tickets(
    lead, django_capture_on_commit_callbacks, outcome
):
    from decimal import Decimal

    from storedesk.commerce.services import do_record_refund
    from storedesk.risk.review import do_approve, do_cancel

    order = order_in_review(StoreFactory()).order
    with django_capture_on_commit_callbacks(execute=True):
        ticket = do_open_ticket(channel="email", requester_email=order.email, orders=[order])
    assert "payment in risk review" in _reasons(ticket)

    risk = OrderRisk.objects.get(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        if outcome == "approve":
            do_approve(risk, lead, "Known customer")
        elif outcome == "cancel":
            do_cancel(risk, lead, "Customer asked")
        else:
            do_record_refund(order, Decimal("89.00"), "USD", idempotency_key="all-back")

    assert "payment in risk review" not in _reasons(ticket)


def test_linking_a_ticket_to_an_approved_order_keeps_its_score_and_decision(
    lead, django_capture_on_commit_callbacks
):
    from storedesk.desk.services import do_link_orders
    from storedesk.risk.review import do_approve

    order = order_in_review(StoreFactory()).order
    do_approve(OrderRisk.objects.get(order=order), lead, "Known customer")
    before = OrderRisk.objects.get(order=order)
    ticket = do_open_ticket(channel="email", requester_email=order.email)

    with django_capture_on_commit_callbacks(execute=True):
        do_link_orders(ticket, [order], actor=None)

    after = OrderRisk.objects.get(order=order)
    assert (after.status, after.score, after.decided_by_rule_id, after.scored_at) == (
        "approved",
        before.score,
        before.decided_by_rule_id,
        before.scored_at,
    )
    assert "payment in risk review" not in _reasons(ticket)
