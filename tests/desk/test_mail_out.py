"""Email out against a real SMTP server on loopback (aiosmtpd): headers that thread, both parts,
attachments; sent once however often the task or the event runs; retries and visible failures."""

import email
import email.policy
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from storedesk.core import events
from storedesk.core.models import DomainEvent
from storedesk.desk import mail_out
from storedesk.desk.chat import do_leave_email, do_start_chat
from storedesk.desk.models import ChatSession, Mailbox, Message
from storedesk.desk.services import (
    AttachmentIn,
    InboundMessage,
    do_open_ticket,
    do_receive_message,
    do_reply,
)
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

IMMEDIATE_TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "mail", "webhooks"],
    }
}


class RecordingHandler:
    """Accepts mail, or answers with the next scripted SMTP reply (e.g. '451 …')."""

    def __init__(self):
        self.received = []
        self.replies = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        if self.replies:
            return self.replies.pop(0)
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp_mailers(port: int) -> dict:
    options = {"host": "127.0.0.1", "port": port, "timeout": 5}
    return {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}
    }


@pytest.fixture
def smtp():
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    with override_settings(MAILERS=smtp_mailers(controller.port), TASKS=IMMEDIATE_TASKS):
        yield handler
    controller.stop()


def parsed(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


@pytest.fixture
def ticket():
    store = StoreFactory(name="Tiny Pearl")
    mailbox = Mailbox.objects.create(name="Support", address="help@tinypearl.example")
    opened = do_open_ticket(
        channel="email",
        requester_email="emma@mail.example",
        subject="Where is my ring?",
        store=store,
        mailbox=mailbox,
    )
    do_receive_message(
        opened,
        InboundMessage(
            channel="email",
            from_email="emma@mail.example",
            subject="Where is my ring?",
            text="Hi, my ring has not arrived.",
            message_id="<first@mail.example>",
        ),
    )
    return opened


@pytest.fixture
def agent():
    return UserFactory(username="mai", first_name="Mai")


def reply(ticket, agent, **kwargs):
    values = {"author": agent, "text": "Hi Emma,\nyour ring ships today.\nMai"}
    return do_reply(ticket, **(values | kwargs))


def test_reply_arrives_with_threading_headers_both_parts_and_attachments(smtp, ticket, agent):
    photo = AttachmentIn(filename="label.png", content_type="image/png", data=b"\x89PNG label")
    message = reply(ticket, agent, attachments=[photo], cc=["sister@mail.example"])

    message.refresh_from_db()
    assert message.delivery == "sent"
    assert message.delivery_attempts == 1
    assert message.sent_at is not None
    assert len(smtp.received) == 1
    envelope = smtp.received[0]
    assert sorted(envelope.rcpt_tos) == ["emma@mail.example", "sister@mail.example"]
    assert envelope.mail_from == "help@tinypearl.example"
    sent = parsed(envelope)
    assert sent["Message-ID"] == message.message_id
    assert sent["In-Reply-To"] == "<first@mail.example>"
    assert sent["References"] == "<first@mail.example>"
    assert ticket.token in sent["Subject"]
    assert sent["From"] == "Tiny Pearl <help@tinypearl.example>"
    assert sent["Reply-To"] == "help@tinypearl.example"
    assert sent["Auto-Submitted"] is None
    parts = {part.get_content_type(): part for part in sent.walk()}
    assert "your ring ships today." in parts["text/plain"].get_content()
    assert "<p>Hi Emma,<br>your ring ships today.<br>Mai</p>" in parts["text/html"].get_content()
    assert parts["image/png"].get_filename() == "label.png"
    assert parts["image/png"].get_content() == b"\x89PNG label"


def test_sent_once_when_the_task_runs_twice_and_the_event_is_dispatched_again(smtp, ticket, agent):
    message = reply(ticket, agent)
    event = DomainEvent.objects.get(name="message_sent", payload__message_id=message.pk)

    assert mail_out.deliver_message.call(message.pk) == "skipped"
    assert events.dispatch_event.call(event.pk) == "skipped"
    mail_out.on_message_sent(event)  # a handler replayed by hand, past the outbox's guard
    assert mail_out.retry_due_messages() == 0

    assert len(smtp.received) == 1
    message.refresh_from_db()
    assert (message.delivery, message.delivery_attempts) == ("sent", 1)


def test_a_transient_failure_is_retried_with_backoff_then_sent(smtp, ticket, agent):
    smtp.replies = ["451 4.3.0 Mailbox temporarily unavailable"]
    message = reply(ticket, agent)

    message.refresh_from_db()
    assert message.delivery == "queued"
    assert message.delivery_attempts == 1
    assert message.delivery_error.startswith("451 4.3.0")
    retry_at = mail_out._header_time(message, "retry_at")
    assert retry_at - timezone.now() > timedelta(seconds=50)
    assert mail_out.retry_due_messages() == 0  # not before its time
    assert smtp.received == []

    assert mail_out.retry_due_messages(now=retry_at + timedelta(seconds=1)) == 1

    message.refresh_from_db()
    assert (message.delivery, message.delivery_attempts, message.delivery_error) == ("sent", 2, "")
    assert len(smtp.received) == 1
    assert parsed(smtp.received[0])["Message-ID"] == message.message_id


def test_a_permanent_failure_is_visible_and_not_retried(smtp, ticket, agent):
    smtp.replies = ["550 5.1.1 <emma@mail.example>: no such user"]
    message = reply(ticket, agent)

    message.refresh_from_db()
    assert message.delivery == "failed"
    assert "550 5.1.1" in message.delivery_error
    assert DomainEvent.objects.filter(
        name="message_delivery_failed", payload__message_id=message.pk
    ).exists()
    assert mail_out.retry_due_messages(now=timezone.now() + timedelta(days=1)) == 0
    assert smtp.received == []


def test_retries_stop_after_the_last_attempt(smtp, ticket, agent):
    smtp.replies = ["421 4.7.0 Try again later"] * mail_out.MAX_ATTEMPTS
    message = reply(ticket, agent)
    for _ in range(mail_out.MAX_ATTEMPTS):
        mail_out.retry_due_messages(now=timezone.now() + timedelta(days=1))
    message.refresh_from_db()
    assert message.delivery == "failed"
    assert message.delivery_attempts == mail_out.MAX_ATTEMPTS
    assert smtp.received == []


def test_no_server_is_a_transient_failure():
    port = free_port()  # nobody listens there
    with override_settings(MAILERS=smtp_mailers(port), TASKS=IMMEDIATE_TASKS):
        store = StoreFactory()
        ticket = do_open_ticket(channel="form", requester_email="liam@mail.example", store=store)
        message = reply(ticket, UserFactory())
    message.refresh_from_db()
    assert message.delivery == "queued"
    assert "ConnectionRefusedError" in message.delivery_error


def test_a_send_interrupted_after_the_server_may_have_accepted_is_never_resent_blindly(
    smtp, ticket, agent
):
    with override_settings(
        TASKS={"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    ):
        message = reply(ticket, agent)  # queued; nothing runs it
    claimed = mail_out._claim(message.pk)  # the worker claimed it … and died mid-send
    assert claimed.delivery == "sending"
    assert mail_out.deliver_message.call(message.pk) == "skipped"  # a second worker keeps off

    assert mail_out.recover_stale_sending() == 0  # too recent to judge
    assert mail_out.recover_stale_sending(now=timezone.now() + timedelta(minutes=11)) == 1

    message.refresh_from_db()
    assert message.delivery == "failed"
    assert message.delivery_error == mail_out.UNKNOWN_OUTCOME
    assert mail_out.retry_due_messages(now=timezone.now() + timedelta(days=1)) == 0
    assert smtp.received == []

    mail_out.do_resend_message(message, actor=agent)  # a person decides
    message.refresh_from_db()
    assert message.delivery == "sent"
    assert len(smtp.received) == 1
    assert parsed(smtp.received[0])["Message-ID"] == message.message_id
    with pytest.raises(ValidationError):
        mail_out.do_resend_message(message, actor=agent)


def test_acknowledgement_is_marked_automatic_and_is_not_a_first_response(smtp, ticket):
    message = mail_out.do_send_acknowledgement(ticket, text="We got it.", reason="form_ack")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    sent = parsed(smtp.received[0])
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["X-Auto-Response-Suppress"] == "All"
    assert sent["In-Reply-To"] == "<first@mail.example>"
    assert sent["Message-ID"] == message.message_id


def test_without_a_mailbox_the_default_sender_and_the_store_support_address_are_used(smtp, agent):
    store = StoreFactory(name="Tiny Pearl", support_email="care@tinypearl.example")
    ticket = do_open_ticket(channel="api", requester_email="noah@mail.example", store=store)
    with override_settings(DEFAULT_FROM_EMAIL="Desk <desk@tinypearl.example>"):
        reply(ticket, agent)
    sent = parsed(smtp.received[0])
    assert sent["From"] == "Tiny Pearl <desk@tinypearl.example>"
    assert sent["Reply-To"] == "care@tinypearl.example"


def test_chat_replies_are_live_while_the_visitor_is_there(smtp, agent):
    session = do_start_chat(text="Is this ring real gold?", email="ava@mail.example")
    message = reply(session.ticket, agent, text="Yes, 14k solid gold.")
    message.refresh_from_db()
    assert message.delivery == "sent"
    assert message.headers["delivered_by"] == "chat"
    assert smtp.received == []


def test_chat_replies_are_emailed_once_the_visitor_left_an_address_and_is_gone(smtp, agent):
    session = do_start_chat(text="Do you ship to Hawaii?")
    do_leave_email(session, email="Ava@Mail.example", name="Ava")
    ChatSession.objects.filter(pk=session.pk).update(
        visitor_seen_at=timezone.now() - timedelta(minutes=5)
    )
    message = reply(session.ticket, agent, text="Yes, we ship to Hawaii for free.")

    message.refresh_from_db()
    assert message.delivery == "sent"
    assert message.headers["delivered_by"] == "email"
    assert message.to == ["ava@mail.example"]
    assert len(smtp.received) == 1
    sent = parsed(smtp.received[0])
    assert sent["To"] == "ava@mail.example"
    assert session.ticket.token in sent["Subject"]
    event = DomainEvent.objects.get(name="message_sent", payload__message_id=message.pk)
    mail_out.on_message_sent(event)  # a replay neither resends nor flips it back
    assert len(smtp.received) == 1
    assert Message.objects.get(pk=message.pk).delivery_attempts == 1


def test_chat_replies_without_an_address_stay_in_the_chat(smtp, agent):
    session = do_start_chat(text="Hello?")
    ChatSession.objects.filter(pk=session.pk).update(
        visitor_seen_at=timezone.now() - timedelta(minutes=5)
    )
    message = reply(session.ticket, agent, text="Hi! Still there?")
    message.refresh_from_db()
    assert message.delivery == "sent"
    assert message.headers["delivered_by"] == "chat"
    assert smtp.received == []


def test_a_reply_whose_attachment_file_is_gone_fails_visibly_at_once(smtp, ticket, agent):
    nothing_runs = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    with override_settings(TASKS=nothing_runs):
        photo = AttachmentIn(filename="ring.jpg", content_type="image/jpeg", data=b"jpeg")
        message = reply(ticket, agent, attachments=[photo])
    stored = message.attachments.get()
    stored.file.storage.delete(stored.file.name)

    assert mail_out.deliver_message.call(message.pk) == "failed"
    message.refresh_from_db()
    assert message.delivery_error.startswith("PermanentDeliveryError: the email could not be built")
    assert smtp.received == []
