"""Risk review decisions: each one locked, audited, announced, and harmless to repeat."""

from decimal import Decimal

import pytest
from django.db import connection

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import Order, OrderTask, Payment, Refund
from storedesk.core.models import DomainEvent
from storedesk.desk.models import Ticket
from storedesk.risk.facts import address_key
from storedesk.risk.models import OrderRisk, RiskDecision, RiskListEntry
from storedesk.risk.review import (
    AlreadyDecided,
    CannotCancel,
    CannotContact,
    NotInReview,
    ReasonRequired,
    StageRefused,
    do_add_note,
    do_approve,
    do_cancel,
    do_complete_task,
    do_move_stage,
    do_request_verification,
    render_verification,
    review_labels,
)
from storedesk.risk.services import do_score_orders
from tests.concurrency import run_at_once
from tests.desk.mail_helpers import build_mail, media  # noqa: F401
from tests.factories import OrderFactory, PaymentFactory, RefundFactory, StoreFactory
from tests.risk.review_fixtures import cleared_order, order_in_review

Stage, Status, Kind = OrderRisk.Stage, OrderRisk.Status, RiskDecision.Kind


@pytest.fixture
def store(db):
    return StoreFactory()


@pytest.fixture
def reviewer(make_user):
    return make_user(Role.PAYMENTS, username="reviewer", first_name="Linh", last_name="Tran")


@pytest.fixture
def in_review(store):
    return order_in_review(store)


def _events(name):
    return list(DomainEvent.objects.filter(name=name).values_list("payload", flat=True))


def _lists():
    return {
        (name, value)
        for name, value in RiskListEntry.objects.values_list("risk_list__name", "value")
    }


# --- Approve ----------------------------------------------------------------------------------


def test_approve_releases_fulfillment_and_labels_the_order_good(in_review, reviewer):
    OrderRisk.objects.filter(pk=in_review.pk).update(fulfillment_held=True)

    decision = do_approve(in_review, reviewer, "Customer confirmed by phone")

    in_review.refresh_from_db()
    assert (in_review.status, in_review.stage, in_review.fulfillment_held) == (
        Status.APPROVED,
        Stage.DONE,
        False,
    )
    assert (decision.kind, decision.stage, decision.reason, decision.actor) == (
        Kind.APPROVE,
        Stage.DONE,
        "Customer confirmed by phone",
        reviewer,
    )
    entry = AuditEntry.objects.get(action="risk.approve")
    assert entry.object_id == str(in_review.order_id)
    assert entry.changes["reason"] == "Customer confirmed by phone"
    assert _events("order_risk_approved")[0]["order_id"] == in_review.order_id


def test_a_second_approve_returns_the_first_decision(in_review, reviewer, make_user):
    first = do_approve(in_review, reviewer, "Looks fine")
    second = do_approve(in_review, make_user(Role.LEAD, username="lead"), "double click")

    assert second.pk == first.pk
    assert RiskDecision.objects.count() == 1
    assert AuditEntry.objects.filter(action="risk.approve").count() == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_every_decision_needs_a_reason(in_review, reviewer, reason):
    with pytest.raises(ReasonRequired, match="reason is required"):
        do_approve(in_review, reviewer, reason)
    with pytest.raises(ReasonRequired):
        do_cancel(in_review, reviewer, reason)
    with pytest.raises(ReasonRequired):
        do_request_verification(in_review, reviewer, template="photo_id", reason=reason)

    in_review.refresh_from_db()
    assert in_review.status == Status.IN_REVIEW
    assert not RiskDecision.objects.exists()


def test_a_cleared_order_cannot_be_decided(store, reviewer):
    cleared = cleared_order(store)

    with pytest.raises(NotInReview, match="not in review"):
        do_approve(cleared, reviewer, "why not")
    with pytest.raises(NotInReview):
        do_cancel(cleared, reviewer, "why not")
    with pytest.raises(NotInReview):
        do_move_stage(cleared, reviewer, Stage.DECIDE)
    assert not RiskDecision.objects.exists()


def test_an_approved_order_cannot_then_be_cancelled(in_review, reviewer):
    do_approve(in_review, reviewer, "fine")

    with pytest.raises(AlreadyDecided, match="already approved"):
        do_cancel(in_review, reviewer, "changed my mind")
    assert Order.objects.get(pk=in_review.order_id).cancelled_at is None


# --- Cancel -------------------------------------------------------------------------------------


def test_cancel_refunds_what_is_left_through_the_resolutions_path(in_review, reviewer):
    from storedesk.resolutions.models import Resolution

    order = in_review.order
    RefundFactory(order=order, payment=order.payments.get(), amount=Decimal("20.00"))

    decision = do_cancel(in_review, reviewer, "Billing address does not exist")
    again = do_cancel(in_review, reviewer, "double click")

    assert again.pk == decision.pk
    order.refresh_from_db()
    assert order.cancelled_at is not None
    assert order.cancel_reason == "other"
    resolution = Resolution.objects.get()
    assert (resolution.kind, resolution.amount, resolution.reason, resolution.status) == (
        "refund",
        Decimal("69.00"),
        "cancellation",
        "processing",
    )
    pending = Refund.objects.get(status="pending")  # reserved until the gateway confirms
    assert pending.amount == Decimal("69.00")
    assert not OrderTask.objects.exists()
    in_review.refresh_from_db()
    assert (in_review.status, in_review.stage, in_review.fulfillment_held) == (
        Status.CANCELLED,
        Stage.GATEWAY,
        True,
    )
    assert decision.details["resolution_id"] == resolution.pk
    assert decision.details["refund_due"] == "69.00"
    assert [e["order_id"] for e in _events("order_risk_cancelled")] == [order.pk]


def test_the_refund_done_at_the_gateway_finishes_the_cancelled_review(store, reviewer):
    from storedesk.commerce.models import Store
    from storedesk.core.events import dispatch_event
    from storedesk.resolutions.models import Resolution
    from storedesk.resolutions.services import do_execute_resolution

    Store.objects.filter(pk=store.pk).update(is_demo=True)
    risk = order_in_review(store)
    do_cancel(risk, reviewer, "stolen card")

    resolution = do_execute_resolution(Resolution.objects.get().pk)
    for event in DomainEvent.objects.filter(name="resolution_done"):
        dispatch_event.call(event.pk)

    assert (resolution.status, resolution.gateway) == ("done", "demo")
    risk.refresh_from_db()
    assert risk.stage == Stage.DONE
    assert Order.objects.get(pk=risk.order_id).financial_status == "refunded"


def test_an_open_chargeback_cancels_without_a_refund_and_says_why(in_review, reviewer):
    from storedesk.disputes.models import Dispute

    order = in_review.order
    Dispute.objects.create(
        order=order,
        payment=order.payments.get(),
        gateway="stripe",
        provider_id="dp_1Open",
        reason="fraudulent",
        status="needs_response",
        amount=order.total_price,
        currency="USD",
        opened_at=in_review.scored_at,
    )

    decision = do_cancel(in_review, reviewer, "stolen card")

    assert "open chargeback (dp_1Open)" in decision.details["refund_refused"]
    assert not Refund.objects.exists()
    in_review.refresh_from_db()
    assert in_review.stage == Stage.DONE


def test_cancel_with_nothing_captured_leaves_no_task_and_finishes(store, reviewer):
    risk = order_in_review(store)
    Payment.objects.filter(order=risk.order).update(captured=False)

    do_cancel(risk, reviewer, "never captured")

    risk.refresh_from_db()
    assert not OrderTask.objects.exists()
    assert risk.stage == Stage.DONE


@pytest.mark.django_db(transaction=True)
def test_concurrent_cancels_leave_exactly_one_refund():
    """Threads racing to cancel one order: one decision, one refund (needs real row locks)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks and concurrent connections (PostgreSQL)")
    from tests.factories import UserFactory

    risk = order_in_review(StoreFactory())
    actor = UserFactory(username="racer")
    outcomes = run_at_once(*[lambda: do_cancel(risk, actor, "race").pk] * 5)

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert len(set(outcomes)) == 1
    assert Refund.objects.filter(order_id=risk.order_id).count() == 1
    assert RiskDecision.objects.filter(kind=Kind.CANCEL).count() == 1


def test_report_fraud_blocks_the_orders_keys_and_catches_the_next_order(store, reviewer):
    risk = order_in_review(store, email="thief@mail.example", browser_ip="203.0.113.77")
    order = risk.order

    decision = do_cancel(risk, reviewer, "Card holder says it was not them", report_fraud=True)

    order.refresh_from_db()
    assert order.cancel_reason == "fraud"
    assert decision.kind == Kind.CANCEL_FRAUD
    assert decision.details["label"] == "fraud"
    assert {
        ("blocked_emails", "thief@mail.example"),
        ("blocked_cards", "fpstolen01"),
        ("blocked_addresses", address_key(order.shipping_address)),
        ("blocked_ips", "203.0.113.77"),
    } <= _lists()
    assert AuditEntry.objects.filter(action="risk.list_extended").count() == 4

    again = OrderFactory(store=store, email="thief@mail.example", browser_ip="198.51.100.1")
    PaymentFactory(order=again)
    do_score_orders([again.pk])

    caught = OrderRisk.objects.get(order=again)
    assert caught.status == Status.IN_REVIEW
    assert caught.decided_by_rule.name == "Blocked email"
    assert caught.action == "cancel_and_refund"


def test_a_paypal_payer_is_blocked_by_the_card_key_scoring_uses(store, reviewer):
    order = OrderFactory(store=store)
    PaymentFactory(
        order=order,
        gateway=Payment.Gateway.PAYPAL,
        method=Payment.Method.PAYPAL,
        card_fingerprint="",
        payer_id="PAYERX9",
        risk_level="highest",
    )
    from tests.risk.review_fixtures import scored

    risk = scored(order)

    do_cancel(risk, reviewer, "fraud", report_fraud=True)

    assert ("blocked_cards", "paypal:payerx9") in _lists()


def test_a_cancelled_order_can_be_reported_as_fraud_later(in_review, reviewer):
    first = do_cancel(in_review, reviewer, "customer unreachable")

    later = do_cancel(in_review, reviewer, "early fraud warning arrived", report_fraud=True)
    replay = do_cancel(in_review, reviewer, "again", report_fraud=True)

    assert later.pk != first.pk
    assert replay.pk == later.pk
    assert later.kind == Kind.CANCEL_FRAUD
    assert Order.objects.get(pk=in_review.order_id).cancel_reason == "fraud"
    assert Refund.objects.count() == 1  # the first cancel's refund, not a second one
    assert review_labels() == {in_review.order_id: 1}


# --- Contacting the customer --------------------------------------------------------------------


@pytest.mark.usefixtures("media")
def test_verification_request_is_emailed_through_the_desk_and_the_answer_threads_back(
    in_review, reviewer, django_capture_on_commit_callbacks
):
    from django.core import mail

    from storedesk.desk.mail_in import do_ingest_email
    from storedesk.desk.models import Message

    order = in_review.order
    with django_capture_on_commit_callbacks(execute=True):
        decision = do_request_verification(
            in_review, reviewer, template="card_photo", reason="Card country differs"
        )

    in_review.refresh_from_db()
    assert (in_review.stage, in_review.status) == (Stage.CONTACT, Status.IN_REVIEW)
    message = decision.details["message"]
    greeting = f"Hi {order.customer.first_name},\n\nThank you for your order"
    assert message.startswith(f"{greeting} {order.number} with Tiny Pearl Jewelry!")
    assert "the card ending in 4242" in message
    assert "last four digits only" in message
    ticket = Ticket.objects.get(pk=decision.details["ticket_id"])
    assert list(ticket.orders.all()) == [order]
    assert ticket.requester_email == order.email
    reply = Message.objects.get(pk=decision.details["message_id"])
    assert (reply.ticket_id, reply.kind, reply.text) == (ticket.pk, "outbound", message)
    assert decision.details["sent"] is True
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [order.email]
    assert email.body == message
    assert email.subject == f"Please confirm your card for order {order.number} {ticket.token}"
    assert email.extra_headers["Message-ID"] == reply.message_id
    event = _events("risk_verification_requested")[0]
    assert event["ticket_id"] == ticket.pk

    with django_capture_on_commit_callbacks(execute=True):
        do_ingest_email(
            build_mail(
                sender=f"Emma <{order.email}>",
                subject=f"Re: {email.subject}",
                text="Here is the photo of my card.",
                message_id="<answer.1@mail.example>",
                in_reply_to=reply.message_id,
            ),
            source="test",
        )

    answer = Message.objects.get(message_id="<answer.1@mail.example>")
    assert answer.ticket_id == ticket.pk


def test_a_second_verification_request_goes_out_on_the_same_ticket(in_review, reviewer):
    first = do_request_verification(in_review, reviewer, template="card_photo", reason="card")
    second = do_request_verification(in_review, reviewer, template="photo_id", reason="and ID")

    assert second.pk != first.pk
    assert second.details["ticket_id"] == first.details["ticket_id"]
    assert Ticket.objects.count() == 1


def test_an_edited_message_is_what_is_recorded_and_a_retry_records_it_once(in_review, reviewer):
    text = "Hi, could you confirm your billing ZIP code? Thanks!"

    first = do_request_verification(
        in_review, reviewer, template="billing_address", reason="ZIP failed", message=text
    )
    retry = do_request_verification(
        in_review, reviewer, template="billing_address", reason="ZIP failed", message=text
    )

    assert first.details["message"] == text
    assert retry.pk == first.pk
    assert RiskDecision.objects.filter(kind=Kind.CONTACT).count() == 1


def test_verification_refuses_unknown_templates_and_orders_without_email(store, reviewer):
    risk = order_in_review(store, email="")

    with pytest.raises(CannotContact, match="Unknown verification template"):
        do_request_verification(risk, reviewer, template="selfie", reason="x")
    with pytest.raises(CannotContact, match="no email address"):
        do_request_verification(risk, reviewer, template="photo_id", reason="x")


def test_templates_greet_a_nameless_guest_politely(store):
    order = OrderFactory(
        store=store,
        customer=None,
        email="guest@mail.example",
        name_key="",
        last_name_key="",
        billing_address={},
        shipping_address={},
    )

    subject, body = render_verification(order, "photo_id")

    assert body.startswith("Hi there,")
    assert "the name on the order" in body
    assert subject == f"Please confirm your identity for order {order.number}"


# --- Stages and notes ---------------------------------------------------------------------------


def test_stages_move_along_s2_and_repeat_harmlessly(in_review, reviewer):
    moved = do_move_stage(in_review, reviewer, Stage.DECIDE, "waiting for the bank")
    again = do_move_stage(in_review, reviewer, Stage.DECIDE)

    assert again.pk == moved.pk
    assert moved.details == {"from": Stage.CHECK, "to": Stage.DECIDE}
    with pytest.raises(StageRefused, match="Approve or cancel"):
        do_move_stage(in_review, reviewer, Stage.DONE)
    with pytest.raises(StageRefused, match="Unknown stage"):
        do_move_stage(in_review, reviewer, "nowhere")

    do_cancel(in_review, reviewer, "fraud")
    with pytest.raises(StageRefused, match="only move to the gateway or done"):
        do_move_stage(in_review, reviewer, Stage.CHECK)
    do_move_stage(in_review, reviewer, Stage.DONE, "refunded in Stripe")
    in_review.refresh_from_db()
    assert in_review.stage == Stage.DONE


def test_notes_are_kept_once_and_need_text(in_review, reviewer):
    note = do_add_note(in_review, reviewer, "Called the bank, waiting")
    same = do_add_note(in_review, reviewer, "Called the bank, waiting")

    assert same.pk == note.pk
    with pytest.raises(ReasonRequired, match="Write the note first"):
        do_add_note(in_review, reviewer, " ")
    assert AuditEntry.objects.filter(action="risk.note").count() == 1


# --- Order tasks --------------------------------------------------------------------------------


def test_a_refund_the_gateway_refuses_leaves_a_task_whose_completion_finishes_the_review(
    in_review, reviewer, settings
):
    from storedesk.core.events import dispatch_event
    from storedesk.resolutions.models import Resolution
    from storedesk.resolutions.services import do_execute_resolution

    settings.STRIPE_SECRET_KEY = ""  # the gateway cannot be reached: the refund fails
    do_cancel(in_review, reviewer, "stolen card")
    failed = do_execute_resolution(Resolution.objects.get().pk)
    for event in DomainEvent.objects.filter(name="resolution_failed"):
        dispatch_event.call(event.pk)
    assert failed.status == "failed"
    task = OrderTask.objects.get()
    assert task.amount == Decimal("89.00")

    done = do_complete_task(task, reviewer, "refunded in the Stripe dashboard")
    twice = do_complete_task(task, reviewer)

    assert (done.status, done.done_by, twice.done_at) == (
        OrderTask.Status.DONE,
        reviewer,
        done.done_at,
    )
    in_review.refresh_from_db()
    assert in_review.stage == Stage.DONE
    last = RiskDecision.objects.order_by("-pk").first()
    assert (last.kind, last.details["task_id"]) == (Kind.STAGE, task.pk)
    assert AuditEntry.objects.filter(action="order_task.done").count() == 1
    assert len(_events("order_task_done")) == 1


# --- Labels and re-scoring ----------------------------------------------------------------------


def test_review_labels_are_fraud_for_reported_and_good_for_approved(store, reviewer):
    good, fraud, plain = (order_in_review(store) for _ in range(3))
    do_approve(good, reviewer, "known customer")
    do_cancel(fraud, reviewer, "chargeback on another order", report_fraud=True)
    do_cancel(plain, reviewer, "out of stock")

    assert review_labels() == {good.order_id: 0, fraud.order_id: 1}
    assert review_labels([fraud.order_id]) == {fraud.order_id: 1}


def test_rescoring_keeps_what_a_reviewer_decided(store, reviewer):
    approved, contacted = order_in_review(store), order_in_review(store)
    do_approve(approved, reviewer, "fine")
    do_request_verification(contacted, reviewer, template="photo_id", reason="check ID")

    do_score_orders([approved.order_id, contacted.order_id])

    approved.refresh_from_db()
    contacted.refresh_from_db()
    assert (approved.status, approved.stage, approved.fulfillment_held) == (
        Status.APPROVED,
        Stage.DONE,
        False,
    )
    assert (contacted.status, contacted.stage) == (Status.IN_REVIEW, Stage.CONTACT)


# --- Reviews that events overtook ---------------------------------------------------------------


def _closed(risk) -> RiskDecision:
    risk.refresh_from_db()
    assert (risk.status, risk.stage) == (Status.OVERTAKEN, Stage.DONE)
    return RiskDecision.objects.get(order_risk=risk, kind=Kind.OVERTAKEN)


def test_a_full_refund_closes_the_open_review_with_the_fact_on_both_timelines(
    in_review, django_capture_on_commit_callbacks
):
    from datetime import UTC, datetime

    from storedesk.commerce.services import do_record_refund

    with django_capture_on_commit_callbacks(execute=True):
        do_record_refund(
            in_review.order,
            Decimal("89.00"),
            "USD",
            idempotency_key="refund-all",
            created_at=datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
        )

    closed = _closed(in_review)
    assert closed.reason == "overtaken by events: refunded in full on 2026-11-30"
    assert closed.details["fact"] == "refunded"
    entry = AuditEntry.objects.get(action="risk.overtaken")
    assert entry.object_id == str(in_review.order_id)
    assert entry.changes["reason"] == closed.reason
    assert _events("order_risk_closed")[0]["order_id"] == in_review.order_id


def test_a_partial_refund_leaves_the_review_open_and_the_rest_closes_it(
    in_review, django_capture_on_commit_callbacks
):
    from storedesk.commerce.services import do_record_refund

    with django_capture_on_commit_callbacks(execute=True):
        do_record_refund(in_review.order, Decimal("20.00"), "USD", idempotency_key="part")
    in_review.refresh_from_db()
    assert in_review.status == Status.IN_REVIEW

    with django_capture_on_commit_callbacks(execute=True):
        do_record_refund(in_review.order, Decimal("69.00"), "USD", idempotency_key="rest")

    assert _closed(in_review).details["fact"] == "refunded"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("void", "overtaken by events: payment voided on "),
        ("cancel", "overtaken by events: cancelled on "),
        ("ship", "overtaken by events: shipped on 2026-12-02"),
    ],
)
def test_a_void_a_cancel_or_a_shipment_closes_the_review(
    in_review, django_capture_on_commit_callbacks, record, reason
):
    from datetime import UTC, datetime

    from storedesk.commerce.ingest import ShipmentIn
    from storedesk.commerce.services import do_cancel_order, do_record_shipment, do_record_void

    OrderRisk.objects.filter(pk=in_review.pk).update(fulfillment_held=True)
    order = in_review.order
    with django_capture_on_commit_callbacks(execute=True):
        if record == "void":
            do_record_void(order)
        elif record == "cancel":
            do_cancel_order(order, reason="customer")
        else:
            shipped = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
            do_record_shipment(order, ShipmentIn("USPS", "LX1VN", "in_transit", shipped_at=shipped))

    closed = _closed(in_review)
    assert closed.reason.startswith(reason)
    assert in_review.fulfillment_held is (record != "ship")


def test_the_sweep_closes_existing_overtaken_reviews_once_and_leaves_the_rest(store):
    from django.core.management import call_command

    from tests.factories import ShipmentFactory

    shipped, refunded, waiting = (order_in_review(store) for _ in range(3))
    ShipmentFactory(order=shipped.order)
    Order.objects.filter(pk=refunded.order_id).update(financial_status="refunded")

    call_command("risk-close-overtaken")
    call_command("risk-close-overtaken")

    assert _closed(shipped).details["fact"] == "shipped"
    assert _closed(refunded).details["fact"] == "refunded"
    waiting.refresh_from_db()
    assert waiting.status == Status.IN_REVIEW
    assert RiskDecision.objects.filter(kind=Kind.OVERTAKEN).count() == 2


def test_an_overtaken_review_can_no_longer_be_decided(in_review, reviewer):
    from tests.factories import ShipmentFactory

    ShipmentFactory(order=in_review.order)
    from storedesk.risk.review import do_close_overtaken_reviews

    assert do_close_overtaken_reviews([in_review.order_id]) == 1

    with pytest.raises(AlreadyDecided, match="events overtook it"):
        do_approve(in_review, reviewer, "fine")


def test_cancelling_a_shipped_order_is_refused_with_a_clear_message(in_review, reviewer):
    from tests.factories import ShipmentFactory

    ShipmentFactory(order=in_review.order, shipped_at=in_review.order.created_at)

    with pytest.raises(CannotCancel, match="shipped on .*: it can no longer be cancelled"):
        do_cancel(in_review, reviewer, "stolen card")

    assert Order.objects.get(pk=in_review.order_id).cancelled_at is None
    in_review.refresh_from_db()
    assert in_review.status == Status.IN_REVIEW
    assert not RiskDecision.objects.exists()


def test_cancelling_a_partly_refunded_order_warns_with_what_remains(in_review, reviewer):
    order = in_review.order
    RefundFactory(order=order, payment=order.payments.get(), amount=Decimal("20.00"))

    decision = do_cancel(in_review, reviewer, "customer unreachable")

    assert decision.details["warning"] == (
        f"Order {order.number} was already partly refunded: 20.00 of 89.00 USD; "
        "69.00 USD remain to refund."
    )
    assert decision.details["already_refunded"] == "20.00"
    assert AuditEntry.objects.filter(action="order.cancelled", object_id=str(order.pk)).exists()
