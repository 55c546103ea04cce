"""Ownership and routing that do not depend on the channel: replying to an unassigned ticket
makes it the agent's (unless the team turned that off), and a chat is triaged like mail."""

import pytest

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.desk.chat import do_start_chat
from storedesk.desk.models import Ticket, TicketEvent
from storedesk.desk.services import do_open_ticket, do_receive_message, do_reply
from storedesk.triage.models import MessageAnalysis, TicketPriority
from tests.desk.builders import inbound, make_ticket

pytestmark = pytest.mark.django_db

CHARGE_QUESTION = (
    "I was charged twice for my order and my card shows two payments. "
    "Please refund the duplicate charge."
)


@pytest.fixture
def agents(make_user):
    return make_user(Role.AGENT, username="linh"), make_user(Role.AGENT, username="minh")


def test_replying_to_an_unassigned_ticket_makes_it_the_agents_with_an_audit_entry(agents):
    linh, minh = agents
    ticket = make_ticket()
    owned = make_ticket(assignee=minh, requester="olivia@mail.example")
    do_reply(ticket, author=linh, text="Looking into it now.")
    do_reply(owned, author=linh, text="Covering for Minh today.")
    ticket.refresh_from_db()
    owned.refresh_from_db()
    assert ticket.assignee == linh
    assert owned.assignee == minh  # someone's ticket stays theirs
    event = TicketEvent.objects.get(kind="assigned")
    assert (event.ticket_id, event.actor) == (ticket.pk, linh)
    assert event.data["new"]["assignee"] == linh.pk
    assert AuditEntry.objects.filter(action="desk.assigned", actor=linh).count() == 1


def test_teams_that_prefer_it_keep_replied_tickets_unassigned(agents, settings):
    linh, _ = agents
    settings.DESK_ASSIGN_ON_REPLY = False
    shared = make_ticket()
    do_reply(shared, author=linh, text="Looking into it now.")
    settings.DESK_ASSIGN_ON_REPLY = True
    taken = make_ticket(requester="olivia@mail.example")
    do_reply(taken, author=linh, text="Looking into it now.")
    assert Ticket.objects.get(pk=shared.pk).assignee is None
    assert Ticket.objects.get(pk=taken.pk).assignee == linh


def test_the_replying_agent_finds_the_ticket_in_mine(agent, agent_client):
    ticket = make_ticket()
    do_reply(ticket, author=agent, text="Looking into it now.")
    response = agent_client.get("/desk/", {"view": "mine"})
    mine = next(view for view in response.context["views"] if view.key == "mine")
    assert mine.count == 1


def _through_the_desk(channel: str, capture) -> Ticket:
    """A customer's first message on a channel, with every after-commit handler run."""
    with capture(execute=True):
        if channel == "chat":
            session = do_start_chat(text=CHARGE_QUESTION, name="Emma", email="emma@mail.example")
            return Ticket.objects.get(pk=session.ticket_id)
        ticket = do_open_ticket(
            channel=channel, requester_email="emma@mail.example", subject="Charged twice"
        )
        do_receive_message(ticket, inbound(CHARGE_QUESTION, channel=channel))
    return Ticket.objects.get(pk=ticket.pk)


@pytest.mark.parametrize("channel", ["email", "chat"])
def test_a_chat_is_triaged_like_mail_intent_department_tags_priority(
    channel, django_capture_on_commit_callbacks
):
    ticket = _through_the_desk(channel, django_capture_on_commit_callbacks)
    ticket.refresh_from_db()
    analysis = MessageAnalysis.objects.get(ticket=ticket)
    assert analysis.primary_intent == "payment_problem"
    assert ticket.team is not None
    assert ticket.team.slug == "payments"
    assert "payment-problem" in set(ticket.tags.values_list("name", flat=True))
    assert TicketPriority.objects.filter(ticket=ticket).exists()
    routed = TicketEvent.objects.get(ticket=ticket, kind="assigned")
    assert routed.actor is None  # the desk's triage, through do_assign
    assert AuditEntry.objects.for_object(ticket).filter(action="desk.assigned").exists()
