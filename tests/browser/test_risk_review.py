"""A payments specialist works the risk review queue in a real Chromium: opens the riskiest
order, previews a verification message (htmx swap), sends it through the desk, then approves
the order; an order that already shipped offers no cancel."""

import pytest
from django.core import mail

from storedesk.accounts.roles import Role
from storedesk.desk.models import Message
from storedesk.risk.models import OrderRisk, RiskDecision
from tests.browser.conftest import sign_in
from tests.factories import ShipmentFactory, StoreFactory, UserFactory
from tests.risk.review_fixtures import order_in_review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue(live_server):
    store = StoreFactory()
    risky = order_in_review(store)
    OrderRisk.objects.filter(pk=risky.pk).update(score=91)
    order_in_review(store)
    UserFactory(username="linh", roles=[Role.PAYMENTS], first_name="Linh")
    return {"url": live_server.url, "risk": risky}


def _no_csp_trouble(page):
    assert page.evaluate("window.__cspViolations") == []
    assert page.console_errors == []


def test_reviewer_previews_a_verification_then_approves(queue, page):
    url, risk = queue["url"], queue["risk"]
    sign_in(page, f"{url}/risk/review/", "linh")

    rows = page.locator("[data-testid=queue-row]")
    assert rows.count() == 2
    assert rows.first.locator(".score").inner_text() == "91"
    rows.first.locator("a").first.click()
    page.wait_for_url(f"{url}/risk/orders/{risk.order_id}/")
    assert page.locator(".step-current").inner_text().endswith("Check")
    current = page.evaluate(
        "getComputedStyle(document.querySelector('.step-current')).backgroundColor"
    )
    assert current == "rgb(11, 92, 173)"  # the stepper is styled by desk.css, not inline

    page.select_option("#verification-template", "photo_id")
    page.locator("[data-testid=preview-subject]", has_text="confirm your identity").wait_for()
    assert "government-issued photo ID" in page.input_value("#verification-message")
    page.fill("#reason-contact", "Billing name differs from the card")
    page.click("[data-testid=form-contact] button[type=submit]")
    page.locator(".message-success", has_text="Verification request emailed").wait_for()
    assert page.locator(".step-current").inner_text().endswith("Contact the customer")
    sent = Message.objects.get(kind="outbound")
    assert sent.to == [risk.order.email]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == sent.message_id
    page.locator("#timeline summary", has_text="Message:").click()
    assert page.locator("#timeline a", has_text=sent.ticket.token).is_visible()

    page.fill("#reason-approve", "Customer sent a matching ID")
    page.click("[data-testid=form-approve] button[type=submit]")
    page.locator(".message-success", has_text="Order approved").wait_for()
    assert page.locator("[data-testid=review-status]").inner_text() == "Approved"
    _no_csp_trouble(page)
    assert list(RiskDecision.objects.values_list("kind", flat=True).order_by("pk")) == [
        "contact",
        "approve",
    ]


def test_a_shipped_order_in_review_offers_no_cancel(queue, page):
    url, risk = queue["url"], queue["risk"]
    ShipmentFactory(order=risk.order, shipped_at=risk.order.created_at)
    sign_in(page, f"{url}/risk/orders/{risk.order_id}/", "linh")

    refused = page.locator("[data-testid=cancel-refused]")
    assert "it can no longer be cancelled" in refused.inner_text()
    assert page.locator("[data-testid=form-cancel] button").count() == 0
    _no_csp_trouble(page)
