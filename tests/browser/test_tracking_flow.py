"""A customer tracks their order at /track/ in a real Chromium, sees the carrier's scans and
reports "delivered but not received" with a photo; an agent finds the structured ticket at
the top of the inbox, with the order, the declared intent and the photo."""

from datetime import timedelta

import pytest
from django.core.cache import cache

from storedesk.accounts.roles import Role
from storedesk.commerce.models import Shipment
from storedesk.desk.models import Attachment, Ticket
from storedesk.triage.models import MessageAnalysis
from tests.browser.conftest import sign_in
from tests.browser.test_order_flow import _assert_no_csp_trouble
from tests.desk.builders import make_ticket
from tests.experience.tracking_builders import tracked_order
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 256


@pytest.fixture
def shop(live_server):
    cache.clear()
    order = tracked_order(status=Shipment.Status.DELIVERED, days_ago=6, scans=3)
    older = make_ticket(subject="A question about care", requester="old@mail.example")
    Ticket.objects.filter(pk=older.pk).update(last_message_at=older.created_at - timedelta(days=1))
    UserFactory(username="mai", roles=[Role.AGENT], first_name="Mai")
    return {"url": live_server.url, "order": order, "older": older}


def test_a_customer_reports_a_missing_parcel_and_the_agent_sees_it_first(shop, page):
    url = shop["url"]

    page.goto(f"{url}/track/")
    page.fill("#id_order", "TP10234")
    page.fill("#id_email", "Emma.Stone@mail.example")
    page.click("button[type=submit].primary")
    page.locator("[data-testid=track-order]").wait_for()
    scans = page.locator("[data-testid=track-scans] li")
    assert scans.count() == 3
    assert "Scan 3: arrived at USPS facility" in scans.first.inner_text()  # newest first
    assert "signed for by E STONE" in page.inner_text("[data-testid=track-parcel]")

    page.check("[data-testid=report-delivered_not_received]")
    page.fill("#id_message", "Nothing at the door, the neighbors don't have it either.")
    page.set_input_files(
        "#id_photos", files=[{"name": "porch.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.click("[data-testid=report-send]")
    confirmation = page.locator("[data-testid=track-reported]")
    confirmation.wait_for()
    ticket = Ticket.objects.exclude(pk=shop["older"].pk).get()
    assert ticket.token in confirmation.inner_text()
    _assert_no_csp_trouble(page)

    agent = page.context.browser.new_context(locale="en-US", timezone_id="Asia/Ho_Chi_Minh")
    desk = agent.new_page()
    desk.set_default_timeout(10_000)
    sign_in(desk, f"{url}/desk/", "mai")
    first_row = desk.locator("tr.ticket-row").first
    assert first_row.get_attribute("data-number") == str(ticket.number)
    assert "Tracking says delivered, but not received" in first_row.inner_text()
    desk.goto(f"{url}/desk/tickets/{ticket.number}/")
    body = desk.inner_text("body")
    assert "Problem: Delivered but not received" in body
    assert "Order: #TP10234" in body
    assert "porch.png" in body
    assert MessageAnalysis.objects.get(ticket=ticket).primary_intent == "delivered_not_received"
    assert Attachment.objects.get(message__ticket=ticket).filename == "porch.png"
    assert list(ticket.orders.values_list("number", flat=True)) == ["#TP10234"]
    agent.close()
