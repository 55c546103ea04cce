"""The only writers of disputes: chargebacks, inquiries and PayPal claims as gateways report them.

Reason codes and statuses stay the gateway's own words (Stripe's `fraudulent`, PayPal's
`MERCHANDISE_OR_SERVICE_NOT_RECEIVED`); the catalogues below say which ones each gateway uses so
a surprise is noticed, not silently renamed. A dispute is identified by gateway + provider id,
so a webhook replayed or delivered twice changes nothing, and a later status is an update.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import batched
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from storedesk.audit.services import record_audit, record_audit_bulk
from storedesk.commerce.ingest import DisputeIn
from storedesk.commerce.models import Payment
from storedesk.commerce.services import ROWS_PER_INSERT, actor_label, record_events_bulk
from storedesk.core.events import record_event
from storedesk.core.lookups import provider_keys_filter
from storedesk.disputes.models import Dispute, EarlyFraudWarning

logger = logging.getLogger(__name__)

DISPUTES_PER_TRANSACTION = 2000

# Sources: Stripe API reference (Dispute.reason / Dispute.status, stripe-node
# src/resources/Disputes.ts); PayPal customer_disputes_v1.json (dispute_reason, status).
REASONS = {
    Payment.Gateway.STRIPE: frozenset(
        {
            "bank_cannot_process",
            "check_returned",
            "credit_not_processed",
            "customer_initiated",
            "debit_not_authorized",
            "duplicate",
            "fraudulent",
            "general",
            "incorrect_account_details",
            "insufficient_funds",
            "noncompliant",
            "product_not_received",
            "product_unacceptable",
            "subscription_canceled",
            "unrecognized",
        }
    ),
    # Shopify Payments disputes (Admin API `ShopifyPaymentsDispute.reason`): Stripe's words.
    Payment.Gateway.SHOPIFY_PAYMENTS: frozenset(
        {
            "bank_cannot_process",
            "credit_not_processed",
            "customer_initiated",
            "debit_not_authorized",
            "duplicate",
            "fraudulent",
            "general",
            "incorrect_account_details",
            "insufficient_funds",
            "product_not_received",
            "product_unacceptable",
            "subscription_canceled",
            "unrecognized",
        }
    ),
    Payment.Gateway.PAYPAL: frozenset(
        {
            "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
            "MERCHANDISE_OR_SERVICE_NOT_AS_DESCRIBED",
            "UNAUTHORISED",
            "CREDIT_NOT_PROCESSED",
            "DUPLICATE_TRANSACTION",
            "INCORRECT_AMOUNT",
            "PAYMENT_BY_OTHER_MEANS",
            "CANCELED_RECURRING_BILLING",
            "PROBLEM_WITH_REMITTANCE",
            "OTHER",
        }
    ),
}
STATUSES = {
    Payment.Gateway.STRIPE: frozenset(
        {
            "warning_needs_response",
            "warning_under_review",
            "warning_closed",
            "needs_response",
            "under_review",
            "won",
            "lost",
            "prevented",
        }
    ),
    Payment.Gateway.SHOPIFY_PAYMENTS: frozenset(
        {"needs_response", "under_review", "charge_refunded", "accepted", "won", "lost"}
    ),
    Payment.Gateway.PAYPAL: frozenset(
        {
            "OPEN",
            "WAITING_FOR_BUYER_RESPONSE",
            "WAITING_FOR_SELLER_RESPONSE",
            "UNDER_REVIEW",
            "RESOLVED",
            "OTHER",
        }
    ),
}
CLOSED_STATUSES = frozenset(
    {"warning_closed", "won", "lost", "prevented", "RESOLVED", "charge_refunded", "accepted"}
)
# Fields a later report of the same dispute may change.
UPDATABLE = (
    "status",
    "stage",
    "reason",
    "network_reason_code",
    "kind",
    "amount",
    "evidence_due_by",
    "closed_at",
)


@dataclass
class DisputeIngestResult:
    """What an ingest did; `unmatched` are provider ids whose payment we do not know (yet)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unmatched: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: DisputeIngestResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.unmatched.extend(other.unmatched)
        self.rejected.extend(other.rejected)


def is_closed(status: str) -> bool:
    return status in CLOSED_STATUSES


def do_ingest_disputes(
    disputes: Iterable[DisputeIn],
    *,
    actor=None,
    batch_size: int = DISPUTES_PER_TRANSACTION,
    dispatch_events: bool = True,
) -> DisputeIngestResult:
    """Store new disputes and apply status changes of known ones, set-based, one transaction
    per batch. Emits `dispute_opened`, `dispute_updated` and `dispute_closed`."""
    result = DisputeIngestResult()
    for batch in batched(disputes, batch_size):
        with transaction.atomic():
            result.add(_ingest_batch(batch, actor, dispatch_events))
    return result


def _validate(dispute_in: DisputeIn) -> str:
    """'' when storable, else an error code. Unknown reasons/statuses are logged, not dropped:
    gateways add codes, and losing a dispute costs more than an odd label."""
    if dispute_in.gateway not in REASONS:
        return "unknown_gateway"
    if not dispute_in.provider_id or not dispute_in.payment_provider_id:
        return "missing_id"
    if dispute_in.kind not in Dispute.Kind.values:
        return "unknown_kind"
    if dispute_in.stage and dispute_in.stage not in Dispute.Stage.values:
        return "unknown_stage"
    if dispute_in.reason not in REASONS[dispute_in.gateway]:
        logger.warning("unknown %s dispute reason %r", dispute_in.gateway, dispute_in.reason)
    if dispute_in.status not in STATUSES[dispute_in.gateway]:
        logger.warning("unknown %s dispute status %r", dispute_in.gateway, dispute_in.status)
    return ""


def _ingest_batch(batch: Sequence[DisputeIn], actor, dispatch: bool) -> DisputeIngestResult:
    result = DisputeIngestResult()
    latest: dict[tuple[str, str], DisputeIn] = {}
    for dispute_in in batch:
        error = _validate(dispute_in)
        if error:
            result.rejected.append((dispute_in.provider_id, error))
        else:
            latest[(dispute_in.gateway, dispute_in.provider_id)] = dispute_in
    payments = _payments({(d.gateway, d.payment_provider_id) for d in latest.values()})
    existing = _existing(set(latest))
    created, updated = [], []
    for key, dispute_in in latest.items():
        if key in existing:
            changes = _apply(existing[key], dispute_in)
            if changes:
                updated.append((existing[key], changes))
            else:
                result.unchanged += 1
            continue
        payment = payments.get((dispute_in.gateway, dispute_in.payment_provider_id))
        if payment is None:
            result.unmatched.append(dispute_in.provider_id)
            continue
        created.append(_dispute_row(dispute_in, *payment))
    Dispute.objects.bulk_create(created, batch_size=ROWS_PER_INSERT)
    if updated:
        Dispute.objects.bulk_update(
            [d for d, _ in updated], fields=list(UPDATABLE), batch_size=ROWS_PER_INSERT
        )
    result.created, result.updated = len(created), len(updated)
    _record(created, updated, actor, dispatch)
    return result


def _payments(keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(gateway, provider id) -> (payment id, order id), in one query."""
    if not keys:
        return {}
    condition = provider_keys_filter(keys)
    return {
        (gateway, provider_id): (pk, order_id)
        for gateway, provider_id, pk, order_id in Payment.objects.filter(condition).values_list(
            "gateway", "provider_id", "pk", "order_id"
        )
    }


def _existing(keys: set[tuple[str, str]]) -> dict[tuple[str, str], Dispute]:
    if not keys:
        return {}
    condition = provider_keys_filter(keys)
    return {(d.gateway, d.provider_id): d for d in Dispute.objects.filter(condition)}


def _dispute_row(dispute_in: DisputeIn, payment_id: int, order_id: int) -> Dispute:
    closed_at = dispute_in.closed_at
    return Dispute(
        order_id=order_id,
        payment_id=payment_id,
        gateway=dispute_in.gateway,
        provider_id=dispute_in.provider_id,
        kind=dispute_in.kind,
        stage=dispute_in.stage,
        reason=dispute_in.reason,
        network_reason_code=dispute_in.network_reason_code,
        status=dispute_in.status,
        amount=dispute_in.amount,
        currency=dispute_in.currency.upper(),
        opened_at=dispute_in.opened_at,
        evidence_due_by=dispute_in.evidence_due_by,
        closed_at=closed_at,
        raw=dict(dispute_in.raw),
    )


def _apply(dispute: Dispute, dispute_in: DisputeIn) -> dict:
    """Copy what changed onto the stored dispute; returns {field: [old, new]}."""
    changes = {}
    for name in UPDATABLE:
        new = getattr(dispute_in, name)
        if name == "closed_at" and new is None and is_closed(dispute_in.status):
            new = dispute.closed_at
        old = getattr(dispute, name)
        if new != old:
            changes[name] = [old, new]
            setattr(dispute, name, new)
    if changes and dispute_in.raw:
        dispute.raw = dict(dispute_in.raw)
    return changes


def _record(
    created: list[Dispute], updated: list[tuple[Dispute, dict]], actor, dispatch: bool
) -> None:
    label = actor_label(actor)
    if created:
        # One event for the batch, so whoever follows the orders' facts (risk re-scoring) does
        # one set-based pass over the batch instead of one pass per dispute.
        record_events_bulk(
            "disputes_opened",
            [{"order_ids": sorted({d.order_id for d in created}), "count": len(created)}],
            dispatch=dispatch,
        )
        record_audit_bulk(
            actor_label=label,
            action="dispute.opened",
            objects=created,
            changes_for=lambda d: {
                "reason": d.reason,
                "status": d.status,
                "amount": d.amount,
                "currency": d.currency,
            },
        )
        record_events_bulk(
            "dispute_opened",
            [
                {
                    "dispute_id": d.pk,
                    "order_id": d.order_id,
                    "gateway": d.gateway,
                    "reason": d.reason,
                    "status": d.status,
                }
                for d in created
            ],
            dispatch=dispatch,
        )
    if updated:
        change_of = {d.pk: changes for d, changes in updated}
        record_audit_bulk(
            actor_label=label,
            action="dispute.updated",
            objects=[d for d, _ in updated],
            changes_for=lambda d: change_of[d.pk],
        )
        record_events_bulk(
            "dispute_updated",
            [
                {
                    "dispute_id": d.pk,
                    "order_id": d.order_id,
                    "status": d.status,
                    "changed": sorted(changes),
                }
                for d, changes in updated
            ],
            dispatch=dispatch,
        )
        record_events_bulk(
            "dispute_closed",
            [
                {"dispute_id": d.pk, "order_id": d.order_id, "status": d.status}
                for d, changes in updated
                if "status" in changes and is_closed(d.status)
            ],
            dispatch=dispatch,
        )


# --- Early fraud warnings ----------------------------------------------------------------------

# Source: Stripe API reference, radar.early_fraud_warning.fraud_type.
FRAUD_TYPES = frozenset(
    {
        "card_never_received",
        "fraudulent_card_application",
        "made_with_counterfeit_card",
        "made_with_lost_card",
        "made_with_stolen_card",
        "misc",
        "unauthorized_use_of_card",
    }
)


class EarlyFraudWarningRefused(ValueError):
    """The warning cannot be stored: it lacks what identifies it."""


@dataclass(frozen=True, slots=True)
class EarlyFraudWarningIn:
    """A Stripe `radar.early_fraud_warning` as the gateway reports it; the payment is found by
    the charge id, or by the payment intent when the charge is not known."""

    provider_id: str
    charge_provider_id: str
    fraud_type: str
    actionable: bool
    warned_at: datetime
    payment_intent_provider_id: str = ""
    gateway: str = Payment.Gateway.STRIPE
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EarlyFraudWarningRecorded:
    warning: EarlyFraudWarning
    created: bool
    changes: dict


def _warned_payment(warning_in: EarlyFraudWarningIn) -> tuple[int, int] | None:
    """(payment id, order id) of the warned charge, or None while it is not known here."""
    payments = Payment.objects.filter(gateway=warning_in.gateway)
    if warning_in.charge_provider_id:
        found = payments.filter(provider_id=warning_in.charge_provider_id)
    elif warning_in.payment_intent_provider_id:
        found = payments.filter(provider_intent_id=warning_in.payment_intent_provider_id)
    else:
        return None
    return found.order_by("-created_at", "-pk").values_list("pk", "order_id").first()


@transaction.atomic
def do_record_early_fraud_warning(
    warning_in: EarlyFraudWarningIn, *, actor=None
) -> EarlyFraudWarningRecorded:
    """Store an early fraud warning once per provider id; a repeat delivery changes nothing and
    a later one (`radar.early_fraud_warning.updated`) applies what changed. Stored even while
    its charge is unknown (linked on a later delivery), so nothing a gateway said is lost.
    A warning never becomes actionable again once it was not (Stripe: disputed or refunded),
    so deliveries arriving out of order end in the same state. Emits
    `early_fraud_warning_recorded` (and `_updated`) with the order, for re-scoring."""
    if not warning_in.provider_id:
        raise EarlyFraudWarningRefused("an early fraud warning without an id cannot be stored")
    if warning_in.fraud_type not in FRAUD_TYPES:
        logger.warning("unknown early fraud warning type %r", warning_in.fraud_type)
    key = {"gateway": warning_in.gateway, "provider_id": warning_in.provider_id}
    warning = EarlyFraudWarning.objects.select_for_update().filter(**key).first()
    if warning is None:
        payment = _warned_payment(warning_in)
        try:
            with transaction.atomic():
                warning = EarlyFraudWarning.objects.create(
                    **key,
                    charge_provider_id=warning_in.charge_provider_id,
                    payment_intent_provider_id=warning_in.payment_intent_provider_id,
                    payment_id=payment[0] if payment else None,
                    order_id=payment[1] if payment else None,
                    fraud_type=warning_in.fraud_type,
                    actionable=warning_in.actionable,
                    warned_at=warning_in.warned_at,
                    recorded_at=timezone.now(),
                    raw=dict(warning_in.raw),
                )
        except IntegrityError:  # delivered twice at the same moment: the other one stored it
            warning = EarlyFraudWarning.objects.select_for_update().get(**key)
        else:
            record_audit(
                actor=actor,
                action="dispute.early_fraud_warning_recorded",
                obj=warning,
                changes={
                    "fraud_type": warning.fraud_type,
                    "actionable": warning.actionable,
                    "charge": warning.charge_provider_id,
                    "order_id": warning.order_id,
                },
            )
            record_event(
                "early_fraud_warning_recorded",
                warning_id=warning.pk,
                order_id=warning.order_id,
                fraud_type=warning.fraud_type,
            )
            return EarlyFraudWarningRecorded(warning, True, {})
    changes = _apply_warning(warning, warning_in)
    if changes:
        warning.save()
        record_audit(
            actor=actor, action="dispute.early_fraud_warning_updated", obj=warning, changes=changes
        )
        record_event(
            "early_fraud_warning_updated",
            warning_id=warning.pk,
            order_id=warning.order_id,
            changed=sorted(changes),
        )
    return EarlyFraudWarningRecorded(warning, False, changes)


def _apply_warning(warning: EarlyFraudWarning, warning_in: EarlyFraudWarningIn) -> dict:
    """Copy what changed onto the stored warning; returns {field: [old, new]}."""
    wanted = {
        "actionable": warning.actionable and warning_in.actionable,
        "fraud_type": warning_in.fraud_type or warning.fraud_type,
        "charge_provider_id": warning_in.charge_provider_id or warning.charge_provider_id,
        "payment_intent_provider_id": (
            warning_in.payment_intent_provider_id or warning.payment_intent_provider_id
        ),
    }
    changes = {}
    for name, new in wanted.items():
        old = getattr(warning, name)
        if new != old:
            changes[name] = [old, new]
            setattr(warning, name, new)
    if warning.payment_id is None:
        payment = _warned_payment(
            EarlyFraudWarningIn(
                warning.provider_id,
                warning.charge_provider_id,
                warning.fraud_type,
                warning.actionable,
                warning.warned_at,
                warning.payment_intent_provider_id,
                warning.gateway,
            )
        )
        if payment is not None:
            warning.payment_id, warning.order_id = payment
            changes["order_id"] = [None, warning.order_id]
    if changes and warning_in.raw:
        warning.raw = dict(warning_in.raw)
    return changes
