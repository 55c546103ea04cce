"""Submitting and accepting through local servers shaped like Stripe's and PayPal's APIs."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from werkzeug import Response

from storedesk.commerce.models import Refund
from storedesk.disputes.errors import GatewayRefused, ResponseRefused
from storedesk.disputes.models import DisputeSubmission, Outcome
from storedesk.disputes.services import (
    do_accept_dispute,
    do_assemble_pack,
    do_escalate,
    do_make_offer,
    do_submit_evidence,
    do_update_evidence,
)
from tests.disputes.builders import disputed_order
from tests.shared_data import shared_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_server(httpserver, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_API_BASE = httpserver.url_for("")
    settings.STRIPE_FILES_API_BASE = httpserver.url_for("")
    return httpserver


@pytest.fixture
def paypal_server(httpserver, settings):
    settings.PAYPAL_CLIENT_ID = "client"
    settings.PAYPAL_CLIENT_SECRET = "secret"
    settings.PAYPAL_API_BASE_URL = httpserver.url_for("")
    httpserver.expect_request("/v1/oauth2/token", method="POST").respond_with_json(
        {
            "scope": "https://uri.paypal.com/services/disputes/update-seller",
            "access_token": "A21AAlocal",
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": 32400,
            "nonce": "n",
        }
    )
    return httpserver


def stripe_dispute(provider_id: str, **changes) -> dict:
    """Stripe's own example dispute (fixtures3.json), as the local server answers."""
    dispute = dict(shared_json("fixtures/stripe/fixtures3.json")["resources"]["dispute"])
    return {**dispute, "id": provider_id, **changes}


def stripe_file() -> dict:
    return {
        **shared_json("fixtures/stripe/fixtures3.json")["resources"]["file"],
        "id": "file_1Local",
        "purpose": "dispute_evidence",
    }


def stripe_error(message: str, code: str | None = None, status: int = 400) -> Response:
    body = {
        "error": {"message": message, "type": "invalid_request_error", "code": code, "doc_url": ""}
    }
    return Response(json.dumps(body), status=status, content_type="application/json")


def test_stripe_evidence_is_uploaded_and_submitted_once(stripe_server):
    dispute = disputed_order()
    do_assemble_pack(dispute.pk)
    do_update_evidence(
        dispute,
        actor="specialist",
        rebuttal="The ring was delivered and signed for by the cardholder.",
    )
    stripe_server.expect_oneshot_request("/v1/files", method="POST").respond_with_json(
        stripe_file()
    )
    stripe_server.expect_oneshot_request(
        f"/v1/disputes/{dispute.provider_id}", method="POST"
    ).respond_with_json(stripe_dispute(dispute.provider_id, status="under_review"))

    submission = do_submit_evidence(dispute, actor="specialist", idempotency_key="submit-key-1")
    again = do_submit_evidence(dispute, actor="specialist", idempotency_key="submit-key-1")

    assert submission.status == DisputeSubmission.Status.SENT
    assert again.pk == submission.pk
    upload, update = [request for request, _ in stripe_server.log]
    assert b'name="purpose"' in upload.data
    assert b"dispute_evidence" in upload.data
    assert upload.headers["Idempotency-Key"] == "submit-key-1-file"
    form = update.form
    assert form["submit"] == "true"
    assert form["evidence[uncategorized_file]"] == "file_1Local"
    assert form["evidence[customer_communication]"] == "file_1Local"
    assert (
        form["evidence[shipping_tracking_number]"] == dispute.order.shipments.get().tracking_number
    )
    assert form["evidence[uncategorized_text]"].startswith("The ring was delivered")
    assert update.headers["Idempotency-Key"] == "submit-key-1"
    dispute.refresh_from_db()
    assert dispute.status == "under_review"
    assert dispute.responded_at is not None


def test_a_second_submission_is_refused_and_nothing_is_sent(stripe_server):
    dispute = disputed_order()
    stripe_server.expect_oneshot_request("/v1/files", method="POST").respond_with_json(
        stripe_file()
    )
    stripe_server.expect_oneshot_request(
        f"/v1/disputes/{dispute.provider_id}", method="POST"
    ).respond_with_json(stripe_dispute(dispute.provider_id, status="under_review"))
    do_submit_evidence(dispute, actor="specialist", idempotency_key="first-submit")
    sent = len(stripe_server.log)

    with pytest.raises(ResponseRefused, match="already sent") as refused:
        do_submit_evidence(dispute, actor="specialist", idempotency_key="second-submit")

    assert refused.value.code == "already_submitted"
    assert len(stripe_server.log) == sent


def test_a_submission_after_the_deadline_is_refused_and_nothing_is_sent(stripe_server):
    dispute = disputed_order(due_in=timedelta(hours=-1))

    with pytest.raises(ResponseRefused, match="nothing was sent") as refused:
        do_submit_evidence(dispute, actor="specialist", idempotency_key="late-submit")

    assert refused.value.code == "past_due"
    assert stripe_server.log == []
    assert not DisputeSubmission.objects.exists()


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("This dispute has already been submitted and can no longer be updated.", None),
        ("This dispute is past its due date and can no longer be updated.", None),
        (
            "Invalid string: 1 character is too long; must be at most 150000 characters",
            "parameter_invalid_string_too_long",
        ),
    ],
)
def test_stripes_refusals_are_recorded_and_a_retry_is_possible(stripe_server, message, code):
    dispute = disputed_order()
    stripe_server.expect_request("/v1/files", method="POST").respond_with_json(stripe_file())
    stripe_server.expect_oneshot_request(
        f"/v1/disputes/{dispute.provider_id}", method="POST"
    ).respond_with_response(stripe_error(message, code))

    with pytest.raises(GatewayRefused, match=message[:30]):
        do_submit_evidence(dispute, actor="specialist", idempotency_key="refused-key")

    failed = DisputeSubmission.objects.get()
    assert (failed.status, failed.error) == (DisputeSubmission.Status.FAILED, message)
    dispute.refresh_from_db()
    assert dispute.responded_at is None
    stripe_server.expect_oneshot_request(
        f"/v1/disputes/{dispute.provider_id}", method="POST"
    ).respond_with_json(stripe_dispute(dispute.provider_id, status="under_review"))
    assert (
        do_submit_evidence(dispute, actor="specialist", idempotency_key="retry-key").status
        == "sent"
    )


def test_accepting_a_stripe_dispute_closes_it(stripe_server):
    dispute = disputed_order()
    stripe_server.expect_oneshot_request(
        f"/v1/disputes/{dispute.provider_id}/close", method="POST"
    ).respond_with_json(stripe_dispute(dispute.provider_id, status="lost"))

    submission = do_accept_dispute(dispute, actor="specialist", idempotency_key="accept-key-1")

    assert submission.status == "sent"
    dispute.refresh_from_db()
    assert (dispute.status, dispute.outcome) == ("lost", Outcome.ACCEPTED)
    with pytest.raises(ResponseRefused):
        do_submit_evidence(dispute, actor="specialist", idempotency_key="after-accept")


def paypal_dispute_kwargs():
    return {
        "gateway": "paypal",
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "network_reason_code": "",
        "status": "WAITING_FOR_SELLER_RESPONSE",
        "raw": {"dispute_life_cycle_stage": "CHARGEBACK"},
    }


def subsequent_action(provider_id: str) -> dict:
    return {
        "links": [
            {
                "href": f"https://api-m.paypal.com/v1/customer/disputes/{provider_id}",
                "rel": "self",
                "method": "GET",
            }
        ]
    }


def test_paypal_evidence_goes_with_a_bearer_token_and_the_pdf(paypal_server):
    dispute = disputed_order(**paypal_dispute_kwargs())
    paypal_server.expect_oneshot_request(
        f"/v1/customer/disputes/{dispute.provider_id}/provide-evidence", method="POST"
    ).respond_with_json(subsequent_action(dispute.provider_id))

    submission = do_submit_evidence(dispute, actor="specialist", idempotency_key="pp-submit-1")

    assert submission.status == "sent"
    token, evidence = [request for request, _ in paypal_server.log]
    assert token.headers["Authorization"].startswith("Basic ")
    assert evidence.headers["Authorization"] == "Bearer A21AAlocal"
    assert evidence.headers["PayPal-Request-Id"] == "pp-submit-1"
    sent = json.loads(evidence.form["input"])
    assert sent["evidences"][0]["evidence_type"] == "PROOF_OF_FULFILLMENT"
    assert evidence.files["evidence-file"].read().startswith(b"%PDF")


def test_paypal_refusal_says_why(paypal_server):
    dispute = disputed_order(**paypal_dispute_kwargs())
    error = {
        "name": "UNPROCESSABLE_ENTITY",
        "message": (
            "The requested action could not be performed, semantically incorrect, "
            "or failed business validation."
        ),
        "debug_id": "b2c3d4",
        "details": [
            {
                "issue": "CANNOT_PROVIDE_EVIDENCE",
                "description": "Evidence cannot be provided for the dispute in its current state.",
            }
        ],
    }
    paypal_server.expect_oneshot_request(
        f"/v1/customer/disputes/{dispute.provider_id}/provide-evidence", method="POST"
    ).respond_with_json(error, status=422)

    with pytest.raises(GatewayRefused, match="CANNOT_PROVIDE_EVIDENCE"):
        do_submit_evidence(dispute, actor="specialist", idempotency_key="pp-refused")

    assert DisputeSubmission.objects.get().status == "failed"


def test_accepting_a_paypal_claim_refunds_once(paypal_server):
    dispute = disputed_order(amount=Decimal("120.00"), **paypal_dispute_kwargs())
    paypal_server.expect_oneshot_request(
        f"/v1/customer/disputes/{dispute.provider_id}/accept-claim", method="POST"
    ).respond_with_json(subsequent_action(dispute.provider_id))

    do_accept_dispute(dispute, actor="specialist", idempotency_key="pp-accept-1")
    do_accept_dispute(dispute, actor="specialist", idempotency_key="pp-accept-1")

    request = paypal_server.log[-1][0]
    assert json.loads(request.data) == {
        "note": "We accept the claim and refund the buyer.",
        "accept_claim_type": "REFUND",
    }
    refund = Refund.objects.get(order=dispute.order)
    assert (refund.amount, refund.status) == (Decimal("120.00"), "succeeded")


def test_a_paypal_arbitration_takes_no_response():
    dispute = disputed_order(
        **{**paypal_dispute_kwargs(), "raw": {"dispute_life_cycle_stage": "ARBITRATION"}}
    )

    with pytest.raises(ResponseRefused, match="not allowed at the Arbitration stage"):
        do_submit_evidence(dispute, actor="specialist", idempotency_key="arb-submit")


def test_an_unconfigured_gateway_is_reported_and_nothing_is_kept_sending(settings):
    settings.STRIPE_SECRET_KEY = ""
    dispute = disputed_order()

    with pytest.raises(Exception, match="not configured"):
        do_submit_evidence(dispute, actor="specialist", idempotency_key="no-key-submit")

    assert DisputeSubmission.objects.get().status == "failed"
    assert timezone.now() < dispute.evidence_due_by


def test_a_paypal_inquiry_gets_an_offer_then_an_escalation(paypal_server):
    dispute = disputed_order(
        **{**paypal_dispute_kwargs(), "raw": {"dispute_life_cycle_stage": "INQUIRY"}}
    )
    base = f"/v1/customer/disputes/{dispute.provider_id}"
    paypal_server.expect_oneshot_request(f"{base}/make-offer", method="POST").respond_with_json(
        subsequent_action(dispute.provider_id)
    )
    paypal_server.expect_oneshot_request(f"{base}/escalate", method="POST").respond_with_json(
        subsequent_action(dispute.provider_id)
    )

    do_make_offer(
        dispute, actor="specialist", idempotency_key="offer-key-1", amount=Decimal("30.00")
    )
    with pytest.raises(ResponseRefused, match="make an offer. was already sent"):
        do_make_offer(
            dispute, actor="specialist", idempotency_key="offer-key-2", amount=Decimal("40.00")
        )
    do_escalate(dispute, actor="specialist", idempotency_key="escalate-key-1")

    offer = json.loads(paypal_server.log[1][0].data)
    assert offer == {
        "note": "We would like to make this right with an offer.",
        "offer_amount": {"currency_code": "USD", "value": "30.00"},
        "offer_type": "REFUND",
    }
    assert paypal_server.log[-1][0].path == f"{base}/escalate"
    dispute.refresh_from_db()
    assert dispute.responded_at is None  # evidence can still be submitted


def test_a_stripe_dispute_takes_no_offer():
    dispute = disputed_order()

    with pytest.raises(ResponseRefused, match="only for PayPal"):
        do_make_offer(dispute, actor="x", idempotency_key="stripe-offer", amount=Decimal("5"))
