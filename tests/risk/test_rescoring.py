"""Re-scoring when new facts arrive: a dispute batch, an early fraud warning, a ticket about the
order. Each runs after commit through the outbox, set-based, and records what changed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storedesk.audit.models import AuditEntry
from storedesk.commerce.ingest import DisputeIn
from storedesk.core.events import dispatch_event
from storedesk.core.models import DomainEvent
from storedesk.desk.services import do_link_orders, do_merge, do_open_ticket
from storedesk.disputes.services import (
    EarlyFraudWarningIn,
    do_ingest_disputes,
    do_record_early_fraud_warning,
)
from storedesk.risk.models import OrderRisk
from storedesk.risk.services import do_install_defaults, do_save_rule, do_score_orders
from tests.factories import BASE_TIME, OrderFactory, PaymentFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(agent):
    do_install_defaults(agent)
    do_save_rule(
        "review if :order_disputes: > 0 or :order_early_fraud_warnings: > 0",
        actor=agent,
        name="Disputed or warned",
        priority=5,
    )
    return StoreFactory()


def _paid_orders(store, count: int) -> list:
    payments = [
        PaymentFactory(order=OrderFactory(store=store, created_at=BASE_TIME + timedelta(hours=n)))
        for n in range(count)
    ]
    do_score_orders([payment.order_id for payment in payments])
    return payments


def _dispute(payment, n: int) -> DisputeIn:
    return DisputeIn(
        gateway="stripe",
        provider_id=f"dp_{n:08d}",
        payment_provider_id=payment.provider_id,
        reason="fraudulent",
        status="needs_response",
        amount=Decimal("89.00"),
        currency="USD",
        opened_at=BASE_TIME + timedelta(days=20),
    )


def _rescored(order_id):
    """The re-score audit entries of an order (written on its assessment)."""
    risk_id = OrderRisk.objects.get(order_id=order_id).pk
    return AuditEntry.objects.filter(action="risk.order_rescored", object_id=str(risk_id))


def test_a_dispute_batch_rescores_exactly_its_orders_and_they_enter_review(
    store, django_capture_on_commit_callbacks
):
    payments = _paid_orders(store, 5)
    disputed, quiet = payments[1:3], [payments[0], *payments[3:]]
    quiet_scored_at = {
        p.order_id: OrderRisk.objects.get(order_id=p.order_id).scored_at for p in quiet
    }

    with django_capture_on_commit_callbacks(execute=True):
        do_ingest_disputes([_dispute(p, n) for n, p in enumerate(disputed)])

    for payment in disputed:
        risk = OrderRisk.objects.get(order_id=payment.order_id)
        assert risk.signals["order_disputes"] == "1"
        assert (risk.status, risk.decided_by_rule.name) == ("in_review", "Disputed or warned")
        entry = _rescored(payment.order_id).get()
        assert entry.changes["because"] == "dispute"
        assert entry.changes["status"] == ["clear", "in_review"]
        assert entry.changes["signals"]["order_disputes"] == ["0", "1"]
    for payment in quiet:
        risk = OrderRisk.objects.get(order_id=payment.order_id)
        assert risk.scored_at == quiet_scored_at[payment.order_id]
        assert not _rescored(payment.order_id).exists()
    batch = DomainEvent.objects.get(name="disputes_opened")
    assert batch.payload["order_ids"] == sorted(p.order_id for p in disputed)
    assert batch.handled_at is not None
    flagged = DomainEvent.objects.filter(
        name="order_flagged", payload__order_id__in=[p.order_id for p in disputed]
    )
    assert flagged.count() == 2


def test_rescoring_a_dispute_batch_costs_the_same_queries_for_4_or_60_orders(store):
    def ingest(payments, first):
        do_ingest_disputes(
            [_dispute(p, first + n) for n, p in enumerate(payments)], dispatch_events=False
        )
        return DomainEvent.objects.filter(name="disputes_opened").latest("pk")

    small = ingest(_paid_orders(store, 4), 0)
    large = ingest(_paid_orders(store, 60), 100)

    with CaptureQueriesContext(connection) as four:
        dispatch_event.call(small.pk)
    with CaptureQueriesContext(connection) as sixty:
        dispatch_event.call(large.pk)

    assert len(sixty) == len(four), (len(four), len(sixty))
    assert AuditEntry.objects.filter(action="risk.order_rescored").count() == 64


def test_an_early_fraud_warning_rescores_its_order(store, django_capture_on_commit_callbacks):
    payment, other = _paid_orders(store, 2)

    with django_capture_on_commit_callbacks(execute=True):
        do_record_early_fraud_warning(
            EarlyFraudWarningIn(
                provider_id="issfr_1Test",
                charge_provider_id=payment.provider_id,
                fraud_type="made_with_stolen_card",
                actionable=True,
                warned_at=BASE_TIME + timedelta(days=3),
            )
        )

    risk = OrderRisk.objects.get(order_id=payment.order_id)
    assert risk.signals["order_early_fraud_warnings"] == "1"
    assert risk.status == "in_review"
    assert _rescored(payment.order_id).get().changes["because"] == "early_fraud_warning"
    assert not _rescored(other.order_id).exists()


def test_the_customers_earlier_warnings_count_on_later_orders(store):
    payment = _paid_orders(store, 1)[0]
    do_record_early_fraud_warning(
        EarlyFraudWarningIn("issfr_2", payment.provider_id, "misc", True, BASE_TIME + timedelta(1))
    )
    later = OrderFactory(
        store=store, customer=payment.order.customer, created_at=BASE_TIME + timedelta(days=2)
    )
    PaymentFactory(order=later)

    do_score_orders([later.pk])

    signals = OrderRisk.objects.get(order=later).signals
    assert (
        signals["customer_prior_early_fraud_warnings"],
        signals["order_early_fraud_warnings"],
    ) == (
        "1",
        "0",
    )


def test_a_ticket_linked_to_an_order_rescores_it(store, django_capture_on_commit_callbacks):
    payment, other = _paid_orders(store, 2)
    ticket = do_open_ticket(channel="email", requester_email="emma@mail.example")

    with django_capture_on_commit_callbacks(execute=True):
        do_link_orders(ticket, [payment.order], actor=None)

    risk = OrderRisk.objects.get(order_id=payment.order_id)
    assert risk.signals["tickets_about_order"] == "1"
    entry = _rescored(payment.order_id).get()
    assert entry.changes["because"] == "ticket"
    assert entry.changes["signals"] == {"tickets_about_order": ["0", "1"]}
    assert not _rescored(other.order_id).exists()


def test_a_merged_ticket_counts_once_as_the_ticket_it_joined(
    store, agent, django_capture_on_commit_callbacks
):
    payment = _paid_orders(store, 1)[0]
    about_order = do_open_ticket(
        channel="form", requester_email="emma@mail.example", orders=[payment.order]
    )
    survivor = do_open_ticket(channel="email", requester_email="emma@mail.example")

    with django_capture_on_commit_callbacks(execute=True):
        do_merge(about_order, survivor, actor=agent)

    assert list(survivor.orders.all()) == [payment.order]
    assert OrderRisk.objects.get(order_id=payment.order_id).signals["tickets_about_order"] == "1"


def test_a_ticket_opened_about_an_order_rescores_it(store, django_capture_on_commit_callbacks):
    payment = _paid_orders(store, 1)[0]

    with django_capture_on_commit_callbacks(execute=True):
        do_open_ticket(channel="form", requester_email="emma@mail.example", orders=[payment.order])

    assert OrderRisk.objects.get(order_id=payment.order_id).signals["tickets_about_order"] == "1"
    assert _rescored(payment.order_id).count() == 1


def _approved(payment, agent) -> OrderRisk:
    from storedesk.risk.review import do_approve

    OrderRisk.objects.filter(order_id=payment.order_id).update(status="in_review", stage="check")
    do_approve(OrderRisk.objects.get(order_id=payment.order_id), agent, "Known customer")
    return OrderRisk.objects.get(order_id=payment.order_id)


def test_a_ticket_rule_change_or_plain_rescore_leaves_a_persons_decision_as_it_was(
    store, agent, django_capture_on_commit_callbacks
):
    payment = _paid_orders(store, 1)[0]
    approved = _approved(payment, agent)
    do_save_rule("review if :amount_usd: > 1", actor=agent, name="Everything", priority=1)
    ticket = do_open_ticket(channel="email", requester_email="emma@mail.example")

    with django_capture_on_commit_callbacks(execute=True):
        do_link_orders(ticket, [payment.order], actor=None)
    do_score_orders([payment.order_id])

    risk = OrderRisk.objects.get(order_id=payment.order_id)
    assert (risk.status, risk.stage, risk.score, risk.action, risk.decided_by_rule_id) == (
        "approved",
        "done",
        approved.score,
        approved.action,
        approved.decided_by_rule_id,
    )
    assert risk.signals == approved.signals
    assert not _rescored(payment.order_id).exists()


def test_a_dispute_reopens_an_approved_review_visibly(
    store, agent, django_capture_on_commit_callbacks
):
    from storedesk.risk.models import RiskDecision

    payment = _paid_orders(store, 1)[0]
    _approved(payment, agent)

    with django_capture_on_commit_callbacks(execute=True):
        do_ingest_disputes([_dispute(payment, 1)])

    risk = OrderRisk.objects.get(order_id=payment.order_id)
    assert (risk.status, risk.stage, risk.signals["order_disputes"]) == (
        "in_review",
        "check",
        "1",
    )
    reopened = RiskDecision.objects.get(order_risk=risk, kind="reopened")
    assert reopened.details["because"] == "dispute"
    assert reopened.details["rule"] == "Disputed or warned"
    assert "new payment facts (dispute)" in reopened.reason
    assert AuditEntry.objects.filter(action="risk.reopened", object_id=str(payment.order_id))


def test_with_the_default_rules_a_warned_order_is_held_for_review(
    agent, django_capture_on_commit_callbacks
):
    do_install_defaults(agent)
    payment = PaymentFactory(order=OrderFactory(store=StoreFactory()))
    do_score_orders([payment.order_id])

    with django_capture_on_commit_callbacks(execute=True):
        do_record_early_fraud_warning(
            EarlyFraudWarningIn("issfr_3", payment.provider_id, "misc", True, BASE_TIME)
        )

    risk = OrderRisk.objects.get(order_id=payment.order_id)
    assert (risk.status, risk.action, risk.fulfillment_held) == (
        "in_review",
        "hold_fulfillment",
        True,
    )
    assert risk.decided_by_rule.name == "Early fraud warning"
