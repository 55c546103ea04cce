"""The open ticket page follows the conversation live, and a reply that failed to send shows
it, with a Resend that sends it at most once more."""

import pytest
from django.core import mail
from django.core.cache import cache

from storedesk.desk.live import ticket_events
from storedesk.desk.mail_in import do_ingest_email
from storedesk.desk.models import Message
from storedesk.desk.services import do_add_note, do_reply
from tests.desk.builders import make_ticket
from tests.desk.mail_helpers import build_mail, media  # noqa: F401
from tests.factories import StoreFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ticket(db):
    StoreFactory()
    return make_ticket(messages=1)


def page_url(ticket) -> str:
    return f"/desk/tickets/{ticket.number}/"


def test_the_page_subscribes_to_its_ticket_stream_from_its_last_message(agent_client, ticket):
    response = agent_client.get(page_url(ticket))
    last = Message.objects.get(ticket=ticket).pk
    assert f'data-live-url="/desk/live/tickets/{ticket.number}/stream"' in response.text
    assert f'data-live-messages="/desk/tickets/{ticket.number}/messages/"' in response.text
    assert f'data-last-message="{last}"' in response.text


def test_a_customer_mail_reaches_the_stream_and_its_rendered_message_is_served(
    agent_client, ticket, django_assert_num_queries
):
    shown = Message.objects.get(ticket=ticket).pk
    html = '<p>It came <b>broken</b><script>alert("x")</script></p>'
    result = do_ingest_email(
        build_mail(
            subject=f"Re: Where is my ring? {ticket.token}",
            message_id="<live@mail.example>",
            text="It came broken.",
            html=html,
        ),
        source="test",
    )
    assert result.message.ticket_id == ticket.pk
    assert [event["id"] for event in ticket_events(ticket.pk, shown)] == [result.message.pk]

    with django_assert_num_queries(7):  # session, user, 2 permissions, ticket, messages, files
        response = agent_client.get(f"{page_url(ticket)}messages/?after={shown}")
    assert response.status_code == 200
    text = response.text
    assert f'id="message-{result.message.pk}"' in text
    assert f'id="message-{shown}"' not in text
    assert "<b>broken</b>" in text
    assert "<script" not in text
    assert "<html" not in text  # a fragment, not a page


def test_notes_and_replies_appear_too_and_nothing_after_the_last(agent_client, agent, ticket):
    shown = Message.objects.get(ticket=ticket).pk
    note = do_add_note(ticket, author=agent, text="Checked with the carrier")
    reply = do_reply(ticket, author=agent, text="A new ring ships today")
    text = agent_client.get(f"{page_url(ticket)}messages/?after={shown}").text
    assert text.index(f'id="message-{note.pk}"') < text.index(f'id="message-{reply.pk}"')
    latest = agent_client.get(f"{page_url(ticket)}messages/?after={reply.pk}")
    assert 'id="message-' not in latest.text


@pytest.mark.parametrize("after", ["x", "1.5"])
def test_a_bad_position_is_a_clear_error(agent_client, ticket, after):
    response = agent_client.get(f"{page_url(ticket)}messages/?after={after}")
    assert response.status_code == 400
    assert "after must be a message number" in response.text


def test_live_messages_need_the_desk_permission(client, make_user, ticket):
    client.force_login(make_user(None))
    assert client.get(f"{page_url(ticket)}messages/?after=0").status_code == 403


def _failed_reply(ticket, agent) -> Message:
    message = do_reply(ticket, author=agent, text="Your refund is on its way.")
    Message.objects.filter(pk=message.pk).update(
        delivery=Message.Delivery.FAILED, delivery_error="550 mailbox unavailable"
    )
    return message


def test_a_failed_reply_shows_a_badge_the_error_and_a_resend_button(agent_client, agent, ticket):
    message = _failed_reply(ticket, agent)
    text = agent_client.get(page_url(ticket)).text
    assert 'data-testid="delivery-failed"' in text
    assert "550 mailbox unavailable" in text
    assert f'action="/desk/tickets/{ticket.number}/messages/{message.pk}/resend/"' in text


def test_a_delivered_reply_has_no_resend(agent_client, agent, ticket):
    message = do_reply(ticket, author=agent, text="Sent fine.")
    Message.objects.filter(pk=message.pk).update(delivery=Message.Delivery.SENT)
    text = agent_client.get(page_url(ticket)).text
    assert 'data-testid="delivery-failed"' not in text
    assert "/resend/" not in text


def test_resend_sends_a_failed_reply_once_even_when_clicked_twice(
    agent_client, agent, ticket, django_capture_on_commit_callbacks
):
    message = _failed_reply(ticket, agent)
    url = f"{page_url(ticket)}messages/{message.pk}/resend/"
    with django_capture_on_commit_callbacks(execute=True):
        first = agent_client.post(url, follow=True)
    message.refresh_from_db()
    assert first.status_code == 200
    assert message.delivery == "sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == message.message_id

    with django_capture_on_commit_callbacks(execute=True):
        second = agent_client.post(url, follow=True)
    assert "only a reply that failed to send can be sent again" in second.text
    assert len(mail.outbox) == 1


def test_resend_refuses_a_message_of_another_ticket(agent_client, agent, ticket):
    other = make_ticket(requester="liam@mail.example")
    message = _failed_reply(other, agent)
    response = agent_client.post(f"{page_url(ticket)}messages/{message.pk}/resend/")
    assert response.status_code == 404
    message.refresh_from_db()
    assert message.delivery == "failed"


def test_resend_needs_the_permission_to_answer(client, make_user, agent, ticket):
    message = _failed_reply(ticket, agent)
    client.force_login(make_user(None))
    response = client.post(f"{page_url(ticket)}messages/{message.pk}/resend/")
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.delivery == "failed"
