"""The only writers of disputes: chargebacks, inquiries and PayPal claims as gateways report them.

Reason codes and statuses stay the gateway's own words (Stripe's `fraudulent`, PayPal's
`MERCHANDISE_OR_SERVICE_NOT_RECEIVED`); the catalogues below say which ones each gateway uses so
a surprise is noticed, not silently renamed. A dispute is identified by gateway + provider id,
so a webhook replayed or delivered twice changes nothing, and a later status is an update.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import batched

from django.db import transaction

from storedesk.audit.services import record_audit_bulk
from storedesk.commerce.ingest import DisputeIn
from storedesk.commerce.models import Payment
from storedesk.commerce.services import ROWS_PER_INSERT, actor_label, record_events_bulk
from storedesk.core.lookups import provider_keys_filter
from storedesk.disputes.models import Dispute

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
CLOSED_STATUSES = frozenset({"warning_closed", "won", "lost", "prevented", "RESOLVED"})
# Fields a later report of the same dispute may change.
UPDATABLE = (
    "status",
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
