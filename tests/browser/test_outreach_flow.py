"""A lead builds a segment, writes a campaign with a coupon, sees the exact recipient count and
the e-mail, sends it, and reads the results; the customer unsubscribes in one click."""

import re
from decimal import Decimal

import pytest
from django.core import mail

from storedesk.accounts.roles import Role
from storedesk.experience.models import CampaignRecipient, MarketingSuppression
from storedesk.experience.services.outreach import unsubscribe_token
from tests.browser.conftest import sign_in
from tests.experience.outreach_builders import buyer
from tests.factories import StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(live_server, settings):
    settings.OUTREACH_SEND_RATE = 0
    store = StoreFactory()
    buyer(store, "Vera", spent="1500.00", days_ago=60, orders=3)
    buyer(store, "Violet", spent="1200.00", days_ago=90, orders=2)
    buyer(store, "Linda", spent="80.00", days_ago=400)
    UserFactory(username="lena", roles=[Role.LEAD], first_name="Lena")
    return live_server.url


def test_lead_sends_a_campaign_and_a_customer_unsubscribes(desk, page):
    url = desk
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    sign_in(page, f"{url}/", "lena")
    page.click("[data-testid=nav-outreach]")
    page.wait_for_url(f"{url}/outreach/campaigns/")

    page.goto(f"{url}/outreach/segments/new/")
    page.fill("#id_name", "Big spenders")
    page.select_option("#id_kind", "vip")
    page.click("button.primary")
    error = page.locator("[role=alert]").first.inner_text()
    assert "This kind of segment needs it." in error  # the lifetime value was left out
    page.fill("#id_min_lifetime_value", "1000")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/outreach/segments/\d+/$"))
    assert "2 customers today" in page.locator("[data-testid=segment-preview]").inner_text()

    page.goto(f"{url}/outreach/campaigns/new/")
    page.fill("#id_name", "Mother's Day")
    page.select_option("#id_segment", label="Big spenders")
    page.select_option("#id_occasion", "mothers_day")
    page.fill("#id_subject", "For Mom, {{ first_name }}")
    page.fill("#id_body", "Hi {{ first_name }}, {{ offer }}")
    page.select_option("#id_offer_kind", "coupon")
    page.fill("#id_offer_amount", "15")
    page.fill("#id_control_percent", "0")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/outreach/campaigns/\d+/$"))
    preview = page.locator("[data-testid=campaign-preview]").text_content()
    assert "2 recipients" in preview
    assert "For Mom, Vera" in preview
    assert "$15.00 off your next order" in preview

    page.click("text=Send now")
    page.wait_for_selector("[data-testid=campaign-results]")
    assert sorted(m.to[0] for m in mail.outbox) == ["vera@mail.example", "violet@mail.example"]
    assert "Sent" in page.locator("[data-testid=campaign-results]").inner_text()

    recipient = CampaignRecipient.objects.get(email="vera@mail.example")
    bodies = " ".join(message.body for message in mail.outbox)
    assert recipient.coupon_code
    assert recipient.coupon_code in bodies
    page.goto(f"{url}/u/{unsubscribe_token(recipient.pk)}/")
    page.click("button.primary")
    assert "You're unsubscribed" in page.locator("[data-testid=unsubscribe]").inner_text()
    assert MarketingSuppression.objects.filter(email="vera@mail.example").exists()
    assert page.evaluate("window.__cspViolations") == []
    assert [e for e in page.console_errors if "status of 400" not in e] == [], missing
    assert recipient.campaign.offer_amount == Decimal(15)
