"""Live chat: a website visitor's conversation is a ticket on the chat channel.

The visitor's only credential is the session's secret token, kept by the widget in the
visitor's browser (sessionStorage) and sent in a header. Agents answer with the ordinary
`do_reply`; the widget reads replies through `public_messages`. When no agent has been seen in
the desk lately, the widget asks for an email address, and replies the visitor is no longer
there to read live are emailed (`mail_out`), in the same ticket.

Presence is a cache record, not a table: "an agent was in the desk in the last N minutes".
With several web processes, set REDIS_URL so they share it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Store
from storedesk.core.safe_urls import safe_http_url
from storedesk.desk.deflection import record_contact_after_help
from storedesk.desk.models import Channel, ChatSession, Message, Participant, Ticket, TicketEvent
from storedesk.desk.services import (
    InboundMessage,
    do_open_ticket,
    do_receive_message,
    find_customer,
    lock_ticket,
    text_to_html,
)

MAX_CHAT_TEXT = 5000
AGENT_PRESENCE_KEY = "desk:agents-online"
AGENT_PRESENCE = timedelta(minutes=settings.DESK_CHAT_PRESENCE_MINUTES)
VISITOR_CONNECTED = timedelta(seconds=60)
VISITOR_SEEN_WRITE_EVERY = timedelta(seconds=15)
MAX_MESSAGES_PER_READ = 100


# --- presence --------------------------------------------------------------------------------


def mark_agent_present(user) -> None:
    """Call from the agent's desk pages and live streams: the widget offers live chat while
    someone has been seen within AGENT_PRESENCE."""
    now = timezone.now().timestamp()
    cache.set(AGENT_PRESENCE_KEY, now, timeout=int(AGENT_PRESENCE.total_seconds()))
    cache.set(f"{AGENT_PRESENCE_KEY}:{user.pk}", now, timeout=int(AGENT_PRESENCE.total_seconds()))


def agents_online() -> bool:
    seen = cache.get(AGENT_PRESENCE_KEY)
    return seen is not None and timezone.now().timestamp() - seen < AGENT_PRESENCE.total_seconds()


def visitor_is_connected(ticket: Ticket) -> bool:
    """The widget touches `visitor_seen_at` while it listens; a minute of silence is 'gone'."""
    session = ChatSession.objects.filter(ticket=ticket).only("visitor_seen_at").first()
    return session is not None and timezone.now() - session.visitor_seen_at < VISITOR_CONNECTED


def touch_visitor(session: ChatSession) -> None:
    """Record that the visitor is here, at most one write every few seconds."""
    now = timezone.now()
    if now - session.visitor_seen_at >= VISITOR_SEEN_WRITE_EVERY:
        ChatSession.objects.filter(pk=session.pk).update(visitor_seen_at=now)
        session.visitor_seen_at = now


# --- reading ---------------------------------------------------------------------------------


def session_for_token(token: str) -> ChatSession | None:
    token = (token or "").strip()
    if not token or len(token) > 64:
        return None
    return ChatSession.objects.select_related("ticket").filter(token=token).first()


def conversation_ticket_id(session: ChatSession) -> int:
    """The ticket the chat lives in now (a merge moves it; follow the trail a few steps)."""
    ticket_id, merged_into = session.ticket_id, session.ticket.merged_into_id
    for _hop in range(5):
        if merged_into is None:
            break
        ticket_id = merged_into
        merged_into = Ticket.objects.filter(pk=ticket_id).values_list("merged_into", flat=True)[0]
    return ticket_id


@dataclass(frozen=True)
class ChatLine:
    """What the visitor may see of a message: never internal notes or agents' emails."""

    id: int
    author: str
    from_visitor: bool
    text: str
    at: str

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "author": self.author,
            "from_visitor": self.from_visitor,
            "text": self.text,
            "at": self.at,
        }


def public_messages(session: ChatSession, after_id: int = 0) -> list[ChatLine]:
    """The conversation's public messages after `after_id`, oldest first (one indexed query)."""
    rows = (
        Message.objects.filter(
            ticket_id=conversation_ticket_id(session),
            kind__in=[Message.Kind.INBOUND, Message.Kind.OUTBOUND],
            pk__gt=after_id,
        )
        .order_by("pk")
        .values("pk", "kind", "from_name", "new_text", "text", "created_at", "is_automatic")[
            :MAX_MESSAGES_PER_READ
        ]
    )
    return [
        ChatLine(
            id=row["pk"],
            author=row["from_name"] if row["kind"] == Message.Kind.OUTBOUND else "",
            from_visitor=row["kind"] == Message.Kind.INBOUND,
            text=row["new_text"] or row["text"],
            at=row["created_at"].isoformat(),
        )
        for row in rows
    ]


# --- writing ---------------------------------------------------------------------------------


def clean_chat_text(text: str) -> str:
    text = (text or "").replace("\x00", "").strip()
    if not text:
        raise ValidationError(_("Please type a message."))
    if len(text) > MAX_CHAT_TEXT:
        raise ValidationError(
            _("Please keep a message under %(count)d characters.") % {"count": MAX_CHAT_TEXT}
        )
    return text


def clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    if email:
        validate_email(email)
    return email


def _inbound(session: ChatSession, text: str) -> InboundMessage:
    return InboundMessage(
        channel=Channel.CHAT,
        from_email=session.visitor_email or session.ticket.requester_email,
        from_name=session.visitor_name,
        text=text,
        html=text_to_html(text),
        new_text=text,
        headers={"chat_session": session.pk},
    )


@transaction.atomic
def do_start_chat(
    *,
    text: str,
    name: str = "",
    email: str = "",
    page_url: str = "",
    ip: str | None = None,
    user_agent: str = "",
    store: Store | None = None,
    help_session: str = "",
) -> ChatSession:
    """A visitor's first message opens a chat ticket and a session with a fresh secret."""
    text = clean_chat_text(text)
    email = clean_email(email)
    name = (name or "").strip()[:200]
    first_line = text.splitlines()[0][:80]
    ticket = do_open_ticket(
        channel=Channel.CHAT,
        requester_email=email,
        requester_name=name,
        subject=f"Chat: {first_line}",
        store=store,
    )
    now = timezone.now()
    session = ChatSession.objects.create(
        ticket=ticket,
        token=secrets.token_urlsafe(32),
        visitor_name=name,
        visitor_email=email,
        page_url=safe_http_url(page_url)[:500],
        ip=ip or None,
        user_agent=(user_agent or "")[:400],
        started_at=now,
        visitor_seen_at=now,
    )
    do_receive_message(ticket, _inbound(session, text))
    record_contact_after_help(ticket, help_session, Channel.CHAT)
    return session


@transaction.atomic
def do_send_visitor_message(session: ChatSession, text: str) -> Message:
    """The visitor writes: an inbound message on the chat's ticket (a closed ticket's chat
    moves on to the follow-up ticket that `do_receive_message` opens)."""
    text = clean_chat_text(text)
    session = ChatSession.objects.select_for_update().select_related("ticket").get(pk=session.pk)
    ticket = Ticket.objects.get(pk=conversation_ticket_id(session))
    message = do_receive_message(ticket, _inbound(session, text))
    now = timezone.now()
    updates = {"visitor_seen_at": now}
    if message.ticket_id != session.ticket_id:
        updates["ticket_id"] = message.ticket_id
    ChatSession.objects.filter(pk=session.pk).update(**updates)
    return message


@transaction.atomic
def do_leave_email(session: ChatSession, *, email: str, name: str = "") -> ChatSession:
    """Nobody is online: the visitor leaves an address and the conversation continues by
    email in the same ticket (the requester becomes that address if it had none)."""
    email = clean_email(email)
    if not email:
        raise ValidationError(_("Please enter your email address."))
    session = ChatSession.objects.select_for_update().select_related("ticket").get(pk=session.pk)
    ticket = lock_ticket(conversation_ticket_id(session))
    name = (name or "").strip()[:200] or session.visitor_name
    old = session.visitor_email
    ChatSession.objects.filter(pk=session.pk).update(visitor_email=email, visitor_name=name)
    session.visitor_email, session.visitor_name = email, name
    ticket_updates = {"updated_at": timezone.now()}
    if not ticket.requester_email:
        ticket_updates |= {"requester_email": email, "requester_name": name}
        if ticket.customer_id is None:
            ticket_updates["customer"] = find_customer(email, ticket.store)
    Ticket.objects.filter(pk=ticket.pk).update(**ticket_updates)
    Participant.objects.get_or_create(
        ticket=ticket, email=email, defaults={"name": name, "role": Participant.Role.REQUESTER}
    )
    TicketEvent.objects.create(
        ticket=ticket,
        kind="chat_email_left",
        actor_label="visitor",
        data={"email": email},
        created_at=timezone.now(),
    )
    record_audit(
        actor=None,
        actor_label="visitor",
        action="desk.chat_email_left",
        obj=ticket,
        changes={"old": old, "new": email},
    )
    return session
