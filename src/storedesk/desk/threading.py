"""Which ticket an inbound mail belongs to.

In order: the mail's In-Reply-To and References (every id, since clients rewrite and trim
them; our own outbound Message-IDs are stored, so any of ours found there matches), then
Outlook's Thread-Index conversation among the sender's own tickets, then our `[#SD-1234]`
token in the subject (or one of a legacy prefix, `[#TP-1234]`, see desk/numbering.py).
Never the subject alone, never across customers: a mail that points at a ticket of someone
else (another known customer, or a stranger using a token) is not appended there; it starts
its own ticket and carries a flag saying which ticket it named, so a person decides
(helpdesks that trust the token leak one customer's thread to another).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Customer
from storedesk.desk.models import Message, Participant, Ticket
from storedesk.desk.numbering import subject_token_pattern
from storedesk.desk.services import InboundMessage, find_customer

MAX_MERGE_HOPS = 10


@dataclass(frozen=True)
class ThreadMatch:
    """`ticket` to append to (None: open a new one); `method` says how it was found;
    `claimed` is a ticket the mail pointed at but was kept apart from, with the reason."""

    ticket: Ticket | None
    method: str = ""
    claimed: Ticket | None = None
    reason: str = ""


def _final(ticket: Ticket) -> Ticket:
    """Follow merges to the ticket that holds the conversation now."""
    for _hop in range(MAX_MERGE_HOPS):
        if not ticket.merged_into_id:
            break
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def _sender_customer(sender: str, ticket: Ticket) -> Customer | None:
    return find_customer(sender, ticket.store) if sender else None


def belongs_to(ticket: Ticket, sender: str) -> bool:
    """The sender is on the ticket, or is the ticket's customer."""
    if not sender:
        return False
    if sender == ticket.requester_email:
        return True
    if Participant.objects.filter(ticket=ticket, email=sender).exists():
        return True
    customer = _sender_customer(sender, ticket)
    return customer is not None and customer.pk == ticket.customer_id


def other_customer(ticket: Ticket, sender: str) -> bool:
    """The sender is a known customer, and not this ticket's."""
    customer = _sender_customer(sender, ticket)
    return (
        customer is not None
        and ticket.customer_id is not None
        and (customer.pk != ticket.customer_id)
    )


def _by_headers(message: InboundMessage) -> Ticket | None:
    ids = [message.in_reply_to, *reversed(message.references)]
    ids = [mid for mid in dict.fromkeys(ids) if mid and mid != message.message_id]
    if not ids:
        return None
    found = dict(
        Message.objects.exclude(message_id="")
        .filter(message_id__in=ids)
        .values_list("message_id", "ticket_id")
    )
    for mid in ids:  # In-Reply-To first, then the newest reference
        if mid in found:
            return Ticket.objects.get(pk=found[mid])
    return None


def _by_thread_index(message: InboundMessage, sender: str) -> Ticket | None:
    conversation = message.headers.get("thread_index")
    if not conversation or not sender:
        return None
    earlier = (
        Message.objects.filter(
            ticket__requester_email=sender,
            kind=Message.Kind.INBOUND,
            headers__thread_index=conversation,
        )
        .order_by("-created_at")
        .values_list("ticket_id", flat=True)
        .first()
    )
    return Ticket.objects.get(pk=earlier) if earlier else None


def find_thread(message: InboundMessage) -> ThreadMatch:
    """The ticket this mail continues, if any; see the module docstring for the rules."""
    sender = (message.from_email or "").strip().lower()
    ticket = _by_headers(message)
    if ticket is not None:
        ticket = _final(ticket)
        if other_customer(ticket, sender):
            return ThreadMatch(
                None, "", ticket, _("reply headers, but the sender is another customer")
            )
        return ThreadMatch(ticket, "headers")
    ticket = _by_thread_index(message, sender)
    if ticket is not None:
        return ThreadMatch(_final(ticket), "thread_index")
    token = subject_token_pattern().search(message.subject or "")
    if token:
        ticket = Ticket.objects.filter(number=int(token.group(1))).first()
        if ticket is not None:
            ticket = _final(ticket)
            if belongs_to(ticket, sender):
                return ThreadMatch(ticket, "token")
            return ThreadMatch(None, "", ticket, _("ticket token, but the sender is not on it"))
    return ThreadMatch(None)
