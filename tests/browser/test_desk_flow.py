"""Two agents in a real Chromium: one opens a ticket from the inbox with the keyboard and answers
with a template; the other, on the same ticket, sees them there and sees the collision warning."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from storedesk.accounts.roles import Role
from storedesk.desk.models import Message, ReplyTemplate
from storedesk.desk.replies import is_offered
from tests.browser.conftest import CSP_LISTENER, sign_in
from tests.browser.test_order_flow import _assert_no_csp_trouble
from tests.desk.builders import make_ticket
from tests.factories import BASE_TIME, CustomerFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(live_server):
    cache.clear()
    store = StoreFactory()
    CustomerFactory(store=store, first_name="Grace", email="grace@mail.example")
    make_ticket(subject="Old question", requester="old@mail.example", at=BASE_TIME)
    newest = make_ticket(
        subject="Where is my moonstone ring?",
        requester="grace@mail.example",
        at=BASE_TIME + timedelta(days=1),
    )
    # A ticket with no order is offered only templates that need no order facts.
    template = next(
        template
        for template in ReplyTemplate.objects.filter(is_active=True, body__contains="first_name")
        if is_offered(template, frozenset())
    )
    UserFactory(username="mai", roles=[Role.AGENT], first_name="Mai")
    UserFactory(username="lan", roles=[Role.AGENT], first_name="Lan")
    return {"url": live_server.url, "ticket": newest, "template": template}


def _sign_in(page, url, username):
    sign_in(page, f"{url}/desk/", username)


def test_answer_with_a_template_while_a_colleague_sees_the_collision(desk, page):
    url, ticket, template = desk["url"], desk["ticket"], desk["template"]
    ticket_url = f"{url}/desk/tickets/{ticket.number}/"

    colleague_context = page.context.browser.new_context(
        locale="en-US", timezone_id="Asia/Ho_Chi_Minh"
    )
    colleague_context.add_init_script(CSP_LISTENER)
    colleague = colleague_context.new_page()
    colleague.set_default_timeout(10_000)
    _sign_in(colleague, url, "lan")
    colleague.goto(ticket_url)

    _sign_in(page, url, "mai")
    page.keyboard.press("?")
    assert page.locator("#kbd-help").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    assert page.locator("tr.ticket-row.is-current").get_attribute("data-number") == str(
        ticket.number
    )
    page.keyboard.press("o")
    page.wait_for_url(ticket_url)
    page.locator("[data-testid=presence] >> text=Lan is viewing").wait_for()

    with page.expect_response(lambda response: "/template" in response.url) as preview:
        page.select_option("[data-testid=template-picker]", str(template.pk))
    assert preview.value.status == 200
    expect(page.locator("#id_text")).to_have_value(re.compile("Grace"), timeout=10_000)
    page.fill("#id_text", page.input_value("#id_text") + "\n\nP.S. It ships today.")
    colleague.locator("[data-testid=presence] >> text=Mai is typing…").wait_for()
    page.click("[data-testid=send-pending]")
    page.wait_for_url(ticket_url)

    reply = page.locator(".msg-outbound").last
    assert "P.S. It ships today." in reply.inner_text()
    assert page.locator("[data-testid=ticket-status]").inner_text() == "Pending"
    assert Message.objects.get(kind="outbound").template_id == template.pk

    warning = colleague.locator("[data-testid=collision]")
    warning.wait_for()
    assert "Mai replied" in warning.inner_text()
    assert "review before sending" in warning.inner_text()

    colleague.fill("#id_text", "I was about to answer too")
    colleague.click("[data-testid=send]")
    refused = colleague.locator("[data-testid=collision-refused]")
    refused.wait_for()
    assert "Mai replied" in refused.inner_text()
    assert Message.objects.filter(kind="outbound").count() == 1

    _assert_no_csp_trouble(page)
    colleague_errors = colleague.evaluate("window.__cspViolations")
    assert colleague_errors == []
    colleague_context.close()
