"""Departments and hand-offs: summary and facts travel; the ticket comes back to its owner."""

import pytest
from django.core.exceptions import ValidationError

from storedesk.accounts.models import Team
from storedesk.accounts.roles import Role
from storedesk.desk.models import Ticket, TicketEvent
from storedesk.desk.services import AttachmentIn, do_assign, do_open_ticket, do_receive_message
from storedesk.triage.models import Handoff
from storedesk.triage.queries import department_queue
from storedesk.triage.services import do_hand_off, do_return_handoff
from tests.desk.builders import inbound
from tests.factories import OrderFactory, ShipmentFactory

pytestmark = pytest.mark.django_db


def test_the_four_departments_exist():
    names = set(Team.objects.values_list("name", flat=True))
    assert {"Care", "Payments", "Fulfillment", "Product quality"} <= names


def test_hand_off_carries_the_facts_and_returns_to_the_owner(make_user):
    agent = make_user(Role.AGENT, username="ana")
    quality_lead = make_user(Role.LEAD, username="quinn")
    care, quality = Team.objects.get(slug="care"), Team.objects.get(slug="product-quality")
    order = OrderFactory()
    ShipmentFactory(order=order, tracking_number="LX123VN")
    ticket = do_open_ticket(channel="email", requester_email=order.customer.email)
    photo = AttachmentIn("clasp.jpg", "image/jpeg", b"\xff\xd8\xff fake jpeg")
    do_receive_message(ticket, inbound("The clasp broke", attachments=[photo]))
    ticket.orders.add(order)
    do_assign(ticket, actor=agent, assignee=agent, team=care)

    handoff = do_hand_off(ticket, to_team=quality, summary="Clasp broke after 2 days", actor=agent)
    ticket.refresh_from_db()
    assert ticket.team == quality
    assert ticket.assignee is None
    assert handoff.facts["orders"][0]["number"] == order.number
    assert handoff.facts["shipment"]["tracking_number"] == "LX123VN"
    assert [p["filename"] for p in handoff.facts["photos"]] == ["clasp.jpg"]
    assert list(department_queue(quality)) == [handoff]
    with pytest.raises(ValidationError, match="already with another department"):
        do_hand_off(ticket, to_team=care, summary="again", actor=agent)

    do_return_handoff(handoff, outcome="Manufacturing defect; replace it", actor=quality_lead)
    ticket.refresh_from_db()
    assert ticket.team == care
    assert ticket.assignee == agent
    assert Handoff.objects.get().status == Handoff.Status.RETURNED
    assert list(department_queue(quality)) == []
    kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert {"handoff", "handoff_returned"} <= kinds
    notes = ticket.messages.filter(kind="note").values_list("text", flat=True)
    assert any("Manufacturing defect" in text for text in notes)
    with pytest.raises(ValidationError, match="already returned"):
        do_return_handoff(handoff, outcome="twice", actor=quality_lead)


def test_a_hand_off_needs_a_summary(agent):
    ticket = do_open_ticket(channel="email", requester_email="a@mail.example")
    with pytest.raises(ValidationError, match="summary"):
        do_hand_off(ticket, to_team=Team.objects.get(slug="payments"), summary=" ", actor=agent)
    assert not Handoff.objects.exists()
    assert Ticket.objects.get(pk=ticket.pk).team is None


def test_a_hand_off_comes_back_to_the_team_queue_when_its_owner_has_left(make_user):
    agent = make_user(Role.AGENT, username="ana")
    lead = make_user(Role.LEAD, username="quinn")
    care, payments = Team.objects.get(slug="care"), Team.objects.get(slug="payments")
    ticket = do_open_ticket(channel="email", requester_email="a@mail.example")
    do_assign(ticket, actor=agent, assignee=agent, team=care)
    handoff = do_hand_off(ticket, to_team=payments, summary="Charged twice", actor=agent)
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    do_return_handoff(handoff, outcome="Second charge refunded", actor=lead)

    ticket.refresh_from_db()
    assert ticket.team == care
    assert ticket.assignee is None
