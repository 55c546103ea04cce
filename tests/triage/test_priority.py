"""The priority score: points with reasons, weights from settings, and the desk priority."""

from decimal import Decimal

import pytest

from storedesk.desk.models import Ticket, TicketEvent
from storedesk.desk.services import do_set_priority
from storedesk.risk.models import OrderRisk
from storedesk.triage.facts import facts_for
from storedesk.triage.models import TicketPriority
from storedesk.triage.priority import score_facts
from storedesk.triage.services import do_score_priority
from tests.desk.builders import make_ticket
from tests.factories import BASE_TIME, OrderFactory
from tests.triage.workflow_helpers import analyse

pytestmark = pytest.mark.django_db


def calm(**facts):
    return {"intent": "product_question", "mood": "calm", "age_hours": 0} | facts


def test_a_calm_product_question_stays_normal():
    result = score_facts(calm())
    assert result.level == 1
    assert result.reasons == []


def test_threats_anger_and_dispute_risk_add_up_with_reasons():
    result = score_facts(
        calm(
            intent="payment_problem",
            mood="angry",
            anger=Decimal("0.8"),
            threat_chargeback=True,
            open_dispute=True,
        )
    )
    assert result.score == 25 + 20 + 8 + 35 + 40
    assert result.level == 4
    assert [item["reason"] for item in result.reasons][:2] == [
        "open dispute on the order",
        "threat: chargeback",
    ]


def test_order_value_and_customer_value_bands():
    assert score_facts(calm(order_value=Decimal(650))).score == 15
    assert score_facts(calm(order_value=Decimal(250))).score == 8
    assert score_facts(calm(customer_vip=True, lifetime_spend=Decimal(2500))).score == 25


def test_weights_come_from_settings(settings):
    settings.TRIAGE_PRIORITY_WEIGHTS = {"vip": 100}
    assert score_facts(calm(customer_vip=True)).score == 100


def test_scoring_a_ticket_sets_the_desk_priority_with_the_reasons():
    order = OrderFactory(total_price=Decimal("720.00"))
    ticket = make_ticket(requester=order.customer.email, at=BASE_TIME)
    ticket.orders.add(order)
    OrderRisk.objects.create(order=order, status=OrderRisk.Status.IN_REVIEW, scored_at=BASE_TIME)
    analyse(
        ticket.messages.get(),
        "not_received",
        mood="angry",
        anger=0.9,
        threats=["bad_review"],
        has_threat=True,
    )
    facts = facts_for(ticket, now=BASE_TIME)
    assert facts["payment_in_review"] is True
    assert facts["order_value"] == Decimal("720.00")
    result = do_score_priority(ticket, now=BASE_TIME)
    assert result.score == 15 + 20 + 9 + 20 + 15 + 20
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.URGENT
    stored = TicketPriority.objects.get(ticket=ticket)
    assert {"reason": "threat: bad_review", "points": 20} in stored.reasons
    assert stored.reasons[0]["points"] == 20  # biggest first
    event = TicketEvent.objects.filter(ticket=ticket, kind="priority").get()
    assert event.data["reason"].startswith(f"score {result.score}:")


def test_a_priority_set_by_hand_is_not_overridden(agent):
    ticket = make_ticket()
    do_set_priority(ticket, Ticket.Priority.LOW, actor=agent)
    analyse(ticket.messages.get(), "payment_problem", threats=["legal"], has_threat=True)
    do_score_priority(ticket)
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.LOW
    assert TicketPriority.objects.get(ticket=ticket).level == Ticket.Priority.HIGH
