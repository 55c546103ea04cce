"""Desk services: the only writers of tickets and messages.

Every channel (email, chat, web form, API, the demo) ends in these functions, so a ticket
behaves the same whichever way it arrived. Each call is one transaction that also writes the
ticket's timeline event, the audit entry and a domain event for whoever follows (triage,
outbound mail, webhooks). Bodies arrive already sanitized by the channel's parser
(`storedesk.desk.sanitize`); these functions never render or trust customer HTML.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import escape, linebreaks

from storedesk.audit.services import SYSTEM_ACTOR, record_audit, record_audit_bulk
from storedesk.commerce.models import Customer, Order, Store
from storedesk.core.events import record_event
from storedesk.core.models import NamedSequence
from storedesk.desk.models import (
    Attachment,
    Channel,
    Mailbox,
    Message,
    Participant,
    ReplyTemplate,
    Tag,
    Ticket,
    TicketEvent,
)
from storedesk.desk.replies import refuse_unfilled

TICKET_COUNTER = "ticket_number"
FIRST_TICKET_NUMBER = 1001
BLOCKED_ATTACHMENT_EXTENSIONS = frozenset(
    ".exe .scr .bat .cmd .com .js .jse .vbs .vbe .msi .ps1 .jar .hta .lnk .dll .cpl".split()
)


@dataclass(frozen=True)
class AttachmentIn:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    is_inline: bool = False


@dataclass
class InboundMessage:
    """A customer's message as a channel parsed it: text, safe HTML, threading headers."""

    channel: str
    from_email: str
    text: str
    from_name: str = ""
    subject: str = ""
    html: str = ""
    new_text: str = ""
    quoted_text: str = ""
    signature: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    headers: dict = field(default_factory=dict)
    is_automatic: bool = False
    automatic_reason: str = ""
    raw: bytes | None = None
    attachments: Sequence[AttachmentIn] = ()
    received_at: datetime | None = None


# --- helpers ---------------------------------------------------------------------------------


def next_ticket_number() -> int:
    """The next ticket number, gap-free under concurrency: one UPDATE … RETURNING takes the
    counter's row lock and reads the new value (SQLite ≥ 3.35 and PostgreSQL), instead of a
    locking read and a write; the counter row is created the first time."""
    table = connection.ops.quote_name(NamedSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET value = value + 1 WHERE name = %s RETURNING value",  # noqa: S608
            [TICKET_COUNTER],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    counter, _ = NamedSequence.objects.select_for_update().get_or_create(
        name=TICKET_COUNTER, defaults={"value": FIRST_TICKET_NUMBER - 1}
    )
    counter.value += 1
    counter.save(update_fields=["value"])
    return counter.value


def next_ticket_numbers(count: int) -> list[int]:
    """`count` consecutive ticket numbers in one UPDATE … RETURNING (a batch of mail opening
    several tickets), gap-free like `next_ticket_number`."""
    if count <= 0:
        return []
    first = next_ticket_number()
    if count == 1:
        return [first]
    table = connection.ops.quote_name(NamedSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET value = value + %s WHERE name = %s RETURNING value",  # noqa: S608
            [count - 1, TICKET_COUNTER],
        )
        (last,) = cursor.fetchone()
    return list(range(last - count + 1, last + 1))


def new_message_id() -> str:
    """An RFC 5322 Message-ID in our own domain, so replies to it thread back to us."""
    return f"<{uuid.uuid4().hex}@{settings.DESK_MESSAGE_ID_DOMAIN}>"


def is_our_message_id(message_id: str) -> bool:
    return message_id.strip().lower().endswith(f"@{settings.DESK_MESSAGE_ID_DOMAIN}>")


def lock_ticket(ticket_id: int) -> Ticket:
    """The one way to lock a ticket row (inside a transaction): what changes one ticket is
    serialised by it. Only the ticket's own row is locked, never rows a query joins."""
    return Ticket.objects.select_for_update(of=("self",)).get(pk=ticket_id)


def lock_tickets(*ticket_ids: int) -> dict[int, Ticket]:
    """Lock several tickets, always in primary-key order, so two actions over the same tickets
    named in opposite orders (a merge of A into B and of B into A) wait instead of
    deadlocking. Tickets that do not exist are simply absent from the answer."""
    return {
        ticket.pk: ticket
        for ticket in Ticket.objects.select_for_update(of=("self",))
        .filter(pk__in=ticket_ids)
        .order_by("pk")
    }


def message_by_id(message_id: str) -> Message | None:
    """The message with this Message-ID. The unique index is partial (non-empty ids), and
    SQLite only uses it when the query repeats that condition: without it, a full scan."""
    if not message_id:
        return None
    return Message.objects.exclude(message_id="").filter(message_id=message_id).first()


def _actor_label(actor) -> str:
    return str(actor) if getattr(actor, "pk", None) else "system"


def _timeline(ticket: Ticket, kind: str, actor=None, *, moment=None, **data) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=_actor_label(actor),
        data=data,
        created_at=moment or timezone.now(),
    )


def do_add_timeline_event(ticket: Ticket, kind: str, *, actor=None, **data) -> TicketEvent:
    """A line on the ticket's timeline for something another app did to it (a rule fired, a
    playbook step, a hand-off): the desk owns the timeline, so other apps write it here. One
    insert, so it needs no transaction of its own; call it inside the caller's."""
    return _timeline(ticket, kind, actor, **data)


def do_add_timeline_events(kind: str, data_by_ticket: Mapping[int, dict], *, at: datetime) -> int:
    """The same kind of system line on many tickets' timelines in one insert (e.g. the SLA
    sweep's warnings and breaches): set-based, whatever the number of tickets."""
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket_id=ticket_id, kind=kind, actor_label=SYSTEM_ACTOR, data=data, created_at=at
        )
        for ticket_id, data in data_by_ticket.items()
    )
    return len(data_by_ticket)


def find_customer(email: str, store: Store | None = None) -> Customer | None:
    email = (email or "").strip().lower()
    if not email:
        return None
    customers = Customer.objects.filter(email=email)
    if store is not None:
        customers = customers.filter(store=store)
    return customers.order_by("pk").first()


def text_to_html(text: str) -> str:
    """An agent's plain text as safe HTML paragraphs (everything escaped)."""
    return linebreaks(escape(text))


def validate_attachment(attachment: AttachmentIn) -> None:
    """Size and type limits; a rejected file is an error the sender sees, never a crash."""
    name = attachment.filename.lower()
    extension = name[name.rfind(".") :] if "." in name else ""
    if extension in BLOCKED_ATTACHMENT_EXTENSIONS:
        raise ValidationError(f"{attachment.filename}: this file type is not accepted")
    if len(attachment.data) > settings.DESK_MAX_ATTACHMENT_BYTES:
        limit_mb = settings.DESK_MAX_ATTACHMENT_BYTES // (1024 * 1024)
        raise ValidationError(f"{attachment.filename}: larger than {limit_mb} MB")


def attachment_row(message: Message, attachment: AttachmentIn) -> Attachment:
    """The unsaved row of an attachment, its file already written to storage."""
    row = Attachment(
        message=message,
        filename=attachment.filename[:255] or "attachment",
        content_type=attachment.content_type[:120] or "application/octet-stream",
        size=len(attachment.data),
        sha256=hashlib.sha256(attachment.data).hexdigest(),
        content_id=attachment.content_id[:255],
        is_inline=attachment.is_inline,
    )
    row.file.save(row.filename, ContentFile(attachment.data), save=False)
    return row


def _store_attachments(message: Message, attachments: Iterable[AttachmentIn]) -> None:
    for attachment in attachments:
        validate_attachment(attachment)
        attachment_row(message, attachment).save()


def _add_participants(ticket: Ticket, addresses: Iterable[tuple[str, str, str]]) -> None:
    """(email, name, role) rows, once per ticket."""
    rows = [
        Participant(ticket=ticket, email=email.strip().lower(), name=name[:200], role=role)
        for email, name, role in addresses
        if email and "@" in email
    ]
    Participant.objects.bulk_create(rows, ignore_conflicts=True)


# --- tickets ---------------------------------------------------------------------------------


@transaction.atomic
def do_open_ticket(
    *,
    channel: str,
    requester_email: str,
    requester_name: str = "",
    subject: str = "",
    store: Store | None = None,
    mailbox: Mailbox | None = None,
    customer: Customer | None = None,
    orders: Sequence[Order] = (),
    follow_up_of: Ticket | None = None,
    actor=None,
    created_at: datetime | None = None,
) -> Ticket:
    """A new ticket for a requester, linked to their customer record when we know them."""
    if channel not in Channel.values:
        raise ValidationError(f"unknown channel: {channel}")
    requester_email = (requester_email or "").strip().lower()
    now = created_at or timezone.now()
    store = store or Store.objects.order_by("pk").first()
    ticket = Ticket.objects.create(
        number=next_ticket_number(),
        store=store,
        subject=(subject or "").strip()[:250],
        customer=customer or find_customer(requester_email, store),
        requester_email=requester_email,
        requester_name=(requester_name or "").strip()[:200],
        channel=channel,
        mailbox=mailbox,
        follow_up_of=follow_up_of,
        created_at=now,
        updated_at=now,
    )
    if orders:
        ticket.orders.add(*orders)
        record_event(
            "ticket_orders_linked", ticket_id=ticket.pk, order_ids=[order.pk for order in orders]
        )
    _add_participants(ticket, [(requester_email, requester_name, Participant.Role.REQUESTER)])
    _timeline(ticket, "created", actor, channel=channel, follow_up_of=follow_up_of_number(ticket))
    record_audit(actor=actor, action="desk.ticket_opened", obj=ticket, changes={"channel": channel})
    record_event("ticket_created", ticket_id=ticket.pk)
    return ticket


def follow_up_of_number(ticket: Ticket) -> int | None:
    return ticket.follow_up_of.number if ticket.follow_up_of_id else None


def inbound_message_row(inbound: InboundMessage, ticket: Ticket, received_at) -> Message:
    """The unsaved row of a received message (one at a time here, in batches by mail_batch),
    its raw source already named so no second full-row UPDATE follows the INSERT."""
    row = Message(
        ticket=ticket,
        kind=Message.Kind.INBOUND,
        channel=inbound.channel,
        from_email=inbound.from_email.strip().lower()[:254],
        from_name=inbound.from_name[:200],
        to=list(inbound.to),
        cc=list(inbound.cc),
        subject=inbound.subject[:250],
        text=inbound.text,
        html=inbound.html,
        new_text=inbound.new_text or inbound.text,
        quoted_text=inbound.quoted_text,
        signature=inbound.signature,
        message_id=inbound.message_id[:255],
        in_reply_to=inbound.in_reply_to[:255],
        references=list(inbound.references),
        headers=inbound.headers,
        is_automatic=inbound.is_automatic,
        automatic_reason=inbound.automatic_reason[:40],
        created_at=received_at,
    )
    if inbound.raw is not None:
        row.raw.save(f"{uuid.uuid4().hex}.eml", ContentFile(inbound.raw), save=False)
    return row


@transaction.atomic
def do_receive_message(ticket: Ticket, message: InboundMessage, *, is_new: bool = False) -> Message:
    """Add a customer's message. A solved ticket reopens; a closed one stays closed and the
    message starts a follow-up ticket linked to it (the returned message's ticket).

    A Message-ID we already hold is stored once: the existing message is returned. A caller
    that has just checked that itself (mail in) says `is_new` to skip the second look-up; the
    unique index still refuses a duplicate that slips in meanwhile.
    """
    if message.message_id and not is_new:
        existing = message_by_id(message.message_id)
        if existing is not None:
            return existing
    ticket = lock_ticket(ticket.pk)
    if ticket.status == Ticket.Status.CLOSED:
        ticket = do_open_ticket(
            channel=message.channel,
            requester_email=message.from_email,
            requester_name=message.from_name,
            subject=message.subject or ticket.subject,
            store=ticket.store,
            mailbox=ticket.mailbox,
            customer=ticket.customer,
            orders=list(ticket.orders.all()),
            follow_up_of=ticket,
        )
        ticket = lock_ticket(ticket.pk)
    received_at = message.received_at or timezone.now()
    stored = inbound_message_row(message, ticket, received_at)
    stored.save(force_insert=True)
    _store_attachments(stored, message.attachments)
    _add_participants(ticket, [(address, "", Participant.Role.CC) for address in message.cc])
    reopened = ticket.status in (Ticket.Status.SOLVED, Ticket.Status.PENDING)
    if reopened and not message.is_automatic:
        _timeline(
            ticket, "status", None, moment=received_at, old=ticket.status, new=Ticket.Status.OPEN
        )
        ticket.status = Ticket.Status.OPEN
        ticket.solved_at = None
    Ticket.objects.filter(pk=ticket.pk).update(
        status=ticket.status,
        solved_at=ticket.solved_at,
        message_count=F("message_count") + 1,
        last_message_at=received_at,
        last_customer_message_at=received_at,
        updated_at=timezone.now(),
    )
    record_event("message_received", ticket_id=ticket.pk, message_id=stored.pk)
    return stored


def reply_with_key(ticket: Ticket, idempotency_key: str) -> Message | None:
    """The reply already sent on this ticket with this idempotency key, if any."""
    return Message.objects.filter(ticket=ticket, headers__idempotency_key=idempotency_key).first()


@transaction.atomic
def do_reply(
    ticket: Ticket,
    *,
    author,
    text: str,
    html: str = "",
    cc: Sequence[str] = (),
    template: ReplyTemplate | None = None,
    status: str | None = None,
    attachments: Sequence[AttachmentIn] = (),
    idempotency_key: str = "",
    at: datetime | None = None,
) -> Message:
    """A public reply: stored, then sent by the channel after commit (email through the
    outbound queue, chat live). `status` sets the ticket's status in the same action.

    An unassigned ticket becomes the author's (`DESK_ASSIGN_ON_REPLY`), through `do_assign`
    with its timeline and audit entries. With an idempotency key (the composer's form token),
    a double submit returns the first reply instead of sending a second one. `at` dates a
    reply written into history (imports, the demo store); it defaults to now.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError("a reply needs some text")
    refuse_unfilled(text, html)
    # The key is looked up under the ticket's row lock: two submits of one reply at the same
    # moment (a retry to another web process) would otherwise both find nothing and both send.
    # The unique constraint on (ticket, key) stands behind the lock.
    ticket = lock_ticket(ticket.pk)
    if idempotency_key:
        existing = reply_with_key(ticket, idempotency_key)
        if existing is not None:
            return existing
    previous = list(
        ticket.messages.exclude(message_id="")
        .exclude(kind=Message.Kind.NOTE)
        .order_by("created_at", "pk")
        .values_list("message_id", "kind")
    )
    references = [message_id for message_id, _ in previous][-20:]
    in_reply_to = next(
        (mid for mid, kind in reversed(previous) if kind == Message.Kind.INBOUND), ""
    )
    now = at or timezone.now()
    subject = ticket.subject or "Your message"
    if ticket.token not in subject:
        subject = f"Re: {subject} {ticket.token}" if previous else f"{subject} {ticket.token}"
    is_email = ticket.channel in (Channel.EMAIL, Channel.FORM, Channel.API)
    try:
        with transaction.atomic():  # a savepoint: a refused insert leaves the transaction usable
            message = Message.objects.create(
                ticket=ticket,
                kind=Message.Kind.OUTBOUND,
                channel=ticket.channel,
                author=author,
                from_email=ticket.mailbox.address if ticket.mailbox_id else "",
                from_name=getattr(author, "display_name", ""),
                to=[ticket.requester_email] if ticket.requester_email else [],
                cc=list(cc),
                subject=subject[:250],
                text=text,
                html=html or text_to_html(text),
                new_text=text,
                message_id=new_message_id(),
                in_reply_to=in_reply_to,
                references=references,
                headers={"idempotency_key": idempotency_key} if idempotency_key else {},
                template=template,
                delivery=Message.Delivery.QUEUED if is_email else Message.Delivery.SENT,
                sent_at=None if is_email else now,
                created_at=now,
            )
    except IntegrityError:
        existing = reply_with_key(ticket, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing  # the same submission, stored by another process a moment ago
    _store_attachments(message, attachments)
    if template is not None:
        ReplyTemplate.objects.filter(pk=template.pk).update(usage_count=F("usage_count") + 1)
    updates = {
        "message_count": F("message_count") + 1,
        "last_message_at": now,
        "last_agent_message_at": now,
        "updated_at": now,
    }
    if ticket.first_response_at is None:
        updates["first_response_at"] = now
    if ticket.stage in (Ticket.Stage.RECEIVE, Ticket.Stage.CLASSIFY):
        updates["stage"] = Ticket.Stage.HANDLE
    new_status = status or (Ticket.Status.OPEN if ticket.status == Ticket.Status.NEW else None)
    Ticket.objects.filter(pk=ticket.pk).update(**updates)
    if new_status and new_status != ticket.status:
        _set_status(ticket, new_status, author, at=at)
    if _takes_ownership(ticket, author):
        do_assign(ticket, actor=author, assignee=author, team=ticket.team, at=at)
    record_audit(
        actor=author,
        action="desk.reply_sent",
        obj=ticket,
        changes={"message": message.pk, "template": template.pk if template else None},
    )
    record_event("message_sent", ticket_id=ticket.pk, message_id=message.pk)
    return message


def _takes_ownership(ticket: Ticket, author) -> bool:
    """Whoever answers an unassigned ticket owns it from then on, so "Mine" shows the work
    they have started (`DESK_ASSIGN_ON_REPLY`, on by default; a team sharing one queue turns
    it off). A ticket someone else owns stays theirs."""
    return (
        settings.DESK_ASSIGN_ON_REPLY
        and ticket.assignee_id is None
        and getattr(author, "pk", None) is not None
        and getattr(author, "is_active", False)
    )


@transaction.atomic
def do_add_note(ticket: Ticket, *, author, text: str) -> Message:
    """An internal note: for the team only, never sent."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("a note needs some text")
    now = timezone.now()
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.NOTE,
        channel=ticket.channel,
        author=author,
        from_name=getattr(author, "display_name", ""),
        text=text,
        html=text_to_html(text),
        new_text=text,
        created_at=now,
    )
    Ticket.objects.filter(pk=ticket.pk).update(message_count=F("message_count") + 1, updated_at=now)
    record_audit(
        actor=author, action="desk.note_added", obj=ticket, changes={"message": message.pk}
    )
    return message


def _set_status(ticket: Ticket, status: str, actor, *, at: datetime | None = None) -> None:
    """Change the status with its timestamps and SOP stage; the caller holds the row lock."""
    if status not in Ticket.Status.values:
        raise ValidationError(f"unknown status: {status}")
    old = ticket.status
    now = at or timezone.now()
    updates: dict = {"status": status, "updated_at": now}
    if status == Ticket.Status.SOLVED:
        updates |= {"solved_at": now, "stage": Ticket.Stage.CLOSE}
    elif status == Ticket.Status.CLOSED:
        updates |= {"closed_at": now, "stage": Ticket.Stage.CLOSE}
    elif old in (Ticket.Status.SOLVED, Ticket.Status.CLOSED):
        updates |= {"solved_at": None, "closed_at": None, "stage": Ticket.Stage.HANDLE}
    Ticket.objects.filter(pk=ticket.pk).update(**updates)
    for name, value in updates.items():
        setattr(ticket, name, value)
    _timeline(ticket, "status", actor, moment=now, old=old, new=status)
    record_audit(
        actor=actor, action="desk.status_changed", obj=ticket, changes={"old": old, "new": status}
    )
    record_event("ticket_status_changed", ticket_id=ticket.pk, old=old, new=status)


@transaction.atomic
def do_change_status(ticket: Ticket, status: str, *, actor, at: datetime | None = None) -> Ticket:
    """`at` dates a change written into history (imports, the demo); it defaults to now."""
    ticket = lock_ticket(ticket.pk)
    if ticket.status != status:
        _set_status(ticket, status, actor, at=at)
    return ticket


@transaction.atomic
def do_assign(
    ticket: Ticket, *, actor, assignee=None, team=None, at: datetime | None = None
) -> Ticket:
    """Assign to an agent and/or a team; None clears it. `at` dates it into history."""
    ticket = lock_ticket(ticket.pk)
    old = {"assignee": ticket.assignee_id, "team": ticket.team_id}
    ticket.assignee, ticket.team = assignee, team
    new = {"assignee": ticket.assignee_id, "team": ticket.team_id}
    if old == new:
        return ticket
    ticket.updated_at = at or timezone.now()
    ticket.save(update_fields=["assignee", "team", "updated_at"])
    _timeline(
        ticket,
        "assigned",
        actor,
        moment=ticket.updated_at,
        old=old,
        new=new,
        assignee=str(assignee or ""),
    )
    record_audit(actor=actor, action="desk.assigned", obj=ticket, changes={"old": old, "new": new})
    record_event("ticket_assigned", ticket_id=ticket.pk, **new)
    return ticket


@transaction.atomic
def do_set_priority(ticket: Ticket, priority: int, *, actor, reason: str = "") -> Ticket:
    if priority not in Ticket.Priority.values:
        raise ValidationError(f"unknown priority: {priority}")
    ticket = lock_ticket(ticket.pk)
    old = ticket.priority
    if old == priority:
        return ticket
    ticket.priority, ticket.updated_at = priority, timezone.now()
    ticket.save(update_fields=["priority", "updated_at"])
    _timeline(ticket, "priority", actor, old=old, new=priority, reason=reason)
    record_audit(
        actor=actor,
        action="desk.priority_changed",
        obj=ticket,
        changes={"old": old, "new": priority},
    )
    record_event("ticket_priority_changed", ticket_ids=[ticket.pk], old=old, new=priority)
    return ticket


@transaction.atomic
def do_set_scored_priorities(
    levels: Mapping[int, tuple[int, str]], *, at: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """Set many tickets' priority from a computed score, `{ticket_id: (level, reason)}`,
    set-based: the tickets are locked in primary-key order, a priority a person set is kept,
    and each change gets its timeline line and audit entry; one `ticket_priority_changed`
    event names them all (SLA policies go by priority). Returns `{ticket_id: (old, new)}`."""
    at = at or timezone.now()
    tickets = list(lock_tickets(*levels).values())
    by_hand = set(
        TicketEvent.objects.filter(ticket_id__in=list(levels), kind="priority", actor__isnull=False)
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    changed = [
        ticket
        for ticket in tickets
        if ticket.pk not in by_hand and ticket.priority != levels[ticket.pk][0]
    ]
    if not changed:
        return {}
    moves = {ticket.pk: (ticket.priority, levels[ticket.pk][0]) for ticket in changed}
    by_level: dict[int, list[int]] = defaultdict(list)
    for pk, (_old, new) in moves.items():
        by_level[new].append(pk)
    for level, pks in by_level.items():
        Ticket.objects.filter(pk__in=pks).update(priority=level, updated_at=at)
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket_id=pk,
            kind="priority",
            actor_label=SYSTEM_ACTOR,
            data={"old": old, "new": new, "reason": levels[pk][1]},
            created_at=at,
        )
        for pk, (old, new) in moves.items()
    )
    record_audit_bulk(
        actor_label=SYSTEM_ACTOR,
        action="desk.priority_changed",
        objects=changed,
        changes_for=lambda ticket: dict(zip(("old", "new"), moves[ticket.pk], strict=True)),
    )
    record_event("ticket_priority_changed", ticket_ids=list(moves))
    return moves


def normalise_tag(name: str) -> str:
    return "-".join((name or "").strip().lower().split())[:60]


@transaction.atomic
def do_set_tags(ticket: Ticket, names: Iterable[str], *, actor) -> list[str]:
    """Replace the ticket's tags (names are normalised: lower case, dashes)."""
    wanted = sorted({normalise_tag(name) for name in names if normalise_tag(name)})
    old = sorted(ticket.tags.values_list("name", flat=True))
    if wanted == old:
        return wanted
    Tag.objects.bulk_create([Tag(name=name) for name in wanted], ignore_conflicts=True)
    ticket.tags.set(Tag.objects.filter(name__in=wanted))
    _timeline(ticket, "tags", actor, old=old, new=wanted)
    record_audit(
        actor=actor, action="desk.tags_changed", obj=ticket, changes={"old": old, "new": wanted}
    )
    return wanted


@transaction.atomic
def do_link_orders(
    ticket: Ticket, orders: Sequence[Order], *, actor, at: datetime | None = None
) -> None:
    already = set(ticket.orders.values_list("pk", flat=True))
    new = [order for order in orders if order.pk not in already]
    if not new:
        return
    ticket.orders.add(*new)
    numbers = [order.number for order in new]
    _timeline(ticket, "orders_linked", actor, moment=at, orders=numbers)
    record_audit(actor=actor, action="desk.orders_linked", obj=ticket, changes={"orders": numbers})
    record_event("ticket_orders_linked", ticket_id=ticket.pk, order_ids=[order.pk for order in new])


@transaction.atomic
def do_set_follow_up(ticket: Ticket, when: datetime | None, *, actor) -> Ticket:
    ticket = lock_ticket(ticket.pk)
    ticket.follow_up_at = when
    if when is not None and ticket.status in (Ticket.Status.SOLVED, Ticket.Status.CLOSED):
        ticket.stage = Ticket.Stage.FOLLOW_UP
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=["follow_up_at", "stage", "updated_at"])
    _timeline(ticket, "follow_up", actor, at=when.isoformat() if when else None)
    record_audit(actor=actor, action="desk.follow_up_set", obj=ticket, changes={"at": when})
    return ticket


@transaction.atomic
def do_merge(source: Ticket, target: Ticket, *, actor) -> Ticket:
    """Move everything of `source` into `target`; `source` closes, pointing at `target`.
    No message is lost: they change ticket, keeping their ids and Message-IDs."""
    if source.pk == target.pk:
        raise ValidationError("a ticket cannot be merged into itself")
    locked = lock_tickets(source.pk, target.pk)
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id:
        raise ValidationError(f"ticket {source.number} was already merged")
    if target.merged_into_id:  # a merge the other way round got there first
        raise ValidationError(f"ticket {target.number} was merged into another ticket")
    moved = Message.objects.filter(ticket=source).update(ticket=target)
    for participant in source.participants.all():
        Participant.objects.get_or_create(
            ticket=target,
            email=participant.email,
            defaults={"name": participant.name, "role": Participant.Role.CC},
        )
    new_orders = list(source.orders.exclude(pk__in=target.orders.values("pk")))
    target.orders.add(*new_orders)
    target.tags.add(*source.tags.all())
    if new_orders:  # what follows a link (risk re-scoring, priority) follows a merge too
        record_event(
            "ticket_orders_linked", ticket_id=target.pk, order_ids=[o.pk for o in new_orders]
        )
    now = timezone.now()
    last = target.messages.order_by("-created_at").values_list("created_at", flat=True).first()
    Ticket.objects.filter(pk=target.pk).update(
        message_count=F("message_count") + moved, last_message_at=last, updated_at=now
    )
    Ticket.objects.filter(pk=source.pk).update(
        merged_into=target,
        status=Ticket.Status.CLOSED,
        closed_at=now,
        message_count=0,
        updated_at=now,
    )
    _timeline(target, "merged_in", actor, other=source.number, messages=moved)
    _timeline(source, "merged_into", actor, other=target.number)
    record_audit(
        actor=actor,
        action="desk.ticket_merged",
        obj=target,
        changes={"source": source.number, "messages": moved},
    )
    target.refresh_from_db()
    return target


@transaction.atomic
def do_split(ticket: Ticket, message_ids: Sequence[int], *, actor, subject: str = "") -> Ticket:
    """Move the chosen messages to a new ticket for the same requester."""
    ticket = lock_ticket(ticket.pk)
    chosen = list(ticket.messages.filter(pk__in=message_ids).order_by("created_at"))
    if not chosen or len(chosen) != len(set(message_ids)):
        raise ValidationError("choose messages of this ticket to split off")
    if len(chosen) == ticket.message_count:
        raise ValidationError("a split must leave at least one message behind")
    new = do_open_ticket(
        channel=ticket.channel,
        requester_email=ticket.requester_email,
        requester_name=ticket.requester_name,
        subject=subject or chosen[0].subject or ticket.subject,
        store=ticket.store,
        mailbox=ticket.mailbox,
        customer=ticket.customer,
        actor=actor,
        created_at=chosen[0].created_at,
    )
    Message.objects.filter(pk__in=[m.pk for m in chosen]).update(ticket=new)
    for target in (ticket, new):
        last = target.messages.order_by("-created_at").values_list("created_at", flat=True)
        Ticket.objects.filter(pk=target.pk).update(
            message_count=target.messages.count(), last_message_at=last.first()
        )
    _timeline(ticket, "split", actor, other=new.number, messages=len(chosen))
    _timeline(new, "split_from", actor, other=ticket.number)
    record_audit(
        actor=actor,
        action="desk.ticket_split",
        obj=ticket,
        changes={"new_ticket": new.number, "messages": [m.pk for m in chosen]},
    )
    new.refresh_from_db()
    return new
