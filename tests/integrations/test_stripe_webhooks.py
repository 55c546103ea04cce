"""POST /webhooks/stripe/: deliveries signed exactly as Stripe signs them (no mocked SDK), with
Stripe's own objects from ../shared/fixtures; each verified event is stored once and applied
once, and nothing a forger or a broken body sends is stored."""

import copy
import hashlib
import hmac
import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test import Client
from django.utils import timezone

from storedesk.audit.models import AuditEntry
from storedesk.core.models import DomainEvent
from storedesk.core.scheduler import registered_jobs
from storedesk.disputes.models import Dispute, EarlyFraudWarning
from storedesk.integrations.stripe import services
from storedesk.integrations.stripe.models import StripeEvent
from storedesk.integrations.stripe.services import MAX_ATTEMPTS, do_process_event
from storedesk.integrations.stripe.views import MAX_BODY_BYTES
from tests.concurrency import run_at_once
from tests.factories import PaymentFactory
from tests.shared_data import shared_json

pytestmark = pytest.mark.django_db

URL = "/webhooks/stripe/"
SECRET = "whsec_test_5f0c3a1d9b2e4f6a8c7d"
DJ_STRIPE = "fixtures/stripe/dj-stripe"
DISPUTED_CHARGE = "ch_fakefakefakefakefake0001"  # the charge of dj-stripe's real dispute
DISPUTE_ID = "dp_1JAyTwJSZQVUcJYgPqasUEn1"
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def sign(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>"))."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event(event_type: str, stripe_object: dict, event_id: str, created: int = T0) -> dict:
    """Stripe's own example `event`, carrying `stripe_object` as a webhook delivers it."""
    stripe_event = copy.deepcopy(
        shared_json("fixtures/stripe/fixtures3.json")["resources"]["event"]
    )
    stripe_event |= {"id": event_id, "type": event_type, "created": created}
    stripe_event["data"] = {"object": stripe_object}
    return stripe_event


def real_dispute(**changes) -> dict:
    return shared_json(f"{DJ_STRIPE}/dispute_dp_fakefakefakefake01.json") | changes


def post(client, body: dict | bytes, signature: str | None = None, **extra):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"HTTP_STRIPE_SIGNATURE": sign(raw) if signature is None else signature}
    return client.post(URL, data=raw, content_type="application/json", **headers, **extra)


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """Post a signed event and run what the receiver queued after commit (the task)."""

    def send(body: dict | bytes, signature: str | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            return post(client, body, signature)

    return send


def time_passes(delta: timedelta) -> None:
    """Bring every stored event's next attempt `delta` closer, as if that much time passed."""
    StripeEvent.objects.filter(next_attempt_at__isnull=False).update(
        next_attempt_at=F("next_attempt_at") - delta
    )


@pytest.fixture
def disputed_payment():
    return PaymentFactory(provider_id=DISPUTED_CHARGE)


# --- applied once -------------------------------------------------------------------------------


def test_a_signed_early_fraud_warning_is_stored_then_recorded_on_its_order(deliver):
    payment = PaymentFactory(provider_id="ch_1234")  # the charge of Stripe's example warning
    warning = shared_json("fixtures/stripe/fixtures3.json")["resources"][
        "radar.early_fraud_warning"
    ]
    sent = event("radar.early_fraud_warning.created", warning, "evt_1Pgc7AB7WZ01zgkW0efw0001")

    response = deliver(sent)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False, "status": "received"}
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.type, stored.object_id, stored.livemode) == (
        "evt_1Pgc7AB7WZ01zgkW0efw0001",
        "radar.early_fraud_warning.created",
        "issfr_1Pgc79B7WZ01zgkWxwDzEIPX",
        False,
    )
    assert stored.created_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert stored.payload == sent
    assert (stored.status, stored.outcome, stored.attempts, stored.last_error) == (
        "processed",
        "recorded",
        1,
        "",
    )
    assert stored.processed_at is not None
    assert stored.next_attempt_at is None
    recorded = EarlyFraudWarning.objects.get()
    assert (recorded.order, recorded.fraud_type) == (payment.order, "misc")
    receipt = AuditEntry.objects.get(action="stripe.event_processed")
    assert (receipt.actor_label, receipt.object_id) == ("stripe-webhook", str(stored.pk))
    assert receipt.changes["outcome"] == "recorded"
    warning_entry = AuditEntry.objects.get(action="dispute.early_fraud_warning_recorded")
    assert warning_entry.correlation_id == receipt.correlation_id == stored.correlation_id != ""


def test_a_dispute_created_updated_and_closed_is_applied_once_per_event(deliver, disputed_payment):
    opened = real_dispute()
    under_review = real_dispute(status="under_review")
    won = real_dispute(status="won")

    outcomes = []
    for event_type, dispute, event_id, created in [
        ("charge.dispute.created", opened, "evt_1JAyTwJSZQVUcJYgDisp0001", T0),
        ("charge.dispute.updated", under_review, "evt_1JAyTwJSZQVUcJYgDisp0002", T0 + 60),
        ("charge.dispute.closed", won, "evt_1JAyTwJSZQVUcJYgDisp0003", T0 + 120),
    ]:
        assert deliver(event(event_type, dispute, event_id, created)).status_code == 200
        outcomes.append(StripeEvent.objects.get(event_id=event_id).outcome)

    assert outcomes == ["recorded", "updated", "updated"]
    stored = Dispute.objects.get()
    assert (stored.provider_id, stored.order, stored.payment) == (
        DISPUTE_ID,
        disputed_payment.order,
        disputed_payment,
    )
    assert (stored.reason, stored.status, stored.kind) == ("fraudulent", "won", "chargeback")
    assert stored.closed_at == datetime(2026, 1, 1, 0, 2, tzinfo=UTC)
    entries = AuditEntry.objects.filter(action__startswith="dispute.").order_by("pk")
    assert [(e.action, e.actor_label) for e in entries] == [
        ("dispute.opened", "stripe-webhook"),
        ("dispute.updated", "stripe-webhook"),
        ("dispute.updated", "stripe-webhook"),
    ]
    assert entries[2].changes["status"] == ["under_review", "won"]
    names = list(DomainEvent.objects.order_by("pk").values_list("name", flat=True))
    assert [n for n in names if n.startswith("dispute_")] == [
        "dispute_opened",
        "dispute_updated",
        "dispute_updated",
        "dispute_closed",
    ]


def test_stripes_real_funds_reinstated_event_applies_the_dispute(deliver, disputed_payment):
    reinstated = shared_json(f"{DJ_STRIPE}/dispute_dp_funds_reinstated_full.json")

    deliver(event("charge.dispute.funds_reinstated", reinstated, "evt_1JAyTwJSZQVUcJYgFund0001"))

    assert StripeEvent.objects.get().status == "processed"
    assert Dispute.objects.get().status == "under_review"


def test_a_redelivery_is_acknowledged_and_applied_once(deliver, disputed_payment):
    sent = event("charge.dispute.created", real_dispute(), "evt_1JAyTwJSZQVUcJYgDisp0001")
    body = json.dumps(sent).encode()

    first = deliver(body)
    again = deliver(body, sign(body, timestamp=int(time.time()) + 1))  # Stripe signs anew

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"received": True, "duplicate": True, "status": "processed"}
    stored = StripeEvent.objects.get()
    assert (stored.attempts, stored.outcome) == (1, "recorded")
    assert Dispute.objects.count() == 1
    assert AuditEntry.objects.filter(action="dispute.opened").count() == 1
    assert DomainEvent.objects.filter(name="dispute_opened").count() == 1
    assert do_process_event(stored.pk) == "skipped"


def test_an_older_event_arriving_after_a_newer_one_does_not_undo_it(deliver, disputed_payment):
    newer = event(
        "charge.dispute.updated", real_dispute(status="won"), "evt_1JAyTwJSZQVUcJYgDisp0002"
    )
    older = event("charge.dispute.created", real_dispute(), "evt_1JAyTwJSZQVUcJYgDisp0001")
    newer["created"] = T0 + 60

    deliver(newer)
    deliver(older)

    assert Dispute.objects.get().status == "won"
    late = StripeEvent.objects.get(event_id="evt_1JAyTwJSZQVUcJYgDisp0001")
    assert (late.status, late.outcome, late.last_error) == (
        "ignored",
        "superseded",
        "superseded by evt_1JAyTwJSZQVUcJYgDisp0002",
    )


def test_an_event_type_we_do_not_follow_is_stored_and_ignored(deliver):
    plan_created = shared_json("fixtures/stripe/fixtures3.json")["resources"]["event"]

    response = deliver(plan_created)

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.type, stored.status, stored.outcome) == (
        "evt_1Pgc76B7WZ01zgkWwyRHS12y",
        "plan.created",
        "ignored",
        "ignored",
    )
    assert stored.processed_at is not None
    assert not AuditEntry.objects.filter(action__startswith="stripe.").exists()


# --- kept and retried ---------------------------------------------------------------------------


def test_a_dispute_of_an_unknown_charge_is_kept_as_failed_and_applied_once_the_order_arrives(
    deliver,
):
    """Answered 200: the event is stored, so our retries replace Stripe's (which stop after
    three days and would not know when the order was imported)."""
    inquiry = shared_json("fixtures/stripe/fixtures3.json")["resources"]["dispute"]

    response = deliver(event("charge.dispute.created", inquiry, "evt_1Pgc72B7WZ01zgkWInq00001"))

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.outcome, stored.attempts) == ("failed", "failed", 1)
    assert stored.last_error == (
        "no payment with Stripe charge ch_1PgafuB7WZ01zgkWXYmPNZs8 "
        "(dispute dp_1Pgc71B7WZ01zgkWMevJiAUx); retried in case its order arrives later"
    )
    assert timedelta(seconds=50) < stored.next_attempt_at - timezone.now() <= timedelta(minutes=1)
    assert not Dispute.objects.exists()
    failure = AuditEntry.objects.get(action="stripe.event_failed")
    assert failure.actor_label == "stripe-webhook"

    PaymentFactory(provider_id="ch_1PgafuB7WZ01zgkWXYmPNZs8")
    assert services.enqueue_due_events() == 0  # not due yet
    time_passes(timedelta(minutes=1))
    assert services.enqueue_due_events() == 1

    stored.refresh_from_db()
    assert (stored.status, stored.outcome, stored.attempts, stored.last_error) == (
        "processed",
        "recorded",
        2,
        "",
    )
    assert Dispute.objects.get().kind == "inquiry"


def test_after_the_last_attempt_an_event_waits_for_the_retry_command(
    deliver, django_capture_on_commit_callbacks
):
    inquiry = shared_json("fixtures/stripe/fixtures3.json")["resources"]["dispute"]
    deliver(event("charge.dispute.created", inquiry, "evt_1Pgc72B7WZ01zgkWInq00001"))
    stored = StripeEvent.objects.get()
    StripeEvent.objects.filter(pk=stored.pk).update(attempts=MAX_ATTEMPTS - 1)

    time_passes(timedelta(hours=7))
    services.enqueue_due_events()

    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.next_attempt_at) == (
        "failed",
        MAX_ATTEMPTS,
        None,
    )
    assert services.enqueue_due_events(now=timezone.now() + timedelta(days=30)) == 0

    PaymentFactory(provider_id="ch_1PgafuB7WZ01zgkWXYmPNZs8")
    output = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("retry-stripe-events", stdout=output)
    assert output.getvalue() == "1 Stripe event(s) queued for another attempt.\n"

    stored.refresh_from_db()
    assert (stored.status, stored.outcome) == ("processed", "recorded")
    assert Dispute.objects.count() == 1


def test_a_dispute_without_an_amount_fails_for_good_with_its_reason(deliver, disputed_payment):
    broken = real_dispute()
    del broken["amount"]

    response = deliver(event("charge.dispute.created", broken, "evt_1JAyTwJSZQVUcJYgDisp0001"))

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.next_attempt_at) == ("failed", None)
    assert stored.last_error == f"dispute {DISPUTE_ID}: KeyError('amount')"
    assert not Dispute.objects.exists()


def test_an_event_whose_task_was_lost_is_picked_up_by_the_sweep(client, disputed_payment):
    post(client, event("charge.dispute.created", real_dispute(), "evt_1JAyTwJSZQVUcJYgDisp0001"))
    stored = StripeEvent.objects.get()
    assert stored.status == "received"  # the task queued on commit never ran

    assert services.enqueue_due_events() == 0
    time_passes(timedelta(minutes=2))
    assert services.enqueue_due_events() == 1

    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert Dispute.objects.count() == 1
    assert "stripe-event-retries" in [job.name for job in registered_jobs()]


# --- refused, nothing stored --------------------------------------------------------------------


def _body_with(member: bytes) -> bytes:
    """A well-formed event (of a type we ignore) with one more top-level member, as raw JSON."""
    return (
        b'{"id": "evt_1", "object": "event", "type": "x", "created": 1, '
        + member
        + (b', "data": {"object": {}}}')
    )


def _body() -> bytes:
    return json.dumps(
        event("charge.dispute.created", real_dispute(), "evt_1JAyTwJSZQVUcJYgDisp0001")
    ).encode()


@pytest.mark.parametrize(
    ("signature_of", "message"),
    [
        (lambda body: sign(body, secret="whsec_someone_else"), "No signatures found matching"),
        (lambda body: sign(body + b" "), "No signatures found matching"),
        (lambda body: "", "No Stripe-Signature header value was provided"),
        (lambda body: sign(body).replace("v1=", "v0="), "No signatures found with expected"),
        (lambda body: "garbage", "Unable to extract timestamp"),
    ],
    ids=["other-secret", "tampered-body", "missing", "old-scheme", "garbage"],
)
def test_a_forged_or_unsigned_delivery_is_refused_with_400(client, signature_of, message):
    body = _body()

    response = post(client, body, signature_of(body))

    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert message in response.json()["message"]
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(("age", "status"), [(301, 400), (299, 200)])
def test_a_signature_older_than_five_minutes_is_refused_as_a_replay(client, age, status):
    body = _body()

    response = post(client, body, sign(body, timestamp=int(time.time()) - age))

    assert response.status_code == status
    if status == 400:
        assert response.json()["code"] == "bad_signature"
        assert "tolerance" in response.json()["message"]
    assert StripeEvent.objects.count() == (status == 200)


def test_either_secret_verifies_while_the_secret_is_rolled(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_old_one, " + SECRET
    body = _body()

    assert post(client, body, sign(body, secret="whsec_old_one")).status_code == 200
    assert post(client, body, sign(body)).json()["duplicate"] is True
    assert post(client, body, sign(body, secret="whsec_third")).status_code == 400


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"id": "evt_1", "object": "event",', "malformed_json"),
        (b'{"id": "evt_1", "object": "event", "created": NaN}', "malformed_json"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed_json"),
        (b"\xff\xfe not utf-8", "malformed_body"),
        (_body_with(b'"note": "a\\u0000b"'), "malformed_json"),
        (b"[]", "not_an_event"),
        (b'{"id": "evt_1", "object": "event", "type": "charge.dispute.created"}', "not_an_event"),
        (
            b'{"id": "ch_1", "object": "charge", "created": 1, "type": "x", '
            b'"data": {"object": {}}}',
            "not_an_event",
        ),
        (
            b'{"id": "evt_1", "object": "event", "created": 99999999999999999999, "type": "x", '
            b'"data": {"object": {}}}',
            "not_an_event",
        ),
    ],
    ids=[
        "truncated",
        "nan",
        "deep",
        "not-utf8",
        "nul",
        "array",
        "no-data",
        "not-event",
        "year-3e12",
    ],
)
def test_a_signed_body_that_is_not_a_stripe_event_is_refused_with_400(client, body, code):
    response = post(client, body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not StripeEvent.objects.exists()


def test_a_body_over_the_limit_is_refused_with_413(client):
    body = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'

    response = post(client, body)

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not StripeEvent.objects.exists()


def test_without_a_secret_the_endpoint_says_it_is_not_configured(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = post(client, _body())

    assert response.status_code == 503
    assert response.json()["code"] == "not_configured"
    assert not StripeEvent.objects.exists()


def test_only_post_is_answered(client):
    response = client.get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"


def test_no_csrf_token_and_no_login_are_needed():
    csrf_checking = Client(enforce_csrf_checks=True)

    assert post(csrf_checking, _body()).status_code == 200


# --- concurrency --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_identical_deliveries_at_the_same_moment_apply_the_dispute_once():
    """Stripe may deliver one event twice at once: one row, one dispute, one audit entry."""
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks and concurrent connections (PostgreSQL)")
    PaymentFactory(provider_id=DISPUTED_CHARGE)
    body = _body()
    responses = run_at_once(*[lambda: post(Client(), body)] * 4)

    statuses = [(r.status_code, r.json()["duplicate"]) for r in responses]
    assert sorted(statuses) == [(200, False), (200, True), (200, True), (200, True)]
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert Dispute.objects.count() == 1
    assert AuditEntry.objects.filter(action="dispute.opened").count() == 1


@pytest.mark.parametrize(
    ("offset", "status"),
    [(+600, 400), (+301, 400), (-600, 400), (+290, 200), (-290, 200)],
    ids=["10-min-ahead", "just-ahead", "10-min-old", "within-ahead", "within-old"],
)
def test_a_signature_dated_beyond_the_tolerance_either_way_is_refused(client, offset, status):
    """A correctly signed header whose t= is far ahead is a replay waiting to happen."""
    body = _body_with(b'"livemode": false')  # needs no shared fixture

    response = post(client, body, sign(body, timestamp=int(time.time()) + offset))

    assert response.status_code == status
    if status == 400:
        assert response.json()["code"] == "bad_signature"
        assert "tolerance" in response.json()["message"]
    assert StripeEvent.objects.count() == (status == 200)
