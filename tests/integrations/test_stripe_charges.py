"""Stripe beyond disputes: charge.* and payment_intent.* events move the desk's payments, and a
charge for a known order without a payment of ours becomes its payment (stores taking cards on
Stripe directly). Bodies are dj-stripe's real charge and payment intent."""

from dataclasses import replace
from decimal import Decimal

import pytest

from storedesk.commerce.models import Order, Payment, Refund
from storedesk.commerce.services import do_ingest_orders
from storedesk.integrations.stripe.models import StripeEvent
from tests.commerce.builders import order_in
from tests.factories import StoreFactory
from tests.integrations.test_stripe_webhooks import DJ_STRIPE, deliver, event, webhook_secret
from tests.shared_data import shared_json

pytestmark = pytest.mark.django_db
__all__ = ["deliver", "webhook_secret"]  # fixtures shared with the dispute tests

CHARGE = "ch_fakefakefakefakefake0001"


def real_charge(**changes) -> dict:
    return shared_json(f"{DJ_STRIPE}/charge_{CHARGE}.json") | changes


@pytest.fixture
def order():
    do_ingest_orders(StoreFactory(), [order_in(1, total=Decimal("20.00"), paid=False)])
    return Order.objects.get()


def outcomes():
    return list(StripeEvent.objects.order_by("pk").values_list("outcome", flat=True))


def test_a_charge_for_a_known_order_becomes_its_payment(deliver, order):
    charge = real_charge(metadata={"order_number": order.number})

    deliver(event("charge.succeeded", charge, "evt_charge_1"))
    deliver(event("charge.succeeded", charge, "evt_charge_1b"))

    payment = Payment.objects.get(provider_id=CHARGE)
    assert (payment.order_id, payment.amount, payment.status, payment.captured) == (
        order.pk,
        Decimal("20.00"),
        "succeeded",
        True,
    )
    assert outcomes() == ["recorded", "unchanged"]


def test_a_charge_for_no_known_order_is_kept_and_retried(deliver, order):
    deliver(event("charge.succeeded", real_charge(), "evt_charge_2"))
    stored = StripeEvent.objects.get()
    assert stored.status == "failed"
    assert "no order for Stripe charge" in stored.last_error
    assert stored.next_attempt_at is not None


def test_failed_and_refunded_charges_move_the_payment(deliver, order):
    deliver(
        event("charge.succeeded", real_charge(metadata={"order_number": order.number}), "evt_a")
    )
    deliver(event("charge.refunded", real_charge(amount_refunded=500), "evt_b"))
    deliver(event("charge.refunded", real_charge(amount_refunded=500), "evt_b2"))
    deliver(event("charge.refunded", real_charge(amount_refunded=2000, refunded=True), "evt_c"))

    assert sorted(Refund.objects.values_list("amount", flat=True)) == [
        Decimal("5.00"),
        Decimal("15.00"),
    ]
    assert Order.objects.get().financial_status == "refunded"
    assert outcomes() == ["recorded", "recorded", "unchanged", "recorded"]


def test_payment_intent_events_follow_the_intent(deliver, order):
    deliver(
        event("charge.succeeded", real_charge(metadata={"order_number": order.number}), "evt_1")
    )
    intent = shared_json(f"{DJ_STRIPE}/payment_intent_pi_fakefakefakefakefake0001.json")
    failed = intent | {"last_payment_error": {"code": "card_declined", "message": "Declined"}}

    deliver(event("payment_intent.payment_failed", failed, "evt_2"))

    payment = Payment.objects.get(provider_id=CHARGE)
    assert (payment.status, payment.failure_code) == ("failed", "card_declined")
    deliver(event("payment_intent.succeeded", intent, "evt_3"))
    assert Payment.objects.get(provider_id=CHARGE).status == "succeeded"


# --- Radar reviews -------------------------------------------------------------------------------

REVIEW = "prv_1N6QVaJSZQVUcJYg2ozEL1bt"


def real_review(**changes) -> dict:
    return shared_json(f"{DJ_STRIPE}/review_fake_prv_fakefakefakefakefake0001.json") | changes


@pytest.fixture
def paid(deliver):
    """A paid order not shipped yet (a shipped order's review has nothing left to decide)."""
    unshipped = replace(order_in(2, total=Decimal("20.00"), paid=False), shipments=())
    do_ingest_orders(StoreFactory(), [unshipped])
    number = Order.objects.get().number
    deliver(event("charge.succeeded", real_charge(metadata={"order_number": number}), "evt_p"))
    return Payment.objects.get(provider_id=CHARGE)


def test_a_radar_review_puts_the_order_in_the_risk_review_queue_once(deliver, paid):
    from storedesk.risk.models import OrderRisk, RiskDecision
    from storedesk.risk.queries import review_queue

    opened = real_review(charge=CHARGE)
    deliver(event("review.opened", opened, "evt_review_1"))
    deliver(event("review.opened", opened, "evt_review_1b"))  # the same review, sent again

    risk = OrderRisk.objects.get(order=paid.order)
    assert risk.status == "in_review"
    decisions = list(RiskDecision.objects.filter(order_risk=risk))
    assert [(d.kind, d.details["stripe_review"]) for d in decisions] == [("opened", REVIEW)]
    assert "a Radar rule" in decisions[0].reason
    assert paid.order_id in [row.order_id for row in review_queue()]
    assert outcomes()[-2:] == ["opened", "already_requested"]


def test_a_review_found_by_its_payment_intent(deliver, paid):
    from storedesk.risk.models import OrderRisk

    Payment.objects.filter(pk=paid.pk).update(provider_intent_id="pi_1J5O1nJSZQVUcJYgDllsNBS0")
    deliver(event("review.opened", real_review(), "evt_review_pi"))  # charge: null
    assert OrderRisk.objects.get(order=paid.order).status == "in_review"


def test_a_closed_review_is_noted_once_and_the_decision_stays_a_person_s(deliver, paid):
    from storedesk.risk.models import OrderRisk, RiskDecision

    deliver(event("review.opened", real_review(charge=CHARGE), "evt_r1"))
    closed = real_review(charge=CHARGE, open=False, closed_reason="approved", reason="approved")
    deliver(event("review.closed", closed, "evt_r2"))
    deliver(event("review.closed", closed, "evt_r3"))
    risk = OrderRisk.objects.get(order=paid.order)
    assert risk.status == "in_review"
    notes = RiskDecision.objects.filter(order_risk=risk, kind="note")
    assert [n.details["closed_reason"] for n in notes] == ["approved"]
    assert "approved" in notes[0].reason


def test_a_review_of_an_unknown_payment_waits(deliver, order):
    deliver(event("review.opened", real_review(charge="ch_unknown"), "evt_r_unknown"))
    stored = StripeEvent.objects.get()
    assert stored.status == "failed"
    assert "no payment for Stripe review" in stored.last_error
