"""A lead writes a routing rule in the browser; a new customer email arrives through the mail
intake; the rule fires and the lead sees the firing on the ticket's timeline."""

import pytest

from storedesk.accounts.roles import Role
from storedesk.desk.mail_in import do_ingest_email
from storedesk.desk.models import Ticket
from storedesk.triage.models import RoutingRule
from tests.browser.conftest import sign_in
from tests.factories import StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAIL = b"""From: Grace Hopper <grace@mail.example>
To: care@store.example
Subject: Question about my ring size
Message-ID: <ring-size-1@mail.example>
Date: Mon, 23 Nov 2026 09:00:00 +0000
Content-Type: text/plain; charset=utf-8

Hi, the ring I want comes in size 7 only? Thanks, Grace
"""


@pytest.fixture
def desk(live_server):
    StoreFactory()
    UserFactory(username="lena", roles=[Role.LEAD], first_name="Lena")
    return live_server.url


def test_lead_creates_a_rule_and_sees_it_fire_on_a_new_message(desk, page):
    url = desk
    sign_in(page, f"{url}/triage/", "lena")

    page.click("[data-testid=new-rule]")
    page.fill("#rule-name", "Sizing questions")
    page.fill("#rule-condition", ":subject: like '%ring%' and :priority: = 'banana' or")
    page.fill("#rule-actions", "tag sizing\npriority high")
    page.click("[data-testid=rule-save]")
    assert "When, column" in page.locator("[data-testid=rule-error]").inner_text()
    assert RoutingRule.objects.count() == 0  # nothing half-saved

    page.fill("#rule-condition", ":subject: like '%ring%'")
    page.click("[data-testid=rule-test]")
    assert "0 tickets" in page.locator("[data-testid=rule-test-result]").inner_text()
    page.click("[data-testid=rule-save]")
    page.wait_for_url(f"{url}/triage/")
    assert page.locator("[data-testid=rule-row]").count() == 1

    do_ingest_email(MAIL, source="browser-test")
    ticket = Ticket.objects.get(requester_email="grace@mail.example")
    page.goto(f"{url}/desk/tickets/{ticket.number}/")
    fired = page.locator("[data-testid=rule-fired]")
    assert "Sizing questions" in fired.inner_text()
    assert "tagged sizing" in fired.inner_text()
    page.locator("[data-testid=triage-panel]").wait_for()
    assert page.locator("[data-testid=sla-clocks]").is_visible()
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.HIGH
    assert page.evaluate("window.__cspViolations") == []
    # The refused save answered 400 (the browser logs that); nothing else went wrong.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
