"""Email in, set-based: a batch threads and stores exactly as the mails would one by one
(replies to a ticket the same batch opened, duplicates inside the batch, reopening, the cases
left to the one-mail path in the middle of a batch), in a few queries per batch."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from storedesk.audit.models import AuditEntry
from storedesk.core.models import DomainEvent
from storedesk.desk import mail_batch
from storedesk.desk.mail_in import do_ingest_batch
from storedesk.desk.models import Message, Participant, Ticket, TicketEvent
from storedesk.desk.services import do_change_status
from tests.desk.mail_helpers import build_mail, media  # noqa: F401
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

EMMA = "Emma Stone <emma@mail.example>"
AVA = "Ava Brown <ava@mail.example>"
CONVERSATION = "AdmDKq0pvOcE0a1lT6yzdEvsfNa3GA=="


def _corpus() -> list[bytes]:
    """One batch with every case: new, reply, Thread-Index, duplicate, auto-reply, reopen,
    follow-up of a closed ticket, a claimed token, another customer's reply, a refused file,
    and replies to mails the batch itself stored (before and after the one-mail cases)."""
    mail = build_mail
    return [
        mail(sender=EMMA, message_id="<a1@mail.example>"),
        mail(sender=EMMA, message_id="<a2@mail.example>", in_reply_to="<a1@mail.example>"),
        mail(sender=AVA, message_id="<c1@mail.example>", headers={"Thread-Index": CONVERSATION}),
        mail(
            sender=AVA,
            subject="RE: my ring",
            message_id="<c2@mail.example>",
            headers={"Thread-Index": CONVERSATION + "AAAAAA=="},
        ),
        mail(sender=EMMA, message_id="<a1@mail.example>"),  # the same mail fetched twice
        mail(
            sender=EMMA,
            subject="Automatic reply: out of office",
            message_id="<a3@mail.example>",
            in_reply_to="<a2@mail.example>",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        mail(
            sender=EMMA,
            subject="Out of office",
            message_id="<s1@mail.example>",
            in_reply_to="<solved@mail.example>",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        mail(sender=EMMA, message_id="<s2@mail.example>", in_reply_to="<solved@mail.example>"),
        mail(sender=EMMA, message_id="<x2@mail.example>", in_reply_to="<closed@mail.example>"),
        mail(sender=EMMA, message_id="<x3@mail.example>", in_reply_to="<x2@mail.example>"),
        mail(
            sender="Liam Stranger <liam@else.example>",
            subject="Re: about [#TP-1001]",
            message_id="<t1@else.example>",
        ),
        mail(
            sender="Olivia Johnson <olivia@mail.example>",
            message_id="<o1@mail.example>",
            in_reply_to="<a1@mail.example>",
        ),
        mail(
            sender=AVA,
            message_id="<f1@mail.example>",
            attachments=[("setup.exe", "application/octet-stream", b"MZ")],
        ),
        mail(sender=AVA, message_id="<f2@mail.example>", in_reply_to="<f1@mail.example>"),
        mail(sender=EMMA, message_id="<a4@mail.example>", references="<a1@mail.example>"),
    ]


def _given_history() -> None:
    """Emma and Olivia are customers; Emma has a solved ticket and a closed one."""
    CustomerFactory(email="emma@mail.example")
    CustomerFactory(email="olivia@mail.example")
    for message_id, status in [
        ("<solved@mail.example>", "solved"),
        ("<closed@mail.example>", "closed"),
    ]:
        (result,) = do_ingest_batch([("history", build_mail(sender=EMMA, message_id=message_id))])
        do_change_status(result.message.ticket, status, actor=None)


def _snapshot() -> dict:
    numbers = dict(Ticket.objects.values_list("pk", "number"))  # ids differ between runs
    tickets = {
        ticket.pk: (
            ticket.number,
            ticket.status,
            ticket.message_count,
            numbers.get(ticket.follow_up_of_id),
        )
        for ticket in Ticket.objects.all()
    }
    return {
        "messages": sorted(
            (m.message_id, m.kind, tickets[m.ticket_id][0], m.is_automatic, m.text[:40])
            for m in Message.objects.all()
        ),
        "tickets": sorted(tickets.values(), key=str),
        "events": sorted(
            (tickets[e.ticket_id][0], e.kind, str(sorted(e.data.items())))
            for e in TicketEvent.objects.all()
        ),
        "participants": sorted(
            (tickets[p.ticket_id][0], p.email, p.role) for p in Participant.objects.all()
        ),
        "domain_events": sorted(DomainEvent.objects.values_list("name", flat=True)),
        "audit": sorted(AuditEntry.objects.values_list("action", flat=True)),
    }


def _ingest_and_snapshot(outcomes: list) -> dict:
    with transaction.atomic():
        _given_history()
        results = do_ingest_batch([("test", raw) for raw in _corpus()])
        outcomes.extend(result.outcome for result in results)
        snapshot = _snapshot()
        transaction.set_rollback(True)
    return snapshot


def test_a_batch_stores_what_the_mails_one_by_one_would(monkeypatch):
    set_based, one_by_one = [], []
    batched = _ingest_and_snapshot(set_based)

    def always_alone(*args, **kwargs):
        raise mail_batch._OneByOne

    monkeypatch.setattr(mail_batch, "_decide", always_alone)
    alone = _ingest_and_snapshot(one_by_one)

    assert set_based == one_by_one
    assert set_based.count("duplicate") == 1
    assert set_based.count("stored") == 14
    assert batched == alone


def test_replies_inside_one_batch_join_the_ticket_the_batch_opened():
    results = do_ingest_batch(
        [
            ("1", build_mail(message_id="<n1@mail.example>")),
            ("2", build_mail(message_id="<n2@mail.example>", in_reply_to="<n1@mail.example>")),
            ("3", build_mail(message_id="<n3@mail.example>", references="<n2@mail.example>")),
        ]
    )
    assert {result.message.ticket_id for result in results} == {Ticket.objects.get().pk}
    ticket = Ticket.objects.get()
    assert ticket.message_count == 3
    assert ticket.last_message_at == Message.objects.get(message_id="<n3@mail.example>").created_at
    assert list(DomainEvent.objects.order_by("pk").values_list("name", flat=True)) == [
        "ticket_created",
        "message_received",
        "message_received",
        "message_received",
    ]


def test_a_mail_twice_in_one_batch_is_stored_once():
    raw = build_mail(message_id="<twice@mail.example>")
    first, second = do_ingest_batch([("a", raw), ("b", raw)])
    assert (first.outcome, second.outcome) == ("stored", "duplicate")
    assert second.message == first.message
    assert Message.objects.count() == 1


def test_a_reply_reopens_a_solved_ticket_and_an_auto_reply_does_not():
    (first,) = do_ingest_batch([("a", build_mail(message_id="<r1@mail.example>"))])
    do_change_status(first.message.ticket, "solved", actor=None)
    auto = build_mail(
        message_id="<r2@mail.example>",
        in_reply_to="<r1@mail.example>",
        headers={"Auto-Submitted": "auto-replied"},
    )
    do_ingest_batch([("b", auto)])
    ticket = Ticket.objects.get()
    assert (ticket.status, ticket.message_count) == ("solved", 2)
    reply = build_mail(message_id="<r3@mail.example>", in_reply_to="<r1@mail.example>")
    do_ingest_batch([("c", reply)])
    ticket = Ticket.objects.get()
    assert (ticket.status, ticket.solved_at, ticket.message_count) == ("open", None, 3)
    assert TicketEvent.objects.filter(ticket=ticket, kind="status").latest("pk").data == {
        "old": "solved",
        "new": "open",
    }


def test_a_batch_costs_a_few_queries_not_a_dozen_per_mail():
    do_ingest_batch([("warm-up", build_mail(message_id="<warm@mail.example>"))])
    mails = [
        ("new", build_mail(sender=f"c{n} <c{n}@mail.example>", message_id=f"<b{n}@mail.example>"))
        for n in range(20)
    ] + [
        ("reply", build_mail(message_id=f"<r{n}@mail.example>", in_reply_to="<warm@mail.example>"))
        for n in range(5)
    ]
    with CaptureQueriesContext(connection) as queries:
        results = do_ingest_batch(mails)
    assert [result.outcome for result in results] == ["stored"] * 25
    assert Ticket.objects.count() == 21
    assert Ticket.objects.get(messages__message_id="<warm@mail.example>").message_count == 6
    # 4 look-ups (Message-IDs, tickets, customers, store), 2 for 20 ticket numbers, 6 bulk
    # inserts, 1 UPDATE for the tickets that received mail, 4 savepoint statements
    assert len(queries.captured_queries) == 17
