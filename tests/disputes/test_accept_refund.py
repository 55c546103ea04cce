"""Accepting a Stripe inquiry refunds the customer through the resolutions path (its rules,
its gateway call, audit), exactly once, before the inquiry is closed at Stripe; a refused
refund stops the accept with nothing sent."""

from decimal import Decimal

import pytest

from storedesk.commerce.models import Refund
from storedesk.disputes.errors import GatewayRefused
from storedesk.disputes.models import DisputeSubmission
from storedesk.disputes.services import do_accept_dispute
from storedesk.resolutions.models import Kind, Reason, Resolution
from tests.disputes.builders import disputed_order
from tests.disputes.test_responses import stripe_dispute
from tests.resolutions.fakes import FakeStripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe(httpserver, settings):
    fake = FakeStripe(httpserver)
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_FILES_API_BASE = fake.url
    return fake


def inquiry(**changes):
    return disputed_order(status="warning_needs_response", amount=Decimal("120.00"), **changes)


def test_accepting_an_inquiry_refunds_it_through_resolutions_once(
    stripe, django_capture_on_commit_callbacks
):
    dispute = inquiry()
    assert dispute.kind == "inquiry"
    stripe.server.expect_oneshot_request(
        f"/v1/disputes/{dispute.provider_id}/close", method="POST"
    ).respond_with_json(stripe_dispute(dispute.provider_id, status="warning_closed"))

    with django_capture_on_commit_callbacks(execute=True):
        submission = do_accept_dispute(dispute, actor="specialist", idempotency_key="inq-1")
    with django_capture_on_commit_callbacks(execute=True):
        replay = do_accept_dispute(dispute, actor="specialist", idempotency_key="inq-1")

    assert submission.status == replay.status == DisputeSubmission.Status.SENT
    resolution = Resolution.objects.get()
    assert (resolution.kind, resolution.reason, resolution.amount) == (
        Kind.REFUND,
        Reason.NOT_RECEIVED,
        Decimal("120.00"),
    )
    assert resolution.idempotency_key == "dispute-accept-inq-1"
    assert resolution.status == Resolution.Status.DONE
    assert submission.response["storedesk_refund"]["resolution_id"] == resolution.pk
    refund = Refund.objects.get(order=dispute.order)
    assert (refund.amount, refund.status) == (Decimal("120.00"), "succeeded")
    assert stripe.refunds_made == 1
    assert stripe.requests[0]["form"]["amount"] == "12000"
    paths = [request.path for request, _ in stripe.server.log]
    assert paths.index("/v1/refunds") < paths.index(f"/v1/disputes/{dispute.provider_id}/close")


def test_a_refused_refund_stops_the_accept_and_nothing_reaches_stripe(stripe):
    dispute = inquiry()
    Refund.objects.create(
        order=dispute.order,
        payment=dispute.payment,
        amount=Decimal("120.00"),
        currency="USD",
        status="succeeded",
        idempotency_key="earlier-refund",
        created_at=dispute.opened_at,
    )

    with pytest.raises(GatewayRefused, match="the refund was refused"):
        do_accept_dispute(dispute, actor="specialist", idempotency_key="inq-2")

    assert DisputeSubmission.objects.get().status == DisputeSubmission.Status.FAILED
    assert stripe.server.log == []
    assert not Resolution.objects.filter(status=Resolution.Status.PROCESSING).exists()


def test_accepting_a_chargeback_refunds_nothing(stripe):
    dispute = disputed_order()
    stripe.server.expect_oneshot_request(
        f"/v1/disputes/{dispute.provider_id}/close", method="POST"
    ).respond_with_json(stripe_dispute(dispute.provider_id, status="lost"))

    do_accept_dispute(dispute, actor="specialist", idempotency_key="cb-1")

    assert not Resolution.objects.exists()
    assert stripe.refunds_made == 0


def test_the_api_answers_an_accepted_inquiry_with_its_refund(
    stripe, client, make_user, django_capture_on_commit_callbacks
):
    from storedesk.accounts.roles import Role
    from storedesk.accounts.services import do_create_api_token

    _token, key = do_create_api_token(make_user(Role.PAYMENTS, username="acc"), name="t")
    dispute = inquiry()
    stripe.server.expect_oneshot_request(
        f"/v1/disputes/{dispute.provider_id}/close", method="POST"
    ).respond_with_json(stripe_dispute(dispute.provider_id, status="warning_closed"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/disputes/{dispute.pk}/accept",
            {"idempotency_key": "api-inquiry-accept"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    assert response.status_code == 200
    refund = response.json()["refund"]
    assert refund["resolution_id"] == Resolution.objects.get().pk
    assert (refund["status"], refund["amount"]) == ("done", "120.00")
