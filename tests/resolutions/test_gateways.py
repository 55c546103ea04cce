"""Each documented gateway answer, from local servers shaped like Stripe's and PayPal's APIs,
through the whole path: what is recorded, what the order keeps, what is retried."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import Refund
from storedesk.resolutions import services
from storedesk.resolutions.models import Resolution
from storedesk.resolutions.queries import order_money
from storedesk.resolutions.services import do_request_resolution, do_retry_due_resolutions
from storedesk.resolutions.tasks import retry_resolutions
from tests.resolutions.conftest import paid_order


def refund(actor, order, amount="20.00", key="k1"):
    return do_request_resolution(
        actor=actor,
        order=order,
        kind="partial_refund",
        amount=Decimal(amount),
        currency="USD",
        reason="damaged",
        idempotency_key=key,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("charge_already_refunded", "has already been refunded"),
        ("amount_too_large", "greater than unrefunded amount"),
        ("charge_disputed", "charged back"),
        ("balance_insufficient", "insufficient funds"),
        ("insufficient_funds", "insufficient funds"),
    ],
)
def test_a_final_stripe_error_fails_the_resolution_and_frees_the_money(
    order, people, stripe_server, code, message
):
    stripe_server.fail(code)

    resolution = refund(people["agent"], order)

    assert (resolution.status, resolution.error_code) == ("failed", code)
    assert message in resolution.error
    assert Refund.objects.get().status == "failed"
    order.refresh_from_db()
    assert (order.total_refunded, order.financial_status) == (Decimal("0.00"), "paid")
    assert AuditEntry.objects.filter(action="resolution.failed").count() == 1
    assert len(stripe_server.requests) == 1
    assert order_money(order).refundable == Decimal("100.00")


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["rate_limit", "api_error"])
def test_a_rate_limit_or_5xx_stays_processing_and_the_task_retries_with_the_same_key(
    order, people, stripe_server, code
):
    stripe_server.fail(code, times=1)

    resolution = refund(people["agent"], order)

    assert resolution.status == "processing"
    assert resolution.error  # visible while waiting
    assert Refund.objects.get().status == "pending"  # the money stays reserved
    assert do_retry_due_resolutions() == 0  # not due yet
    Resolution.objects.filter(pk=resolution.pk).update(next_attempt_at=timezone.now())

    assert retry_resolutions.call() == 1

    resolution.refresh_from_db()
    assert (resolution.status, resolution.error, resolution.attempts) == ("done", "", 2)
    first, second = stripe_server.requests
    assert first["key"] == second["key"] == services.gateway_key(resolution)
    assert stripe_server.refunds_made == 1
    assert Refund.objects.get().status == "succeeded"


@pytest.mark.django_db
def test_a_crash_between_the_gateway_call_and_the_commit_is_finished_once_by_the_task(
    order, people, stripe_server, monkeypatch
):
    real_finish = services._finish

    def crash(*args, **kwargs):
        raise SystemExit("worker killed after the gateway answered")

    monkeypatch.setattr(services, "_finish", crash)
    with pytest.raises(SystemExit):
        refund(people["agent"], order)
    monkeypatch.setattr(services, "_finish", real_finish)
    resolution = Resolution.objects.get()
    assert (resolution.status, resolution.attempts) == ("processing", 1)
    assert stripe_server.refunds_made == 1  # Stripe refunded; we never recorded it
    assert Refund.objects.get().status == "pending"

    assert do_retry_due_resolutions() == 0  # its lease has not run out
    Resolution.objects.filter(pk=resolution.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert retry_resolutions.call() == 1
    assert retry_resolutions.call() == 0  # a second run finds nothing to do

    resolution.refresh_from_db()
    assert resolution.status == "done"
    assert resolution.gateway_reference == "re_test000001"
    assert stripe_server.refunds_made == 1  # the retry got Stripe's first refund back
    assert [r["key"] for r in stripe_server.requests] == [services.gateway_key(resolution)] * 2
    order.refresh_from_db()
    assert order.total_refunded == Decimal("20.00")


@pytest.mark.django_db
def test_a_gateway_that_keeps_failing_gives_up_after_the_last_attempt(
    order, people, stripe_server, settings
):
    settings.RESOLUTIONS_MAX_ATTEMPTS = 2
    stripe_server.fail("api_error")
    resolution = refund(people["agent"], order)
    Resolution.objects.filter(pk=resolution.pk).update(next_attempt_at=timezone.now())

    do_retry_due_resolutions()

    resolution.refresh_from_db()
    assert (resolution.status, resolution.attempts) == ("failed", 2)
    assert Refund.objects.get().status == "failed"


@pytest.mark.django_db
def test_stripe_not_configured_is_a_clear_failure(order, people, settings):
    settings.STRIPE_SECRET_KEY = ""

    resolution = refund(people["agent"], order)

    assert (resolution.status, resolution.error_code) == ("failed", "gateway_not_configured")
    assert "STRIPE_SECRET_KEY" in resolution.error


@pytest.mark.django_db
def test_a_paypal_capture_is_refunded_with_its_request_id(people, paypal_server):
    order = paid_order(gateway="paypal")

    resolution = refund(people["agent"], order, amount="12.34")

    assert resolution.status == "done"
    assert resolution.gateway == "paypal"
    assert resolution.gateway_reference == "1JU08902781691411001"
    [call] = paypal_server.requests
    assert call["key"] == services.gateway_key(resolution)
    assert call["body"]["amount"] == {"currency_code": "USD", "value": "12.34"}
    assert call["auth"] == "Bearer A21AA-test-1"
    assert paypal_server.tokens_issued == 1
    assert Refund.objects.get().provider_id == "1JU08902781691411001"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "issue",
    [
        "CAPTURE_FULLY_REFUNDED",
        "REFUND_AMOUNT_EXCEEDED",
        "REFUND_FAILED_INSUFFICIENT_FUNDS",
        "REFUND_NOT_ALLOWED",
        "REFUND_TIME_LIMIT_EXCEEDED",
    ],
)
def test_a_paypal_refusal_fails_the_resolution_with_its_issue(people, paypal_server, issue):
    from tests.resolutions.fakes import PAYPAL_ISSUES

    order = paid_order(gateway="paypal")
    paypal_server.fail(issue)

    resolution = refund(people["agent"], order)

    assert (resolution.status, resolution.error_code) == ("failed", issue)
    assert resolution.error == PAYPAL_ISSUES[issue]
    assert Refund.objects.get().status == "failed"


@pytest.mark.django_db
@pytest.mark.parametrize("issue", ["RATE_LIMIT_REACHED", "INTERNAL_SERVER_ERROR"])
def test_paypal_429_and_5xx_are_retried_with_the_same_request_id(people, paypal_server, issue):
    order = paid_order(gateway="paypal")
    paypal_server.fail(issue, times=1)

    resolution = refund(people["agent"], order)
    assert resolution.status == "processing"
    Resolution.objects.filter(pk=resolution.pk).update(next_attempt_at=timezone.now())
    do_retry_due_resolutions()

    resolution.refresh_from_db()
    assert resolution.status == "done"
    first, second = paypal_server.requests
    assert first["key"] == second["key"]
    assert paypal_server.refunds_made == 1
