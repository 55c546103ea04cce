"""Quick builders for desk tests: tickets with conversations, through the real services."""

from __future__ import annotations

from datetime import timedelta

from storedesk.desk.models import Ticket
from storedesk.desk.services import InboundMessage, do_open_ticket, do_receive_message
from tests.factories import BASE_TIME


def inbound(text: str = "Where is my ring?", **kwargs) -> InboundMessage:
    values = {"channel": "email", "from_email": "emma@mail.example", "text": text}
    return InboundMessage(**(values | kwargs))


def make_ticket(
    *,
    messages: int = 1,
    requester: str = "emma@mail.example",
    subject: str = "Where is my ring?",
    channel: str = "email",
    at=None,
    **ticket_fields,
) -> Ticket:
    """A ticket with `messages` customer messages one minute apart, starting at `at`; extra
    keyword arguments are set on the ticket afterwards (status, priority, assignee …)."""
    at = at or BASE_TIME
    ticket = do_open_ticket(
        channel=channel, requester_email=requester, subject=subject, created_at=at
    )
    for n in range(messages):
        do_receive_message(
            ticket,
            inbound(
                f"Message {n + 1}: {subject}",
                from_email=requester,
                channel=channel,
                received_at=at + timedelta(minutes=n),
            ),
        )
    if ticket_fields:
        Ticket.objects.filter(pk=ticket.pk).update(**ticket_fields)
    ticket.refresh_from_db()
    return ticket


def make_tickets(count: int, *, start=None, **kwargs) -> list[Ticket]:
    """`count` tickets, each one hour newer than the previous."""
    start = start or BASE_TIME
    return [
        make_ticket(at=start + timedelta(hours=n), requester=f"buyer{n}@mail.example", **kwargs)
        for n in range(count)
    ]
