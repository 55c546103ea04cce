"""A dispute arrives by a signed Stripe webhook, appears at the top of the disputes queue with
its deadline; the specialist opens its evidence pack, edits the rebuttal and submits it to a
local server shaped like Stripe's API, in a real Chromium."""

import hashlib
import hmac
import json
import time
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.disputes.models import Dispute
from storedesk.disputes.reasons import seed_reason_rules
from tests.browser.conftest import sign_in
from tests.disputes.builders import disputed_order
from tests.factories import OrderFactory, PaymentFactory, ShipmentFactory, StoreFactory, UserFactory
from tests.shared_data import shared_json

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SECRET = "whsec_browser_disputes"


def _signed_post(url: str, event: dict) -> int:
    body = json.dumps(event).encode()
    timestamp = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(  # noqa: S310 - the live test server's http URL
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": f"t={timestamp},v1={mac}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the live test server
        return response.status


@pytest.fixture
def stripe_api(httpserver, settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_SECRET_KEY = "sk_test_browser"
    settings.STRIPE_API_BASE = httpserver.url_for("")
    settings.STRIPE_FILES_API_BASE = httpserver.url_for("")
    return httpserver


def test_a_webhook_dispute_is_answered_from_the_queue(live_server, page, stripe_api):
    fixtures = shared_json("fixtures/stripe/fixtures3.json")["resources"]
    seed_reason_rules()  # the shipped rules: an earlier transactional test flushed them
    store = StoreFactory()
    disputed_order(store=store, due_in=timedelta(days=12))  # an older dispute, due later
    order = OrderFactory(store=store, number="#TP77001", number_key="TP77001")
    payment = PaymentFactory(order=order, provider_id="ch_3BrowserDispute000000001")
    ShipmentFactory(order=order, tracking_number="9400111899560000000001")
    UserFactory(username="linh", roles=[Role.PAYMENTS], first_name="Linh")
    due = timezone.now() + timedelta(hours=30)
    dispute = {
        **fixtures["dispute"],
        "id": "dp_1BrowserFlow",
        "charge": payment.provider_id,
        "amount": 8900,
        "currency": "usd",
        "reason": "product_not_received",
        "status": "needs_response",
        "created": int(time.time()) - 60,
        "evidence_details": {
            **fixtures["dispute"]["evidence_details"],
            "due_by": int(due.timestamp()),
        },
    }
    event = {
        **fixtures["event"],
        "id": "evt_1BrowserFlow",
        "type": "charge.dispute.created",
        "data": {"object": dispute},
    }

    assert _signed_post(f"{live_server.url}/webhooks/stripe/", event) == 200
    created = Dispute.objects.get(provider_id="dp_1BrowserFlow")
    sign_in(page, f"{live_server.url}/disputes/", "linh")

    first = page.locator("[data-testid=dispute-row]").first
    assert first.locator("[data-testid=dispute-link]").inner_text() == "#TP77001"
    shown_due = timezone.localtime(created.evidence_due_by, timezone.get_fixed_timezone(7 * 60))
    assert first.locator("[data-testid=dispute-due]").inner_text() == shown_due.strftime(
        "%Y-%m-%d %H:%M"
    )
    assert first.get_attribute("data-urgency") in {"urgent", "later"}
    page.locator("[data-testid=nav-disputes-count]").wait_for()

    first.locator("[data-testid=dispute-link]").click()
    page.wait_for_url(f"{live_server.url}/disputes/{created.pk}/")
    assert page.locator("[data-testid=tracking-number]").inner_text() == "9400111899560000000001"
    assert page.locator("[data-testid=checklist-item]").count() == 7
    page.fill(
        "#id_rebuttal",
        "Order #TP77001 was delivered to the cardholder's address; tracking attached.",
    )
    page.click("[data-testid=save-evidence]")
    page.locator(".message-success", has_text="Evidence saved.").wait_for()

    stripe_api.expect_oneshot_request("/v1/files", method="POST").respond_with_json(
        {**fixtures["file"], "id": "file_1Browser", "purpose": "dispute_evidence"}
    )
    stripe_api.expect_oneshot_request(
        "/v1/disputes/dp_1BrowserFlow", method="POST"
    ).respond_with_json({**dispute, "status": "under_review"})
    page.click("[data-testid=action-submit]")
    page.locator(".message-success", has_text="Evidence submitted.").wait_for()

    assert page.locator("[data-testid=submission]").first.inner_text().endswith("Sent")
    update = stripe_api.log[-1][0]
    assert update.form["evidence[uncategorized_text]"].startswith("Order #TP77001 was delivered")
    assert update.form["submit"] == "true"
    assert page.locator("[data-testid=dispute-status]").inner_text() == "Under review"
    assert page.evaluate("window.__cspViolations") == []
    assert page.console_errors == []
