"""An agent with a ticket open sees the customer's new mail appear without reloading, and
resends a reply whose delivery failed from the badge on it, in a real Chromium."""

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from storedesk.accounts.roles import Role
from storedesk.desk.mail_in import do_ingest_email
from storedesk.desk.models import Message
from storedesk.desk.services import do_reply
from tests.browser.test_desk_flow import _sign_in
from tests.browser.test_order_flow import _assert_no_csp_trouble
from tests.desk.builders import make_ticket
from tests.desk.mail_helpers import build_mail, media  # noqa: F401
from tests.factories import StoreFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("media"),
]


@pytest.fixture
def desk(live_server):
    cache.clear()
    StoreFactory()
    ticket = make_ticket(subject="Where is my moonstone ring?", requester="grace@mail.example")
    agent = UserFactory(username="mai", roles=[Role.AGENT], first_name="Mai")
    return {"url": live_server.url, "ticket": ticket, "agent": agent}


def test_a_customer_mail_appears_on_the_open_ticket_without_a_reload(desk, page):
    url, ticket = desk["url"], desk["ticket"]
    _sign_in(page, url, "mai")
    page.goto(f"{url}/desk/tickets/{ticket.number}/")
    expect(page.locator("[data-testid=message]")).to_have_count(1)
    page.evaluate("window.__notReloaded = true")

    result = do_ingest_email(
        build_mail(
            sender="Grace Lee <grace@mail.example>",
            subject=f"Re: Where is my moonstone ring? {ticket.token}",
            message_id="<live-1@mail.example>",
            text="Any news? It was a birthday gift.",
        ),
        source="browser-test",
    )
    assert result.message.ticket_id == ticket.pk

    arrived = page.locator(f"#message-{result.message.pk}")
    expect(arrived).to_be_visible(timeout=5_000)
    expect(arrived).to_contain_text("It was a birthday gift.")
    expect(page.locator("[data-testid=message]")).to_have_count(2)
    assert page.evaluate("window.__notReloaded") is True
    _assert_no_csp_trouble(page)


def test_a_failed_reply_is_resent_from_its_badge_once(desk, page):
    url, ticket, agent = desk["url"], desk["ticket"], desk["agent"]
    reply = do_reply(ticket, author=agent, text="Your ring ships today.")
    Message.objects.filter(pk=reply.pk).update(
        delivery=Message.Delivery.FAILED, delivery_error="550 mailbox unavailable"
    )
    mail.outbox.clear()
    _sign_in(page, url, "mai")
    page.goto(f"{url}/desk/tickets/{ticket.number}/")

    failure = page.locator(f"#message-{reply.pk} [data-testid=delivery-failed]")
    expect(failure).to_contain_text("550 mailbox unavailable")
    failure.locator("[data-testid=resend]").click()
    expect(page.locator(f"#message-{reply.pk} [data-testid=delivery]")).to_have_text("Sent")
    expect(page.locator(f"#message-{reply.pk} [data-testid=delivery-failed]")).to_have_count(0)
    assert len(mail.outbox) == 1
    _assert_no_csp_trouble(page)
