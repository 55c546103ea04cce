"""Email in, set-based: a batch of parsed mails threaded and stored with a few queries per
batch instead of a dozen per mail (the poller's 25 mails, an import's chunk).

The rules are those of `threading.find_thread` and `services.do_open_ticket` /
`do_receive_message`, applied in mail order to what one look-up per kind read for the whole
batch (Message-IDs, Thread-Index conversations, subject tokens, tickets, customers,
participants) plus what the earlier mails of the batch added, so a reply later in the same
batch threads onto the ticket an earlier mail opened. Writes are one bulk insert per table and
one UPDATE statement for the tickets that received mail.

What these rules do not cover in bulk is left to the caller's one-mail path, at its place in
the order (the mails before it written first, the context re-read after it): a mail that
points at another customer's ticket (the flag note), one with attachments left out (the
note), a reply to a closed ticket (the follow-up ticket), a token of a ticket this batch may
just have opened. If the bulk write of a group fails (a duplicate stored meanwhile by another
poller, a bad row), its savepoint rolls back and each of its mails goes the one-mail path,
which stores or quarantines it alone: nothing is lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.tasks import task
from django.utils import timezone

from storedesk.audit.services import record_audit_bulk
from storedesk.commerce.models import Customer, Store
from storedesk.core.context import get_correlation_id
from storedesk.core.events import dispatch_event
from storedesk.core.models import DomainEvent
from storedesk.core.tasks import enqueue_on_commit
from storedesk.desk.models import Attachment, Message, Participant, Ticket, TicketEvent
from storedesk.desk.numbering import subject_token_pattern
from storedesk.desk.services import (
    InboundMessage,
    attachment_row,
    inbound_message_row,
    lock_tickets,
    next_ticket_numbers,
    validate_attachment,
)
from storedesk.desk.threading import MAX_MERGE_HOPS

CONTEXT_SIZE = 200  # mails read together (bounds the IN lists of the look-ups)
STORED, DUPLICATE = "stored", "duplicate"
REOPENED_FROM = (Ticket.Status.SOLVED, Ticket.Status.PENDING)


class _OneByOne(Exception):
    """This mail needs the one-mail path."""


@dataclass
class _Touched:
    """A ticket that received mail in this group: what its row must say afterwards."""

    ticket: Ticket
    is_new: bool
    added: int = 0


@dataclass
class _Group:
    """Mails decided in memory, written together by `_flush`."""

    positions: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)  # of a mail earlier in the group
    messages: list[Message] = field(default_factory=list)
    attachments: list[tuple[Message, Any]] = field(default_factory=list)
    touched: dict[int, _Touched] = field(default_factory=dict)  # id(ticket) -> state
    participants: list[Participant] = field(default_factory=list)
    reopen_events: list[TicketEvent] = field(default_factory=list)
    order: list[tuple[Ticket, Message, bool]] = field(default_factory=list)

    @property
    def new_tickets(self) -> list[Ticket]:
        return [state.ticket for state in self.touched.values() if state.is_new]


class _Context:
    """What the look-ups read for the remaining mails, and what the group added since."""

    def __init__(self, inbounds: Sequence[InboundMessage]) -> None:
        senders = {_sender(inbound) for inbound in inbounds} - {""}
        own = {inbound.message_id for inbound in inbounds if inbound.message_id}
        pointed = {
            mid for inbound in inbounds for mid in (inbound.in_reply_to, *inbound.references) if mid
        }
        self.stored_ids: dict[str, int] = {}  # Message-ID -> message pk (duplicates)
        self.thread_of: dict[str, Ticket | int] = {}  # Message-ID -> ticket (or its pk)
        for mid, ticket_id, pk in (
            Message.objects.exclude(message_id="")
            .filter(message_id__in=own | pointed)
            .values_list("message_id", "ticket_id", "pk")
        ):
            self.thread_of[mid] = ticket_id
            if mid in own:
                self.stored_ids[mid] = pk
        conversations = {inbound.headers.get("thread_index") for inbound in inbounds} - {None, ""}
        self.conversation_of: dict[tuple[str, str], tuple[datetime, Ticket | int]] = {}
        if conversations and senders:
            for requester, conversation, ticket_id, created_at in (
                Message.objects.filter(
                    kind=Message.Kind.INBOUND,
                    ticket__requester_email__in=senders,
                    headers__thread_index__in=conversations,
                )
                .order_by("created_at", "pk")
                .values_list(
                    "ticket__requester_email", "headers__thread_index", "ticket_id", "created_at"
                )
            ):
                self.conversation_of[(requester, conversation)] = (created_at, ticket_id)
        numbers = {
            int(match.group(1))
            for inbound in inbounds
            if (match := subject_token_pattern().search(inbound.subject or ""))
        }
        self.by_number: dict[int, int] = dict(
            Ticket.objects.filter(number__in=numbers).values_list("number", "pk")
        )
        wanted = {pk for pk in self.thread_of.values() if isinstance(pk, int)}
        wanted |= {pk for _, pk in self.conversation_of.values()} | set(self.by_number.values())
        self.tickets: dict[int, Ticket] = {}
        self._load_tickets(wanted)
        self.customers: dict[str, list[tuple[int | None, int]]] = defaultdict(list)
        for email, store_id, pk in (
            Customer.objects.filter(email__in=senders)
            .order_by("pk")
            .values_list("email", "store_id", "pk")
        ):
            self.customers[email].append((store_id, pk))
        token_tickets = {self._final(self.tickets[pk]).pk for pk in self.by_number.values()}
        self.participants: set[tuple[int, str]] = set(
            Participant.objects.filter(ticket_id__in=token_tickets, email__in=senders)
            .values_list("ticket_id", "email")
            .iterator()
            if token_tickets
            else ()
        )
        self._store: Store | None = None
        self._store_read = False

    def _load_tickets(self, pks: set[int]) -> None:
        """The tickets, locked in pk order, and the tickets they were merged into."""
        for _hop in range(MAX_MERGE_HOPS + 1):
            pks = pks - set(self.tickets)
            if not pks:
                return
            self.tickets.update(lock_tickets(*pks))
            pks = {t.merged_into_id for t in self.tickets.values() if t.merged_into_id}

    def ticket(self, value: Ticket | int) -> Ticket:
        return value if isinstance(value, Ticket) else self.tickets[value]

    def _final(self, ticket: Ticket) -> Ticket:
        for _hop in range(MAX_MERGE_HOPS):
            if not ticket.merged_into_id or ticket.merged_into_id not in self.tickets:
                break
            ticket = self.tickets[ticket.merged_into_id]
        return ticket

    def customer_id(self, email: str, store_id: int | None) -> int | None:
        """`services.find_customer` on what was read: the first by pk (in the store)."""
        for customer_store, pk in self.customers.get(email, ()):
            if store_id is None or customer_store == store_id:
                return pk
        return None

    def store(self) -> Store | None:
        if not self._store_read:
            self._store, self._store_read = Store.objects.order_by("pk").first(), True
        return self._store

    # --- the rules of threading.find_thread ---------------------------------------------------

    def find_ticket(self, inbound: InboundMessage, group: _Group) -> Ticket | None:
        sender = _sender(inbound)
        ids = [inbound.in_reply_to, *reversed(inbound.references)]
        ids = [mid for mid in dict.fromkeys(ids) if mid and mid != inbound.message_id]
        for mid in ids:  # In-Reply-To first, then the newest reference
            if mid in self.thread_of:
                ticket = self._final(self.ticket(self.thread_of[mid]))
                if self._other_customer(ticket, sender):
                    raise _OneByOne  # kept apart, with a flag note
                return ticket
        conversation = inbound.headers.get("thread_index")
        if conversation and sender and (sender, conversation) in self.conversation_of:
            return self._final(self.ticket(self.conversation_of[(sender, conversation)][1]))
        token = subject_token_pattern().search(inbound.subject or "")
        if token:
            pk = self.by_number.get(int(token.group(1)))
            if pk is None:
                if group.new_tickets:
                    raise _OneByOne  # perhaps a ticket this group opened: numbered at write
                return None
            ticket = self._final(self.tickets[pk])
            if not self._belongs_to(ticket, sender):
                raise _OneByOne  # kept apart, with a flag note
            return ticket
        return None

    def _other_customer(self, ticket: Ticket, sender: str) -> bool:
        if not sender or ticket.customer_id is None:
            return False
        customer = self.customer_id(sender, ticket.store_id)
        return customer is not None and customer != ticket.customer_id

    def _belongs_to(self, ticket: Ticket, sender: str) -> bool:
        if not sender:
            return False
        if sender == ticket.requester_email or (ticket.pk, sender) in self.participants:
            return True
        customer = self.customer_id(sender, ticket.store_id)
        return customer is not None and customer == ticket.customer_id

    def remember(self, inbound: InboundMessage, ticket: Ticket, created_at: datetime) -> None:
        """What later mails of the batch thread on."""
        if inbound.message_id:
            self.thread_of[inbound.message_id] = ticket
        conversation = inbound.headers.get("thread_index")
        if conversation and ticket.requester_email:
            key = (ticket.requester_email, conversation)
            known = self.conversation_of.get(key)
            if known is None or known[0] <= created_at:
                self.conversation_of[key] = (created_at, ticket)
        for address in inbound.cc:
            if ticket.pk:
                self.participants.add((ticket.pk, address.strip().lower()))


def _sender(inbound: InboundMessage) -> str:
    return (inbound.from_email or "").strip().lower()


# --- deciding in memory ----------------------------------------------------------------------


def _decide(
    inbound: InboundMessage, context: _Context, group: _Group, mailbox, now: datetime
) -> Message:
    """Add this mail to the group (a new ticket or the ticket it continues), in memory."""
    if any(_refused(attachment) for attachment in inbound.attachments):
        raise _OneByOne  # stored with a note naming what was left out
    ticket = context.find_ticket(inbound, group)
    if ticket is not None and ticket.status == Ticket.Status.CLOSED:
        raise _OneByOne  # a follow-up ticket
    received_at = inbound.received_at or now
    if ticket is None:
        ticket = _new_ticket(inbound, context, mailbox, received_at)
        group.touched[id(ticket)] = _Touched(ticket, is_new=True)
        group.participants.append(
            Participant(
                ticket=ticket,
                email=ticket.requester_email,
                name=(inbound.from_name or "").strip()[:200],
                role=Participant.Role.REQUESTER,
            )
        )
    state = group.touched.setdefault(id(ticket), _Touched(ticket, is_new=False))
    message = inbound_message_row(inbound, ticket, received_at)
    if ticket.status in REOPENED_FROM and not inbound.is_automatic:
        group.reopen_events.append(
            TicketEvent(
                ticket=ticket,
                kind="status",
                actor_label="system",
                data={"old": ticket.status, "new": Ticket.Status.OPEN},
                created_at=received_at,
            )
        )
        ticket.status, ticket.solved_at = Ticket.Status.OPEN, None
    state.added += 1
    ticket.message_count += 1
    ticket.last_message_at = ticket.last_customer_message_at = received_at
    ticket.updated_at = now
    group.messages.append(message)
    group.attachments += [(message, attachment) for attachment in inbound.attachments]
    group.participants += [
        Participant(ticket=ticket, email=address.strip().lower(), role=Participant.Role.CC)
        for address in inbound.cc
        if address and "@" in address
    ]
    group.order.append((ticket, message, state.is_new and state.added == 1))
    context.remember(inbound, ticket, received_at)
    return message


def _refused(attachment) -> bool:
    try:
        validate_attachment(attachment)
    except Exception:
        return True
    return False


def _new_ticket(inbound: InboundMessage, context: _Context, mailbox, received_at) -> Ticket:
    """`services.do_open_ticket` for a mail nobody threads: numbered when written."""
    requester = _sender(inbound)
    store = context.store()
    return Ticket(
        store=store,
        subject=(inbound.subject or "").strip()[:250],
        customer_id=context.customer_id(requester, store.pk if store else None),
        requester_email=requester,
        requester_name=(inbound.from_name or "").strip()[:200],
        channel=inbound.channel,
        mailbox=mailbox,
        created_at=received_at,
        updated_at=received_at,
    )


# --- writing ---------------------------------------------------------------------------------


def _ticket_update_sql() -> str:
    table = connection.ops.quote_name(Ticket._meta.db_table)
    columns = ["status", "solved_at", "last_message_at", "last_customer_message_at"]
    assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
    count = connection.ops.quote_name("message_count")
    updated = connection.ops.quote_name("updated_at")
    return (
        f"UPDATE {table} SET {assignments}, {count} = {count} + %s, {updated} = %s "  # noqa: S608
        "WHERE id = %s"
    )


def _flush(group: _Group) -> None:
    """Write the group: tickets, messages, attachments, participants, timeline, audit, events
    (one bulk insert each) and the receiving tickets (one UPDATE statement)."""
    if not group.messages:
        return
    new_tickets = group.new_tickets
    for ticket, number in zip(new_tickets, next_ticket_numbers(len(new_tickets)), strict=True):
        ticket.number = number
    Ticket.objects.bulk_create(new_tickets)
    Message.objects.bulk_create(group.messages)
    _store_attachments(group.attachments)
    Participant.objects.bulk_create(group.participants, ignore_conflicts=True)
    now = timezone.now()
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket=ticket,
                kind="created",
                actor_label="system",
                data={"channel": ticket.channel, "follow_up_of": None},
                created_at=now,
            )
            for ticket in new_tickets
        ]
        + group.reopen_events
    )
    record_audit_bulk(
        actor_label="system",
        action="desk.ticket_opened",
        objects=new_tickets,
        changes_for=lambda ticket: {"channel": ticket.channel},
    )
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (
            state.ticket.status,
            adapt(state.ticket.solved_at),
            adapt(state.ticket.last_message_at),
            adapt(state.ticket.last_customer_message_at),
            state.added,
            adapt(state.ticket.updated_at),
            state.ticket.pk,
        )
        for state in group.touched.values()
        if not state.is_new  # inserted as they are now
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_ticket_update_sql(), rows)
    correlation_id = get_correlation_id()
    events = []
    for ticket, message, opened in group.order:
        if opened:
            events.append(
                DomainEvent(
                    name="ticket_created",
                    payload={"ticket_id": ticket.pk},
                    correlation_id=correlation_id,
                )
            )
        events.append(
            DomainEvent(
                name="message_received",
                payload={"ticket_id": ticket.pk, "message_id": message.pk},
                correlation_id=correlation_id,
            )
        )
    DomainEvent.objects.bulk_create(events)
    enqueue_on_commit(dispatch_events, [event.pk for event in events])


def _store_attachments(pairs: list[tuple[Message, Any]]) -> None:
    Attachment.objects.bulk_create(
        [attachment_row(message, attachment) for message, attachment in pairs]
    )


@task()
def dispatch_events(event_ids: list[int]) -> int:
    """The events of one batch, dispatched in order by one task instead of one task each;
    `dispatch_event` skips an event already handled, so a retry or the sweep is harmless."""
    for event_id in event_ids:
        dispatch_event.call(event_id)
    return len(event_ids)


# --- the batch -------------------------------------------------------------------------------


def store_batch(
    inbounds: Sequence[InboundMessage],
    *,
    mailbox,
    one_by_one: Callable[[int, InboundMessage], Any],
) -> list[Any]:
    """(outcome, message) for each parsed mail, in order; what `one_by_one(position, mail)`
    returns for the mails left to the one-mail path. Runs inside the caller's transaction."""
    results: list[Any] = [None] * len(inbounds)
    position = 0
    while position < len(inbounds):
        context = _Context(inbounds[position:])
        group = _Group()
        now = timezone.now()
        pending: dict[str, Message] = {}
        stop = len(inbounds)
        for index in range(position, len(inbounds)):
            inbound = inbounds[index]
            mid = inbound.message_id
            if mid and mid in pending:
                results[index] = (DUPLICATE, pending[mid])
                group.duplicates.append(index)
                continue
            if mid and mid in context.stored_ids:
                results[index] = (DUPLICATE, context.stored_ids[mid])
                continue
            try:
                message = _decide(inbound, context, group, mailbox, now)
            except _OneByOne:
                stop = index
                break
            if mid:
                pending[mid] = message
            group.positions.append(index)
            results[index] = (STORED, message)
        try:
            if group.messages:
                with transaction.atomic():
                    _flush(group)
        except Exception:
            # Each of the group's mails alone: stored, found a duplicate, or quarantined.
            for index in sorted(group.positions + group.duplicates):
                results[index] = one_by_one(index, inbounds[index])
        if stop < len(inbounds):
            results[stop] = one_by_one(stop, inbounds[stop])
        position = stop + 1
    duplicates = {
        result[1] for result in results if isinstance(result, tuple) and isinstance(result[1], int)
    }
    if duplicates:
        found = Message.objects.in_bulk(duplicates)
        results = [
            (result[0], found.get(result[1]))
            if isinstance(result, tuple) and isinstance(result[1], int)
            else result
            for result in results
        ]
    return results
