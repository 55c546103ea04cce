"""Email out: an outbound message becomes one email, sent by a task, at most once.

The delivery state of a message is the whole protocol:

    queued --(task claims it, commits)--> sending --(SMTP accepted, commits)--> sent
                                                  --(transient error)--> queued (retry later)
                                                  --(permanent error / too many)--> failed

The SMTP conversation happens between two short transactions, never inside one (a write lock
held over the network would stall every writer on SQLite). So the only unsafe moment is a crash
after the server accepted the mail and before `sent` committed. The guarantee we give is
**at most once, automatically**: a message still `sending` after `STALE_SENDING` is never resent
blindly; `recover_stale_sending` marks it `failed` with an "unknown outcome" error that the desk
shows, and a person decides with `do_resend_message`. A resend keeps the same Message-ID, so
clients that already hold the first copy (Gmail, Outlook, Apple Mail) show it once.

Chat replies are delivered live in the widget and are not emailed, unless the visitor left an
email address and is not connected when the agent answers (the conversation continues by email).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone, translation

from storedesk.audit.services import record_audit
from storedesk.core.events import handles, record_event
from storedesk.core.models import DomainEvent
from storedesk.core.retry import RetryPolicy
from storedesk.core.scheduler import periodic
from storedesk.core.tasks import enqueue_on_commit
from storedesk.desk.chat import visitor_is_connected
from storedesk.desk.models import Channel, Mailbox, Message, Ticket
from storedesk.desk.replies import refuse_unfilled
from storedesk.desk.services import lock_ticket, new_message_id, text_to_html

logger = logging.getLogger(__name__)

MAIL_QUEUE = "mail"
RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=1), max_attempts=6)
MAX_ATTEMPTS = RETRY.max_attempts
STALE_SENDING = timedelta(minutes=10)
UNKNOWN_OUTCOME = (
    "Sending was interrupted after the mail server may have accepted it; not resent "
    "automatically. Check with the customer, then resend if needed."
)


class TransientDeliveryError(Exception):
    """Worth trying again later: the server or the network said 'not now'."""


class PermanentDeliveryError(Exception):
    """Trying again cannot help: a bad address, a refused recipient, a broken message."""


# --- building the email ----------------------------------------------------------------------


def _mailbox_for(ticket: Ticket) -> Mailbox | None:
    """The ticket's own mailbox, else the desk's first active one (replies must reach us)."""
    if ticket.mailbox_id:
        return ticket.mailbox
    return Mailbox.objects.filter(is_active=True).order_by("pk").first()


def sender_for(message: Message) -> tuple[str, list[str]]:
    """(From, Reply-To): the mailbox the customer wrote to, else DEFAULT_FROM_EMAIL."""
    ticket = message.ticket
    mailbox = _mailbox_for(ticket)
    store_name = ticket.store.name if ticket.store_id else ""
    if mailbox is not None:
        display = store_name or mailbox.name
        return formataddr((display, mailbox.address)), [mailbox.address]
    default_name, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    reply_to = ticket.store.support_email if ticket.store_id and ticket.store.support_email else ""
    return (
        formataddr((store_name or default_name, default_address)),
        [reply_to] if reply_to else [],
    )


def build_email(message: Message) -> EmailMultiAlternatives:
    """The email for an outbound message: text and HTML parts, attachments and the threading
    headers stored on the message, so what we send is exactly what the timeline shows."""
    if message.kind != Message.Kind.OUTBOUND:
        raise PermanentDeliveryError("only replies are emailed")
    recipients = [address for address in message.to if address]
    if not recipients:
        raise PermanentDeliveryError("the ticket has no email address to reply to")
    from_address, reply_to = sender_for(message)
    headers = {"Message-ID": message.message_id}
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
    if message.references:
        headers["References"] = " ".join(message.references)
    if message.is_automatic:
        # RFC 3834: an automatic answer; Outlook's header stops its auto-replies answering it.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    subject = message.subject or message.ticket.subject
    if message.ticket.token not in subject:
        subject = f"{subject} {message.ticket.token}".strip()
    with translation.override("en-us"):
        html = render_to_string(
            "desk/email/reply.html",
            {"message": message, "body": message.html or text_to_html(message.text)},
        )
    email = EmailMultiAlternatives(
        subject=subject,
        body=message.text,
        from_email=from_address,
        to=recipients,
        cc=[address for address in message.cc if address],
        reply_to=reply_to,
        headers=headers,
    )
    email.attach_alternative(html, "text/html")
    for attachment in message.attachments.order_by("pk"):
        with attachment.file.open("rb") as stored:
            email.attach(attachment.filename, stored.read(), attachment.content_type)
    return email


# --- classifying failures --------------------------------------------------------------------


def classify_failure(error: Exception) -> type[Exception]:
    """Transient (retry) or permanent (fail now), by SMTP reply code: 4xx is 'try later'."""
    if isinstance(error, PermanentDeliveryError | TransientDeliveryError):
        return type(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return PermanentDeliveryError if codes and min(codes) >= 500 else TransientDeliveryError
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return TransientDeliveryError  # our configuration: fixable without touching the mail
    if isinstance(error, smtplib.SMTPResponseException):
        return PermanentDeliveryError if error.smtp_code >= 500 else TransientDeliveryError
    if isinstance(error, smtplib.SMTPException | OSError):
        return TransientDeliveryError  # disconnected, refused, timed out
    if isinstance(error, ValueError | UnicodeError):
        return PermanentDeliveryError  # an address or header Django cannot encode
    return TransientDeliveryError


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{error.smtp_code} {text}"[:2000]
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        parts = []
        for address, (code, text) in error.recipients.items():
            text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
            parts.append(f"{address}: {code} {text}")
        return "; ".join(parts)[:2000]
    return f"{type(error).__name__}: {error}"[:2000]


# --- the sending task ------------------------------------------------------------------------


def _header_time(message: Message, key: str) -> datetime | None:
    """Delivery bookkeeping kept in the message's headers JSON (ISO datetimes)."""
    value = message.headers.get(key)
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _claim(message_pk: int) -> Message | None:
    """queued → sending, under the row lock; None when someone else has it or it is done."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("ticket", "ticket__store", "ticket__mailbox")
            .filter(pk=message_pk)
            .first()
        )
        if message is None or message.delivery != Message.Delivery.QUEUED:
            return None
        now = timezone.now()  # an early retry (a duplicate enqueue) is harmless: not claimed twice
        message.delivery = Message.Delivery.SENDING
        message.delivery_attempts += 1
        message.headers = {**message.headers, "sending_since": now.isoformat()}
        message.headers.pop("retry_at", None)
        message.save(update_fields=["delivery", "delivery_attempts", "headers"])
        return message


def _finish(message: Message, *, error: Exception | None) -> str:
    """sending → sent / queued (retry) / failed, in one short transaction."""
    now = timezone.now()
    with transaction.atomic():
        current = Message.objects.select_for_update(of=("self",)).get(pk=message.pk)
        if current.delivery != Message.Delivery.SENDING:
            return current.delivery  # recovered by the stale sweep meanwhile: keep its verdict
        headers = {k: v for k, v in current.headers.items() if k != "sending_since"}
        if error is None:
            current.delivery, current.sent_at, current.delivery_error = "sent", now, ""
            outcome = "sent"
        else:
            kind = classify_failure(error)
            current.delivery_error = _describe(error)
            retry_at = RETRY.next_attempt_at(current.delivery_attempts, now)
            if kind is TransientDeliveryError and retry_at is not None:
                current.delivery = Message.Delivery.QUEUED
                headers["retry_at"] = retry_at.isoformat()
                outcome = "retry"
                _enqueue_delivery(current.pk, run_after=retry_at)
            else:
                current.delivery = Message.Delivery.FAILED
                outcome = "failed"
                record_event(
                    "message_delivery_failed", ticket_id=current.ticket_id, message_id=current.pk
                )
        current.headers = headers
        current.save(update_fields=["delivery", "sent_at", "delivery_error", "headers"])
    if outcome != "sent":
        logger.warning(
            "Delivery of message %s: %s (%s)", current.pk, outcome, current.delivery_error
        )
    return outcome


@task(queue_name=MAIL_QUEUE)
def deliver_message(message_pk: int) -> str:
    """Send one outbound message by email; idempotent (only a `queued` message is sent)."""
    message = _claim(message_pk)
    if message is None:
        return "skipped"
    try:
        try:
            email = build_email(message)
        except (OSError, ValueError) as broken:  # a missing attachment file, a bad header
            raise PermanentDeliveryError(f"the email could not be built: {broken}") from broken
        accepted = email.send(using="default")
        if not accepted:
            raise TransientDeliveryError("the mail backend accepted nothing")
    except Exception as error:  # every failure is classified and kept visible
        return _finish(message, error=error)
    return _finish(message, error=None)


def _enqueue_delivery(message_pk: int, run_after=None) -> None:
    """After commit; deferred when the task backend can defer, else the retry sweep picks it up."""
    target = deliver_message
    if run_after is not None:
        if not deliver_message.get_backend().supports_defer:
            return
        target = deliver_message.using(run_after=run_after)
    enqueue_on_commit(target, message_pk)


# --- events and sweeps -----------------------------------------------------------------------


@handles("message_sent")
def on_message_sent(event: DomainEvent) -> None:
    """Email an outbound message: always for email-like channels; for chat only when the
    visitor left an address and is not connected. Replays of the event change nothing."""
    message_pk = event.payload.get("message_id")
    message = (
        Message.objects.select_related("ticket", "ticket__chat")
        .filter(pk=message_pk, kind=Message.Kind.OUTBOUND)
        .first()
    )
    if message is None:
        return
    if message.channel == Channel.CHAT:
        _continue_chat_by_email(message)
        return
    if message.delivery == Message.Delivery.QUEUED:
        _enqueue_delivery(message.pk)


def _continue_chat_by_email(message: Message) -> None:
    """A chat reply nobody is there to read live goes by email to the address the visitor left.
    Decided once: the message records `delivered_by`, so a replayed event does not flip it."""
    if message.headers.get("delivered_by") or message.delivery_attempts:
        return
    session = getattr(message.ticket, "chat", None)
    email = (session.visitor_email if session else "") or message.ticket.requester_email
    by_email = bool(email) and not visitor_is_connected(message.ticket)
    headers = {**message.headers, "delivered_by": "email" if by_email else "chat"}
    updates = {"headers": headers}
    if by_email:
        updates |= {"delivery": Message.Delivery.QUEUED, "sent_at": None, "to": [email]}
    Message.objects.filter(pk=message.pk, delivery_attempts=0).update(**updates)
    if by_email:
        _enqueue_delivery(message.pk)


def retry_due_messages(now=None) -> int:
    """Re-enqueue queued messages whose retry time has come (backends that cannot defer, and
    tasks lost with a worker). Claiming is idempotent, so an extra enqueue is harmless."""
    now = now or timezone.now()
    count = 0
    queued = Message.objects.filter(delivery=Message.Delivery.QUEUED).only("pk", "headers")
    for message in queued.order_by("created_at")[:500]:
        retry_at = _header_time(message, "retry_at")
        if retry_at is None or retry_at <= now:
            deliver_message.enqueue(message.pk)
            count += 1
    return count


def recover_stale_sending(now=None) -> int:
    """`sending` for longer than STALE_SENDING means the worker died mid-send: the server may
    have accepted it. Never resent blindly: marked failed with an 'unknown outcome' error."""
    now = now or timezone.now()
    cutoff = now - STALE_SENDING
    recovered = 0
    stale = Message.objects.filter(delivery=Message.Delivery.SENDING).only("pk", "headers")
    for candidate in stale.order_by("created_at")[:500]:
        since = _header_time(candidate, "sending_since")
        if since is not None and since > cutoff:
            continue
        with transaction.atomic():
            message = Message.objects.select_for_update(of=("self",)).get(pk=candidate.pk)
            if message.delivery != Message.Delivery.SENDING:
                continue
            message.delivery = Message.Delivery.FAILED
            message.delivery_error = UNKNOWN_OUTCOME
            message.save(update_fields=["delivery", "delivery_error"])
            record_event(
                "message_delivery_failed", ticket_id=message.ticket_id, message_id=message.pk
            )
        recovered += 1
    return recovered


@periodic("desk-outbound-mail", every=timedelta(minutes=1))
@task(queue_name=MAIL_QUEUE)
def sweep_outbound_mail() -> dict:
    return {"retried": retry_due_messages(), "recovered": recover_stale_sending()}


# --- services --------------------------------------------------------------------------------


@transaction.atomic
def do_resend_message(message: Message, *, actor) -> Message:
    """A person's decision to send a failed reply again (same Message-ID, so it threads and
    clients that got the first copy show it once)."""
    message = Message.objects.select_for_update(of=("self",)).get(pk=message.pk)
    if message.kind != Message.Kind.OUTBOUND or message.delivery != Message.Delivery.FAILED:
        raise ValidationError("only a reply that failed to send can be sent again")
    if not message.to:
        raise ValidationError("the reply has no recipient")
    message.delivery = Message.Delivery.QUEUED
    message.delivery_attempts = 0
    message.headers = {k: v for k, v in message.headers.items() if k != "retry_at"}
    message.save(update_fields=["delivery", "delivery_attempts", "headers"])
    record_audit(
        actor=actor,
        action="desk.reply_resent",
        obj=message.ticket,
        changes={"message": message.pk, "error": message.delivery_error},
    )
    _enqueue_delivery(message.pk)
    return message


@transaction.atomic
def do_send_acknowledgement(ticket: Ticket, *, text: str, reason: str) -> Message:
    """An automatic answer (e.g. 'we got your message'): emailed with Auto-Submitted, shown on
    the timeline, and not counted as the team's first response."""
    refuse_unfilled(text)
    ticket = lock_ticket(ticket.pk)
    if not ticket.requester_email:
        raise ValidationError("the ticket has no email address to answer")
    now = timezone.now()
    subject = f"Re: {ticket.subject or 'Your message'} {ticket.token}"
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.OUTBOUND,
        channel=ticket.channel,
        from_email=ticket.mailbox.address if ticket.mailbox_id else "",
        to=[ticket.requester_email],
        subject=subject[:250],
        text=text,
        html=text_to_html(text),
        new_text=text,
        message_id=new_message_id(),
        references=list(
            ticket.messages.exclude(message_id="")
            .order_by("created_at", "pk")
            .values_list("message_id", flat=True)[:20]
        ),
        is_automatic=True,
        automatic_reason=reason[:40],
        delivery=Message.Delivery.QUEUED,
        created_at=now,
    )
    message.in_reply_to = message.references[-1] if message.references else ""
    if message.in_reply_to:
        message.save(update_fields=["in_reply_to"])
    Ticket.objects.filter(pk=ticket.pk).update(message_count=F("message_count") + 1, updated_at=now)
    record_audit(
        actor=None,
        action="desk.acknowledgement_sent",
        obj=ticket,
        changes={"message": message.pk, "reason": reason},
    )
    record_event("message_sent", ticket_id=ticket.pk, message_id=message.pk)
    return message
