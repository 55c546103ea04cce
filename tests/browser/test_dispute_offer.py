"""A PayPal inquiry: the specialist offers a partial refund from the dispute page, through the
real PayPal client against a local server shaped like PayPal's, in a real Chromium."""

import json
from decimal import Decimal

import pytest

from storedesk.accounts.roles import Role
from storedesk.disputes.reasons import seed_reason_rules
from tests.browser.conftest import sign_in
from tests.disputes.builders import disputed_order
from tests.disputes.test_responses import paypal_dispute_kwargs, subsequent_action
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paypal_api(httpserver, settings):
    settings.PAYPAL_CLIENT_ID = "client"
    settings.PAYPAL_CLIENT_SECRET = "secret"  # noqa: S105 - a local test server's
    settings.PAYPAL_API_BASE_URL = httpserver.url_for("")
    httpserver.expect_request("/v1/oauth2/token", method="POST").respond_with_json(
        {"access_token": "A21AAbrowser", "token_type": "Bearer", "expires_in": 32400}
    )
    return httpserver


def test_the_specialist_offers_a_partial_refund(live_server, page, paypal_api):
    seed_reason_rules()  # the shipped rules: an earlier transactional test flushed them
    dispute = disputed_order(
        amount=Decimal("120.00"),
        **{**paypal_dispute_kwargs(), "raw": {"dispute_life_cycle_stage": "INQUIRY"}},
    )
    UserFactory(username="mai", roles=[Role.PAYMENTS], first_name="Mai")
    paypal_api.expect_oneshot_request(
        f"/v1/customer/disputes/{dispute.provider_id}/make-offer", method="POST"
    ).respond_with_json(subsequent_action(dispute.provider_id))

    sign_in(page, f"{live_server.url}/disputes/{dispute.pk}/", "mai")
    form = page.locator("[data-testid=offer-form]")
    form.locator("select[name=offer_type]").select_option("REFUND_WITH_RETURN")
    form.locator("input[name=amount]").fill("45.00")
    form.locator("[data-testid=action-offer]").click()
    page.locator(".message-success", has_text="Offer sent to the buyer.").wait_for()

    offer = next(r for r, _ in paypal_api.log if r.path.endswith("/make-offer"))
    assert json.loads(offer.data)["offer_amount"] == {"currency_code": "USD", "value": "45.00"}
    assert json.loads(offer.data)["offer_type"] == "REFUND_WITH_RETURN"
    assert "Make an offer" in page.locator("[data-testid=submission]").first.inner_text()
    assert page.evaluate("window.__cspViolations") == []
    assert page.console_errors == []
