"""PayPal inquiries: the offer and the escalation from the dispute page and the API, through
the real PayPal client against a local server shaped like PayPal's."""

import json
from decimal import Decimal

import pytest

from storedesk.accounts.roles import Role
from storedesk.disputes.models import DisputeSubmission
from tests.disputes.builders import disputed_order
from tests.disputes.test_responses import paypal_dispute_kwargs, paypal_server, subsequent_action

pytestmark = pytest.mark.django_db
__all__ = ["paypal_server"]  # the fixture, used by name


@pytest.fixture
def specialist(make_user):
    return make_user(Role.PAYMENTS, username="offer-specialist")


@pytest.fixture
def api_client(client, specialist):
    from storedesk.accounts.services import do_create_api_token

    _token, key = do_create_api_token(specialist, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def paypal_inquiry(amount=Decimal("120.00")):
    return disputed_order(
        amount=amount,
        **{**paypal_dispute_kwargs(), "raw": {"dispute_life_cycle_stage": "INQUIRY"}},
    )


def test_the_page_offers_a_refund_then_escalates(client, specialist, paypal_server):
    dispute = paypal_inquiry()
    base = f"/v1/customer/disputes/{dispute.provider_id}"
    for action in ("make-offer", "escalate"):
        paypal_server.expect_oneshot_request(f"{base}/{action}", method="POST").respond_with_json(
            subsequent_action(dispute.provider_id)
        )
    client.force_login(specialist)

    page = client.get(f"/disputes/{dispute.pk}/").content.decode()
    assert 'data-testid="offer-form"' in page
    assert 'data-testid="action-escalate"' in page
    client.post(
        f"/disputes/{dispute.pk}/offer/",
        {"idempotency_key": "page-offer-1", "offer_type": "REFUND", "amount": "45.50"},
    )
    client.post(f"/disputes/{dispute.pk}/escalate/", {"idempotency_key": "page-escalate-1"})

    sent = [request for request, _ in paypal_server.log if request.path.startswith(base)]
    assert [request.path for request in sent] == [f"{base}/make-offer", f"{base}/escalate"]
    assert json.loads(sent[0].data)["offer_amount"] == {"currency_code": "USD", "value": "45.50"}
    assert sent[0].headers["PayPal-Request-Id"] == "page-offer-1"
    assert set(
        DisputeSubmission.objects.filter(dispute=dispute).values_list("action", "status")
    ) == {("offer", "sent"), ("escalate", "sent")}


def test_a_stripe_dispute_page_shows_no_offer(client, specialist):
    client.force_login(specialist)
    page = client.get(f"/disputes/{disputed_order().pk}/").content.decode()
    assert "offer-form" not in page
    assert "action-escalate" not in page


def test_the_api_makes_an_offer_once_and_refuses_too_much(api_client, paypal_server):
    dispute = paypal_inquiry()
    paypal_server.expect_oneshot_request(
        f"/v1/customer/disputes/{dispute.provider_id}/make-offer", method="POST"
    ).respond_with_json(subsequent_action(dispute.provider_id))
    url = f"/api/v1/disputes/{dispute.pk}/offer"

    too_much = api_client.post(
        url,
        {"idempotency_key": "api-offer-0", "amount": "500.00"},
        content_type="application/json",
    )
    made = api_client.post(
        url,
        {"idempotency_key": "api-offer-1", "amount": "30.00", "offer_type": "REFUND_WITH_RETURN"},
        content_type="application/json",
    )
    again = api_client.post(
        url,
        {"idempotency_key": "api-offer-1", "amount": "30.00", "offer_type": "REFUND_WITH_RETURN"},
        content_type="application/json",
    )
    second = api_client.post(
        url, {"idempotency_key": "api-offer-2", "amount": "20.00"}, content_type="application/json"
    )

    assert too_much.status_code == 409
    assert "at most 120.00" in too_much.json()["message"]
    assert made.status_code == 200
    assert (made.json()["action"], made.json()["status"]) == ("offer", "sent")
    assert again.json()["id"] == made.json()["id"]
    assert second.status_code == 409
    assert second.json()["code"] == "already_submitted"
    offers = [r for r, _ in paypal_server.log if r.path.endswith("/make-offer")]
    assert len(offers) == 1
    assert json.loads(offers[0].data)["offer_type"] == "REFUND_WITH_RETURN"


def test_the_api_escalates_and_a_bad_amount_is_a_clear_error(api_client, paypal_server):
    dispute = paypal_inquiry()
    paypal_server.expect_oneshot_request(
        f"/v1/customer/disputes/{dispute.provider_id}/escalate", method="POST"
    ).respond_with_json(subsequent_action(dispute.provider_id))

    bad = api_client.post(
        f"/api/v1/disputes/{dispute.pk}/offer",
        {"idempotency_key": "api-offer-bad", "amount": "lots"},
        content_type="application/json",
    )
    escalated = api_client.post(
        f"/api/v1/disputes/{dispute.pk}/escalate",
        {"idempotency_key": "api-escalate-1", "note": "We shipped it; tracking attached."},
        content_type="application/json",
    )

    assert bad.status_code == 422
    assert escalated.status_code == 200
    request = [r for r, _ in paypal_server.log if r.path.endswith("/escalate")][0]
    assert json.loads(request.data) == {"note": "We shipped it; tracking attached."}
