"""Email in stays cheap per mail (pinned query counts) while behaving the same: numbers in
order without gaps, the raw source kept, a racing duplicate still refused by the index."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storedesk.core.models import NamedSequence
from storedesk.desk.mail_in import do_ingest_batch
from storedesk.desk.models import Message, Ticket
from storedesk.desk.services import (
    FIRST_TICKET_NUMBER,
    TICKET_COUNTER,
    InboundMessage,
    do_receive_message,
    next_ticket_number,
)
from tests.desk.mail_helpers import build_mail, media  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def test_ticket_numbers_start_at_the_first_and_follow_without_gaps():
    assert not NamedSequence.objects.filter(name=TICKET_COUNTER).exists()
    numbers = [next_ticket_number() for _ in range(3)]
    assert numbers == [FIRST_TICKET_NUMBER, FIRST_TICKET_NUMBER + 1, FIRST_TICKET_NUMBER + 2]
    assert NamedSequence.objects.get(name=TICKET_COUNTER).value == FIRST_TICKET_NUMBER + 2


def test_a_new_mail_is_stored_in_few_queries_with_its_raw_source():
    do_ingest_batch([("warm-up", build_mail(message_id="<warm@mail.example>"))])
    raw = build_mail(message_id="<new@mail.example>", sender="Ava <ava@mail.example>")
    with CaptureQueriesContext(connection) as queries:
        (result,) = do_ingest_batch([("test", raw)])
    assert result.outcome == "stored"
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert not any('"desk_message"' in sql.split("SET")[0] for sql in updates)
    assert len(queries.captured_queries) <= 21  # savepoints included; was 24
    message = Message.objects.get(message_id="<new@mail.example>")
    assert message.raw.read() == raw
    assert message.ticket.number == FIRST_TICKET_NUMBER + 1


def test_a_duplicate_that_skipped_the_look_up_is_still_refused():
    (first,) = do_ingest_batch([("a", build_mail(message_id="<once@mail.example>"))])
    ticket = first.message.ticket
    again = InboundMessage(
        channel="email", from_email="emma@mail.example", text="x", message_id="<once@mail.example>"
    )
    with pytest.raises(Exception, match="UNIQUE|unique|duplicate"):
        do_receive_message(ticket, again, is_new=True)
    assert do_receive_message(ticket, again) == first.message
    assert Ticket.objects.get().message_count == 1
