"""Reason rules as versioned data, outcomes from gateway events, the recommendation and its
hit rate, and prevention (early fraud warnings, chargeback threats)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.commerce.ingest import DisputeIn
from storedesk.commerce.models import Order, OrderTask
from storedesk.disputes.models import DisputeEvent, Family, Outcome, ReasonRule
from storedesk.disputes.reasons import (
    ReasonRuleRefused,
    do_save_reason_rule,
    rule_for,
    seed_rows,
)
from storedesk.disputes.recommendation import hit_rate, recommend
from storedesk.disputes.services import (
    EarlyFraudWarningIn,
    do_act_on_early_fraud_warning,
    do_ingest_disputes,
    do_record_early_fraud_warning,
)
from storedesk.triage.models import MessageAnalysis
from tests.disputes.builders import disputed_order

pytestmark = pytest.mark.django_db


def test_the_seeded_rules_come_with_source_and_date():
    rows = seed_rows()

    assert ReasonRule.objects.count() == len(rows)
    assert all(rule.source and rule.effective_from for rule in ReasonRule.objects.all())
    visa = ReasonRule.objects.get(gateway="stripe", reason="fraudulent", network_code="10.4")
    assert "prior_undisputed_orders" in visa.checklist
    assert visa.response_days == 30


def test_an_edit_is_a_new_version_and_older_disputes_keep_theirs(admin_user):
    dispute = disputed_order(reason="general", network_reason_code="")
    base = rule_for(dispute)
    tomorrow = timezone.now().date() + timedelta(days=1)

    new = do_save_reason_rule(
        base,
        actor=admin_user,
        family=Family.NOT_AS_DESCRIBED,
        response_days=9,
        checklist=["order_receipt", "rebuttal"],
        actions={"chargeback": ["submit"]},
        source="Stripe support answer, 2026-12",
        effective_from=tomorrow,
    )

    assert (new.version, base.version) == (base.version + 1, base.version)
    assert rule_for(dispute).pk == base.pk  # opened before the new version took effect
    dispute.opened_at = timezone.now() + timedelta(days=2)
    assert rule_for(dispute).pk == new.pk


def test_a_rule_naming_an_unknown_checklist_item_is_refused(admin_user):
    base = ReasonRule.objects.filter(gateway="stripe", reason="general").first()

    with pytest.raises(ReasonRuleRefused, match="unknown checklist items: selfie"):
        do_save_reason_rule(
            base,
            actor=admin_user,
            family="other",
            response_days=7,
            checklist=["selfie"],
            actions={},
            source="x",
            effective_from=timezone.now().date(),
        )


def test_only_admins_edit_rules_on_the_page(client, make_user):
    rule = ReasonRule.objects.order_by("pk").first()
    client.force_login(make_user(Role.PAYMENTS, username="pay"))
    assert client.get(f"/disputes/reasons/{rule.pk}/").status_code == 200
    assert client.post(f"/disputes/reasons/{rule.pk}/", {}).status_code == 403

    client.force_login(make_user(Role.ADMIN, username="boss"))
    response = client.post(
        f"/disputes/reasons/{rule.pk}/",
        {
            "family": "fraud",
            "response_days": "12",
            "checklist": ["order_receipt", "rebuttal"],
            "source": "Card network bulletin",
            "effective_from": "2026-01-01",
            "actions_chargeback": ["submit", "accept"],
        },
    )
    assert response.status_code == 302
    assert (
        ReasonRule.objects.filter(
            gateway=rule.gateway, reason=rule.reason, network_code=rule.network_code
        ).count()
        == 2
    )


def test_outcomes_are_recorded_from_the_gateways_events():
    won = disputed_order()
    lost = disputed_order(
        gateway="paypal",
        reason="UNAUTHORISED",
        network_reason_code="",
        status="WAITING_FOR_SELLER_RESPONSE",
    )
    now = timezone.now()

    def update(dispute, **changes):
        values = {
            "gateway": dispute.gateway,
            "provider_id": dispute.provider_id,
            "payment_provider_id": dispute.payment.provider_id,
            "reason": dispute.reason,
            "status": dispute.status,
            "amount": dispute.amount,
            "currency": dispute.currency,
            "opened_at": dispute.opened_at,
            "kind": dispute.kind,
            "network_reason_code": dispute.network_reason_code,
            "evidence_due_by": dispute.evidence_due_by,
            "raw": dispute.raw,
        }
        return DisputeIn(**{**values, **changes})

    do_ingest_disputes(
        [
            update(won, status="won", closed_at=now),
            update(
                lost,
                status="RESOLVED",
                closed_at=now,
                raw={"dispute_outcome": {"outcome_code": "RESOLVED_BUYER_FAVOUR"}},
            ),
        ]
    )

    won.refresh_from_db()
    lost.refresh_from_db()
    assert (won.outcome, lost.outcome) == (Outcome.WON, Outcome.LOST)
    assert DisputeEvent.objects.filter(dispute=won, kind="outcome").count() == 1


def test_the_recommendation_weighs_amount_pack_and_record():
    small_empty = recommend(
        amount=Decimal("12.00"), gateway="stripe", family="fraud", completeness=10, record=(0, 0)
    )
    large_complete = recommend(
        amount=Decimal("450.00"),
        gateway="stripe",
        family="not_received",
        completeness=100,
        record=(6, 2),
    )
    losing_record = recommend(
        amount=Decimal("40.00"), gateway="stripe", family="fraud", completeness=60, record=(0, 30)
    )

    assert small_empty.action == "accept"
    assert large_complete.action == "fight"
    assert large_complete.win_chance > 0.7
    assert losing_record.action == "accept"
    assert any("6 won, 2 lost" in reason for reason in large_complete.reasons)


def test_the_hit_rate_is_measured_on_closed_disputes():
    for outcome in ("won", "won", "lost"):
        dispute = disputed_order(amount=Decimal("300.00"))
        dispute.outcome = outcome
        dispute.save(update_fields=["outcome"])

    measured = hit_rate()

    assert measured["closed"] == 3
    assert measured["hits"] == 2  # fight is advised for all three: right twice
    assert measured["rate"] == pytest.approx(0.667, abs=0.001)


def _warn(order: Order, provider_id: str):
    payment = order.payments.get()
    return do_record_early_fraud_warning(
        EarlyFraudWarningIn(
            provider_id=provider_id,
            charge_provider_id=payment.provider_id,
            fraud_type="made_with_stolen_card",
            actionable=True,
            warned_at=timezone.now(),
        )
    ).warning


def test_an_early_fraud_warning_on_a_small_unshipped_order_says_refund_now(settings):
    settings.DISPUTE_EFW_AUTO_REFUND_UNDER = "100.00"
    dispute = disputed_order(amount=Decimal("60.00"))
    order = dispute.order
    dispute.delete()
    Order.objects.filter(pk=order.pk).update(fulfillment_status="unfulfilled")

    verdict = do_act_on_early_fraud_warning(_warn(order, "issfr_small").pk)
    again = do_act_on_early_fraud_warning(_warn(order, "issfr_small").pk)

    assert (verdict, again) == ("refund now", "refund now")
    task = OrderTask.objects.get(order=order)
    assert task.status == "open"
    assert task.reason.startswith("Urgent: early fraud warning issfr_small")
    assert "Refund now" in task.reason


def test_an_early_fraud_warning_on_a_shipped_order_asks_for_review():
    dispute = disputed_order(amount=Decimal("60.00"))
    order = dispute.order

    assert do_act_on_early_fraud_warning(_warn(order, "issfr_shipped").pk) == "review"
    assert "Review" in OrderTask.objects.get(order=order).reason


def test_a_chargeback_threat_shows_the_orders_dispute_risk(client, make_user):
    dispute = disputed_order()
    ticket = dispute.order.tickets.get()
    message = ticket.messages.order_by("pk").first()
    MessageAnalysis.objects.create(
        message=message,
        ticket=ticket,
        primary_intent="chargeback",
        threats=["chargeback"],
        has_threat=True,
        analysed_at=timezone.now(),
    )
    client.force_login(make_user(Role.PAYMENTS, username="pay2"))

    response = client.get(f"/disputes/ticket/{ticket.number}/risk/")

    page = response.content.decode()
    assert 'data-testid="chargeback-threat"' in page
    assert 'data-level="disputed"' in page
