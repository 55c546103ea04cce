"""Desk services: tickets open, reopen, follow up, thread ids, merge and split losing nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from storedesk.audit.models import AuditEntry
from storedesk.core.models import DomainEvent
from storedesk.desk import services
from storedesk.desk.models import Message, Participant, Ticket, TicketEvent
from storedesk.desk.services import (
    AttachmentIn,
    InboundMessage,
    do_add_note,
    do_assign,
    do_change_status,
    do_merge,
    do_open_ticket,
    do_receive_message,
    do_reply,
    do_set_tags,
    do_split,
    is_our_message_id,
    lock_tickets,
)
from tests.concurrency import run_at_once

pytestmark = pytest.mark.django_db


def inbound(text="Where is my ring?", **kwargs) -> InboundMessage:
    values = {"channel": "email", "from_email": "Emma@Mail.example", "text": text}
    return InboundMessage(**(values | kwargs))


def open_ticket(**kwargs) -> Ticket:
    values = {"channel": "email", "requester_email": "emma@mail.example", "subject": "My ring"}
    return do_open_ticket(**(values | kwargs))


def test_ticket_numbers_are_sequential_and_tokens_carry_them():
    first, second = open_ticket(), open_ticket()
    assert second.number == first.number + 1
    assert first.token == f"[#SD-{first.number}]"
    assert Participant.objects.get(ticket=first).role == "requester"
    assert DomainEvent.objects.filter(name="ticket_created").count() == 2


def test_unknown_channel_is_refused():
    with pytest.raises(ValidationError):
        open_ticket(channel="pigeon")


def test_received_message_updates_the_ticket_and_is_stored_once_per_message_id():
    ticket = open_ticket()
    first = do_receive_message(ticket, inbound(message_id="<a@mail.example>"))
    again = do_receive_message(ticket, inbound(message_id="<a@mail.example>"))
    assert again.pk == first.pk
    ticket.refresh_from_db()
    assert ticket.message_count == 1
    assert ticket.last_customer_message_at == first.created_at
    assert first.from_email == "emma@mail.example"


def test_customer_reply_reopens_a_solved_ticket():
    ticket = open_ticket()
    do_change_status(ticket, "solved", actor=None)
    do_receive_message(ticket, inbound("Still not here"))
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.solved_at is None


def test_auto_reply_does_not_reopen():
    ticket = open_ticket()
    do_change_status(ticket, "solved", actor=None)
    do_receive_message(ticket, inbound("I am out of office", is_automatic=True))
    ticket.refresh_from_db()
    assert ticket.status == "solved"


def test_reply_after_close_opens_a_linked_follow_up_ticket():
    ticket = open_ticket()
    do_change_status(ticket, "closed", actor=None)
    message = do_receive_message(ticket, inbound("One more thing"))
    assert message.ticket_id != ticket.pk
    assert message.ticket.follow_up_of_id == ticket.pk
    assert message.ticket.status == "new"
    ticket.refresh_from_db()
    assert ticket.status == "closed"


def test_reply_threads_and_stamps_first_response_once(agent):
    ticket = open_ticket()
    do_receive_message(ticket, inbound(message_id="<c1@mail.example>"))
    reply = do_reply(ticket, author=agent, text="It ships today.", status="pending")
    assert is_our_message_id(reply.message_id)
    assert reply.in_reply_to == "<c1@mail.example>"
    assert reply.references == ["<c1@mail.example>"]
    assert ticket.token in reply.subject
    assert reply.delivery == "queued"
    assert "<p>It ships today.</p>" in reply.html
    ticket.refresh_from_db()
    first_response = ticket.first_response_at
    assert ticket.status == "pending"
    assert ticket.stage == "handle"
    do_reply(ticket, author=agent, text="Tracking attached.")
    ticket.refresh_from_db()
    assert ticket.first_response_at == first_response
    assert DomainEvent.objects.filter(name="message_sent").count() == 2


def test_double_submitted_reply_is_sent_once(agent):
    ticket = open_ticket()
    first = do_reply(ticket, author=agent, text="Hello", idempotency_key="form-1")
    second = do_reply(ticket, author=agent, text="Hello", idempotency_key="form-1")
    assert first.pk == second.pk
    assert Message.objects.filter(kind="outbound").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_reply_submitted_twice_at_the_same_moment_is_sent_once(agent, mailoutbox):
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks and concurrent connections (PostgreSQL)")
    ticket = open_ticket()

    outcomes = run_at_once(
        *[lambda: do_reply(ticket, author=agent, text="Hello", idempotency_key="form-1").pk] * 4
    )

    assert len(set(outcomes)) == 1, outcomes
    assert Message.objects.filter(kind="outbound").count() == 1
    assert len(mailoutbox) == 1


def test_an_idempotency_key_is_unique_within_its_ticket(agent):
    ticket, other = open_ticket(), open_ticket()
    first = do_reply(ticket, author=agent, text="Hello", idempotency_key="form-1")
    do_reply(other, author=agent, text="Hello", idempotency_key="form-1")  # another ticket
    do_reply(ticket, author=agent, text="No key")
    do_reply(ticket, author=agent, text="No key either")

    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            ticket=ticket,
            kind="outbound",
            channel="email",
            headers={"idempotency_key": "form-1"},
            created_at=first.created_at,
        )


def test_a_submission_the_look_up_missed_is_answered_with_the_stored_reply(agent, monkeypatch):
    """What the unique constraint catches when the look-up is not enough (the same submission
    not yet visible to it): the insert is refused and the first reply is returned, unsent twice."""
    ticket = open_ticket()
    first = do_reply(ticket, author=agent, text="Hello", idempotency_key="form-1")
    look_ups = []
    look_up = services.reply_with_key

    def misses_once(ticket, key):
        look_ups.append(key)
        return None if len(look_ups) == 1 else look_up(ticket, key)

    monkeypatch.setattr(services, "reply_with_key", misses_once)
    again = do_reply(ticket, author=agent, text="Hello", idempotency_key="form-1")

    assert again.pk == first.pk
    assert look_ups == ["form-1", "form-1"]
    assert Message.objects.filter(ticket=ticket, kind="outbound").count() == 1
    assert AuditEntry.objects.filter(action="desk.reply_sent").count() == 1


def test_reply_escapes_html_typed_by_the_agent(agent):
    ticket = open_ticket()
    reply = do_reply(ticket, author=agent, text="<script>alert(1)</script>")
    assert "<script>" not in reply.html
    assert "&lt;script&gt;" in reply.html


def test_empty_reply_and_note_are_refused(agent):
    ticket = open_ticket()
    with pytest.raises(ValidationError):
        do_reply(ticket, author=agent, text="  ")
    with pytest.raises(ValidationError):
        do_add_note(ticket, author=agent, text="")


def test_oversized_and_executable_attachments_are_refused(agent, settings):
    settings.DESK_MAX_ATTACHMENT_BYTES = 10
    ticket = open_ticket()
    with pytest.raises(ValidationError, match="larger than"):
        do_receive_message(
            ticket, inbound(attachments=[AttachmentIn("photo.jpg", "image/jpeg", b"x" * 11)])
        )
    with pytest.raises(ValidationError, match="not accepted"):
        do_receive_message(ticket, inbound(attachments=[AttachmentIn("a.exe", "x", b"MZ")]))
    assert not Message.objects.exists()


def test_note_is_internal_and_audited(agent):
    ticket = open_ticket()
    note = do_add_note(ticket, author=agent, text="Customer called too")
    assert note.kind == "note"
    assert note.delivery == "none"
    assert AuditEntry.objects.filter(action="desk.note_added", object_id=str(ticket.pk)).exists()


def test_assign_and_tags_write_the_timeline(agent):
    ticket = open_ticket()
    do_assign(ticket, actor=agent, assignee=agent)
    assert do_set_tags(ticket, ["VIP customer", "vip-customer", " "], actor=agent) == [
        "vip-customer"
    ]
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == ["created", "assigned", "tags"]


def test_merge_moves_every_message_and_closes_the_source(agent):
    source, target = open_ticket(), open_ticket(requester_email="other@mail.example")
    do_receive_message(source, inbound("one"))
    do_receive_message(source, inbound("two"))
    do_receive_message(target, inbound("three", from_email="other@mail.example"))
    merged = do_merge(source, target, actor=agent)
    assert merged.message_count == 3
    assert Message.objects.filter(ticket=target).count() == 3
    source.refresh_from_db()
    assert source.status == "closed"
    assert source.merged_into_id == target.pk
    assert set(target.participants.values_list("email", flat=True)) == {
        "emma@mail.example",
        "other@mail.example",
    }
    with pytest.raises(ValidationError):
        do_merge(source, target, actor=agent)


def test_a_ticket_merged_away_is_no_merge_target(agent):
    first, second = open_ticket(), open_ticket()
    do_merge(first, second, actor=agent)
    with pytest.raises(ValidationError, match="merged into another"):
        do_merge(second, first, actor=agent)
    second.refresh_from_db()
    assert second.merged_into_id is None


def test_lock_tickets_locks_the_tickets_asked_for_and_skips_missing_ones():
    first, second = open_ticket(), open_ticket()
    with transaction.atomic():
        locked = lock_tickets(second.pk, first.pk, 999_999)
    assert list(locked) == [first.pk, second.pk]


@pytest.mark.django_db(transaction=True)
def test_tickets_are_locked_in_key_order_and_only_their_own_rows():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes no row locks")
    first, second = open_ticket(), open_ticket()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        lock_tickets(second.pk, first.pk)
    sql = queries.captured_queries[-1]["sql"]
    assert 'ORDER BY "desk_ticket"."id" ASC' in sql
    assert 'FOR UPDATE OF "desk_ticket"' in sql


@pytest.mark.django_db(transaction=True)
def test_two_merges_in_opposite_directions_at_once_neither_deadlock_nor_cross(agent):
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks and concurrent connections (PostgreSQL)")
    first, second = open_ticket(), open_ticket(requester_email="other@mail.example")
    do_receive_message(first, inbound("one"))
    do_receive_message(second, inbound("two", from_email="other@mail.example"))

    outcomes = run_at_once(
        lambda: do_merge(first, second, actor=agent).pk,
        lambda: do_merge(second, first, actor=agent).pk,
    )

    merged = [outcome for outcome in outcomes if isinstance(outcome, int)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(merged) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert isinstance(refused[0], ValidationError), outcomes
    assert Ticket.objects.filter(merged_into__isnull=False).count() == 1
    assert Message.objects.filter(ticket_id=merged[0]).count() == 2


def test_split_moves_chosen_messages_to_a_new_ticket(agent):
    ticket = open_ticket()
    keep = do_receive_message(ticket, inbound("about the ring"))
    moved = do_receive_message(ticket, inbound("and a new question about earrings"))
    new = do_split(ticket, [moved.pk], actor=agent)
    moved.refresh_from_db()
    keep.refresh_from_db()
    assert moved.ticket_id == new.pk
    assert keep.ticket_id == ticket.pk
    ticket.refresh_from_db()
    assert (ticket.message_count, new.message_count) == (1, 1)
    with pytest.raises(ValidationError):
        do_split(ticket, [keep.pk], actor=agent)
