"""A store's page on another origin loads the chat widget with one script tag; the visitor's
message reaches the desk's inbox and the agent's answer reaches the widget within two seconds."""

import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache
from django.test import Client

from storedesk.accounts.roles import Role
from storedesk.desk import live
from storedesk.desk.chat import mark_agent_present
from storedesk.desk.models import ChatSession, Message
from storedesk.desk.services import do_reply
from tests.factories import StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STORE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tiny Pearl</title>
<link rel="icon" href="data:,"></head>
<body><h1>Moonstone ring</h1>
<script src="{desk}/help/widget.js" data-store="tiny-pearl" async></script>
</body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the base class's signature
        pass


def streams_drained() -> bool:
    return live._streams._value == live.MAX_STREAMS


@pytest.fixture
def store_site(page, tmp_path, live_server, settings, monkeypatch):
    """The store's own site: a static page on a second local port, i.e. another origin."""
    cache.clear()  # no agent presence or rate limits left by another test
    (tmp_path / "index.html").write_text(STORE_PAGE.format(desk=live_server.url))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=tmp_path))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    settings.DESK_WIDGET_ORIGINS = [origin]
    monkeypatch.setattr(live, "STREAM_SECONDS", 5.0)  # short streams: the test ends cleanly
    yield origin
    page.close()  # the widget's stream notices at its next heartbeat and ends
    wait_for(streams_drained, timeout=10)
    server.shutdown()
    server.server_close()


@pytest.fixture
def desk(live_server):
    StoreFactory(name="Tiny Pearl", slug="tiny-pearl")
    agent = UserFactory(username="mai", first_name="Mai", roles=[Role.AGENT])
    mark_agent_present(agent)
    return agent


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_widget_conversation_reaches_the_inbox_and_the_answer_reaches_the_widget(
    page, store_site, desk, live_server
):
    assert store_site != live_server.url  # the widget runs cross-origin
    page.goto(f"{store_site}/index.html")
    launcher = page.get_by_role("button", name="Chat with us")
    launcher.click()
    assert launcher.get_attribute("aria-expanded") == "true"
    assert "We're online" in page.locator(".sdchat-status").inner_text()
    page.get_by_label("Your name (optional)").fill("Ava")
    page.get_by_placeholder("Type your message…").fill("Hi! Is the moonstone ring real silver?")
    page.keyboard.press("Enter")
    page.locator(".sdchat-visitor").filter(has_text="real silver").wait_for()

    session = wait_for(lambda: ChatSession.objects.select_related("ticket").first())
    ticket = session.ticket
    assert (ticket.channel, ticket.requester_name) == ("chat", "Ava")
    assert session.page_url.startswith(store_site)
    assert ticket.messages.get().text == "Hi! Is the moonstone ring real silver?"
    inbox = Client()
    inbox.force_login(desk)
    assert ticket.subject in inbox.get("/desk/").content.decode()

    page.wait_for_timeout(300)  # the widget is listening on its event stream
    answered_at = time.monotonic()
    reply = do_reply(ticket, author=desk, text="Yes, it's 925 sterling silver.")
    page.locator(".sdchat-agent").filter(has_text="925 sterling silver").wait_for(timeout=2000)
    latency = time.monotonic() - answered_at

    assert latency < 2.0
    assert Message.objects.get(pk=reply.pk).headers["delivered_by"] == "chat"
    assert page.locator(".sdchat-line").count() == 2
    assert page.console_errors == []


def test_offline_widget_takes_an_email(page, store_site, live_server):
    StoreFactory(name="Tiny Pearl", slug="tiny-pearl")  # nobody has been in the desk
    page.goto(f"{store_site}/index.html")
    page.get_by_role("button", name="Chat with us").click()
    assert "Leave your email" in page.locator(".sdchat-status").inner_text()
    page.get_by_label("Your email, so we can reply").fill("ava@mail.example")
    page.get_by_placeholder("Type your message…").fill("Do you resize rings?")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator(".sdchat-visitor").filter(has_text="resize").wait_for()

    session = wait_for(lambda: ChatSession.objects.select_related("ticket").first())
    assert session.ticket.requester_email == "ava@mail.example"
    assert "We'll reply to ava@mail.example" in page.locator(".sdchat-status").inner_text()
    assert page.console_errors == []


def test_a_visitor_who_started_without_an_email_is_asked_for_one(page, store_site, live_server):
    StoreFactory(name="Tiny Pearl", slug="tiny-pearl")
    page.goto(f"{store_site}/index.html")
    page.get_by_role("button", name="Chat with us").click()
    page.get_by_placeholder("Type your message…").fill("Hello?")
    page.keyboard.press("Enter")  # Enter sends at once, even without the address
    page.locator(".sdchat-visitor").filter(has_text="Hello?").wait_for()

    page.get_by_label("Your email address").fill("noah@mail.example")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("We'll reply to noah@mail.example").wait_for()

    session = ChatSession.objects.select_related("ticket").get()
    assert session.visitor_email == "noah@mail.example"
    assert session.ticket.requester_email == "noah@mail.example"
    assert page.console_errors == []
