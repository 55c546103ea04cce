"""Threading: reply headers first, then Outlook's Thread-Index, then the token with the right
sender; never the subject alone, never across customers."""

import pytest

from storedesk.desk.mail_in import do_ingest_email
from storedesk.desk.models import Message, Ticket
from storedesk.desk.numbering import check_ticket_prefixes
from storedesk.desk.services import do_change_status, do_merge, do_open_ticket, do_reply
from tests.desk.mail_helpers import build_mail, media  # noqa: F401
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def ingest(**kwargs) -> Message:
    result = do_ingest_email(build_mail(**kwargs), source="test")
    assert result.outcome == "stored", result
    return result.message


@pytest.fixture
def first():
    return ingest(message_id="<first@mail.example>")


def test_reply_to_the_customers_message_joins_its_ticket(first):
    reply = ingest(message_id="<second@mail.example>", in_reply_to="<first@mail.example>")
    assert reply.ticket_id == first.ticket_id
    assert Ticket.objects.count() == 1


def test_reply_to_our_reply_joins_even_when_in_reply_to_is_rewritten(first):
    ours = do_reply(first.ticket, author=UserFactory(), text="We are on it.")
    reply = ingest(
        message_id="<third@mail.example>",
        in_reply_to="<rewritten-by-a-client@mail.example>",
        references=f"<unknown@mail.example> {ours.message_id}",
        subject="Re: something else entirely",
    )
    assert reply.ticket_id == first.ticket_id


def test_outlook_thread_index_joins_the_senders_conversation():
    conversation = "AdmDKq0pvOcE0a1lT6yzdEvsfNa3GA=="
    first = ingest(message_id="<o1@mail.example>", headers={"Thread-Index": conversation})
    again = ingest(
        message_id="<o2@mail.example>",
        subject="RE: Where is my ring?",
        headers={"Thread-Index": conversation + "AAAAAA=="},
    )
    assert again.ticket_id == first.ticket_id
    stranger = ingest(
        sender="someone@else.example",
        message_id="<o3@mail.example>",
        headers={"Thread-Index": conversation},
    )
    assert stranger.ticket_id != first.ticket_id


def test_token_threads_for_the_same_sender(first):
    token = first.ticket.token
    reply = ingest(message_id="<t2@mail.example>", subject=f"Re: my ring {token}")
    assert reply.ticket_id == first.ticket_id


def test_token_from_a_stranger_starts_a_flagged_ticket(first):
    token = first.ticket.token
    other = ingest(
        sender="mallory@evil.example", message_id="<t3@evil.example>", subject=f"Re: {token}"
    )
    assert other.ticket_id != first.ticket_id
    assert other.headers["claimed_ticket"] == first.ticket.number
    note = other.ticket.messages.get(kind=Message.Kind.NOTE)
    assert token in note.text
    assert first.ticket.messages.count() == 1


def test_token_from_a_participant_joins(first):
    ingest(
        message_id="<cc1@mail.example>",
        in_reply_to="<first@mail.example>",
        headers={"Cc": "husband@mail.example"},
    )
    token = first.ticket.token
    from_cc = ingest(
        sender="husband@mail.example", message_id="<cc2@mail.example>", subject=f"Re: {token}"
    )
    assert from_cc.ticket_id == first.ticket_id


def test_subject_alone_never_threads(first):
    same_subject = ingest(message_id="<s2@mail.example>", subject=first.subject)
    assert same_subject.ticket_id != first.ticket_id


def test_reply_headers_never_cross_customers():
    emma = CustomerFactory(email="emma@mail.example")
    CustomerFactory(email="liam@mail.example", store=emma.store)
    first = ingest(message_id="<c1@mail.example>")
    assert first.ticket.customer_id == emma.pk
    liam = ingest(
        sender="liam@mail.example", message_id="<c2@mail.example>", in_reply_to="<c1@mail.example>"
    )
    assert liam.ticket_id != first.ticket_id
    assert liam.headers["claimed_ticket"] == first.ticket.number


def test_reply_to_a_merged_ticket_reaches_the_surviving_ticket(first):
    target = do_open_ticket(channel="email", requester_email="emma@mail.example")
    do_merge(first.ticket, target, actor=None)
    reply = ingest(message_id="<m2@mail.example>", in_reply_to="<first@mail.example>")
    assert reply.ticket_id == target.pk


def test_reply_after_close_opens_a_linked_follow_up(first):
    do_change_status(first.ticket, Ticket.Status.CLOSED, actor=None)
    reply = ingest(message_id="<f2@mail.example>", in_reply_to="<first@mail.example>")
    assert reply.ticket.follow_up_of_id == first.ticket_id


def test_threading_lookups_use_indexes(first, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        from storedesk.desk.mailparse import parse_email
        from storedesk.desk.threading import find_thread

        match = find_thread(
            parse_email(
                build_mail(message_id="<q@mail.example>", in_reply_to="<first@mail.example>")
            )
        )
    assert match.ticket.pk == first.ticket_id


# --- Ticket references unlike order numbers ('[#SD-…]' next to '#TP17397'), and tickets
# numbered with the old prefix still thread.


def test_ticket_tokens_carry_their_own_prefix_unlike_order_numbers(first):
    assert first.ticket.token == f"[#SD-{first.ticket.number}]"


def test_a_reply_with_a_pre_change_token_threads_into_the_same_ticket(first):
    reply = ingest(
        message_id="<legacy-1@mail.example>", subject=f"Re: my ring [#TP-{first.ticket.number}]"
    )

    assert reply.ticket_id == first.ticket_id


def test_a_reply_to_a_pre_change_message_id_threads_by_its_headers(first):
    """Our old outbound Message-IDs are stored with their messages: headers still match."""
    ours = do_reply(first.ticket, author=UserFactory(), text="We are on it.")
    Message.objects.filter(pk=ours.pk).update(message_id="<TP-legacy.1@storedesk.local>")

    reply = ingest(
        message_id="<legacy-2@mail.example>",
        in_reply_to="<TP-legacy.1@storedesk.local>",
        references="<first@mail.example> <TP-legacy.1@storedesk.local>",
        subject="Re: something else [#TP-999999]",
    )

    assert reply.ticket_id == first.ticket_id


def test_the_prefix_is_configurable_and_the_previous_one_keeps_threading(settings, first):
    settings.TICKET_PREFIX, settings.TICKET_LEGACY_PREFIXES = "CARE", ("SD", "TP")
    number = first.ticket.number

    assert first.ticket.token == f"[#CARE-{number}]"
    for index, token in enumerate([f"[#CARE-{number}]", f"[#SD-{number}]", f"[#tp-{number}]"]):
        reply = ingest(message_id=f"<p{index}@mail.example>", subject=f"Re: ring {token}")
        assert reply.ticket_id == first.ticket_id


def test_a_prefix_that_is_not_a_legacy_one_does_not_thread(settings, first):
    settings.TICKET_LEGACY_PREFIXES = ()

    reply = ingest(message_id="<n1@mail.example>", subject=f"Re: [#TP-{first.ticket.number}]")

    assert reply.ticket_id != first.ticket_id


@pytest.mark.parametrize(
    ("prefix", "legacy", "errors"),
    [("SD", ("TP",), []), ("sd-", ("TP",), ["desk.E001"]), ("TP", ("TP",), ["desk.E002"])],
)
def test_a_bad_ticket_prefix_setting_is_a_system_check_error(settings, prefix, legacy, errors):
    settings.TICKET_PREFIX, settings.TICKET_LEGACY_PREFIXES = prefix, legacy

    assert [error.id for error in check_ticket_prefixes()] == errors
