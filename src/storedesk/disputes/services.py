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
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import batched
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from storedesk.audit.services import record_audit, record_audit_bulk
from storedesk.commerce.ingest import DisputeIn
from storedesk.commerce.models import Payment
from storedesk.commerce.services import ROWS_PER_INSERT, actor_label, record_events_bulk
from storedesk.core.errors import ServiceError
from storedesk.core.events import record_event
from storedesk.core.lookups import provider_keys_filter
from storedesk.disputes.errors import (
    DisputeResponseError,
    GatewayRefused,
    GatewayUnavailable,
    ResponseRefused,
)
from storedesk.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeReminder,
    DisputeSubmission,
    EarlyFraudWarning,
    EvidencePack,
    Outcome,
    Stage,
)
from storedesk.disputes.reasons import families_for
from storedesk.disputes.responders import dispute_client, refund_requester

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
# Derived by the desk from what the gateway said, updated with it.
DERIVED = ("stage", "family", "outcome")
OUTCOMES = {"won": Outcome.WON, "lost": Outcome.LOST, "warning_closed": Outcome.WARNING_CLOSED}
PAYPAL_STAGES = {
    "INQUIRY": Stage.INQUIRY,
    "CHARGEBACK": Stage.CHARGEBACK,
    "PRE_ARBITRATION": Stage.PRE_ARBITRATION,
    "ARBITRATION": Stage.ARBITRATION,
}


def stage_of(dispute_in: DisputeIn) -> str:
    """PayPal: its `dispute_life_cycle_stage` (as mapped, else from the raw object);
    Stripe: an inquiry or a chargeback."""
    if dispute_in.stage:
        return dispute_in.stage
    raw_stage = str((dispute_in.raw or {}).get("dispute_life_cycle_stage") or "").upper()
    if raw_stage in PAYPAL_STAGES:
        return PAYPAL_STAGES[raw_stage]
    return Stage.INQUIRY if dispute_in.kind == Dispute.Kind.INQUIRY else Stage.CHARGEBACK


def outcome_of(dispute_in: DisputeIn, current: str = "") -> str:
    """Won, lost or inquiry closed from the gateway's status; PayPal's RESOLVED says who won
    in `dispute_outcome.outcome_code`."""
    if dispute_in.status in OUTCOMES:
        return OUTCOMES[dispute_in.status]
    if dispute_in.status == "RESOLVED":
        code = str(((dispute_in.raw or {}).get("dispute_outcome") or {}).get("outcome_code", ""))
        if code == "RESOLVED_SELLER_FAVOUR":
            return Outcome.WON
        if code in {"RESOLVED_BUYER_FAVOUR", "RESOLVED_WITH_PAYOUT"}:
            return current if current == Outcome.ACCEPTED else Outcome.LOST
    return current


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
    families = families_for({(d.gateway, d.reason) for d in latest.values()})
    created, updated = [], []
    for key, dispute_in in latest.items():
        family = families[(dispute_in.gateway, dispute_in.reason)]
        if key in existing:
            changes = _apply(existing[key], dispute_in, family)
            if changes:
                updated.append((existing[key], changes))
            else:
                result.unchanged += 1
            continue
        payment = payments.get((dispute_in.gateway, dispute_in.payment_provider_id))
        if payment is None:
            result.unmatched.append(dispute_in.provider_id)
            continue
        created.append(_dispute_row(dispute_in, *payment, family=family))
    Dispute.objects.bulk_create(created, batch_size=ROWS_PER_INSERT)
    if updated:
        Dispute.objects.bulk_update(
            [d for d, _ in updated],
            fields=list(dict.fromkeys([*UPDATABLE, *DERIVED])),
            batch_size=ROWS_PER_INSERT,
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


def _dispute_row(dispute_in: DisputeIn, payment_id: int, order_id: int, *, family: str) -> Dispute:
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
        stage=stage_of(dispute_in),
        family=family,
        outcome=outcome_of(dispute_in),
    )


def _apply(dispute: Dispute, dispute_in: DisputeIn, family: str) -> dict:
    """Copy what changed onto the stored dispute; returns {field: [old, new]}."""
    changes = {}
    derived = {
        "stage": stage_of(dispute_in),
        "family": family,
        "outcome": outcome_of(dispute_in, dispute.outcome),
    }
    for name, new in derived.items():
        old = getattr(dispute, name)
        if new != old:
            changes[name] = [old, new]
            setattr(dispute, name, new)
    for name in UPDATABLE:
        if name in derived:
            continue
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
    now = timezone.now()
    DisputeEvent.objects.bulk_create(
        [
            DisputeEvent(
                dispute=d,
                kind="opened",
                actor=label,
                details={"status": d.status, "reason": d.reason, "stage": d.stage},
                happened_at=d.opened_at,
            )
            for d in created
        ]
        + [
            DisputeEvent(
                dispute=d,
                kind="outcome" if "outcome" in changes and d.outcome else "updated",
                actor=label,
                details={name: [str(v) for v in pair] for name, pair in changes.items()},
                happened_at=now,
            )
            for d, changes in updated
        ],
        batch_size=ROWS_PER_INSERT,
    )
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


# --- The specialist's work: owner, evidence pack, responses, reminders ------------------------
RESPONSE_NOTE_LIMIT = 2000


def lock_dispute(dispute_id: int) -> Dispute:
    """The one way to lock a dispute row (responses and edits of one dispute serialise on it)."""
    return Dispute.objects.select_for_update(of=("self",)).get(pk=dispute_id)


def record_dispute_event(dispute: Dispute, kind: str, actor=None, **details) -> DisputeEvent:
    """One line of the dispute's timeline; call inside the service's transaction."""
    return DisputeEvent.objects.create(
        dispute=dispute,
        kind=kind,
        actor=actor_label(actor),
        details={
            key: str(value) if not isinstance(value, (list, dict, int, bool)) else value
            for key, value in details.items()
        },
        happened_at=timezone.now(),
    )


@transaction.atomic
def do_assign_dispute(dispute: Dispute, owner, *, actor) -> Dispute:
    """Give the dispute an owner (None: nobody); the owner gets its deadline reminders."""
    locked = lock_dispute(dispute.pk)
    before = locked.owner_id
    if before == (owner.pk if owner else None):
        return locked
    locked.owner = owner
    locked.save(update_fields=["owner"])
    record_audit(
        actor=actor,
        action="dispute.assigned",
        obj=locked,
        changes={"owner": [before, locked.owner_id]},
    )
    record_dispute_event(locked, "assigned", actor, owner=str(owner) if owner else "")
    return locked


@transaction.atomic
def do_assemble_pack(dispute_id: int, *, actor=None) -> EvidencePack:
    """Assemble (or re-assemble) the dispute's evidence pack from what Storedesk holds now.
    The specialist's rebuttal and edited fields are kept; an empty rebuttal is drafted from
    the reason family's letter."""
    from storedesk.disputes.evidence import assemble_facts, completeness, draft_rebuttal

    lock_dispute(dispute_id)
    dispute, facts = assemble_facts(dispute_id)
    pack = EvidencePack.objects.filter(dispute=dispute).first()
    now = timezone.now()
    if pack is None:
        pack = EvidencePack(dispute=dispute, rebuttal=draft_rebuttal(facts))
    pack.facts = facts
    if not pack.rebuttal.strip():
        pack.rebuttal = draft_rebuttal(facts)
    pack.completeness, pack.missing = completeness(facts, pack.rebuttal)
    pack.assembled_at = now
    created = pack.pk is None
    pack.save()
    record_dispute_event(
        dispute,
        "pack_assembled" if created else "pack_refreshed",
        actor,
        completeness=pack.completeness,
        missing=pack.missing,
    )
    return pack


class EvidenceRefused(ServiceError):
    """An edit of the evidence that cannot be kept; the message names the field. `status`:
    409 once a response was sent, 422 for a field that does not exist."""

    code = "evidence_refused"

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@transaction.atomic
def do_update_evidence(
    dispute: Dispute, *, actor, rebuttal: str | None = None, fields: Mapping[str, str] | None = None
) -> EvidencePack:
    """Keep the specialist's rebuttal and edited gateway fields (an empty value drops the
    edit); the completeness follows. Refused once a response was sent."""
    from storedesk.disputes.evidence import EDITABLE_FIELDS, completeness

    locked = lock_dispute(dispute.pk)
    if locked.responded_at is not None:
        raise EvidenceRefused(
            "the response was already sent; the evidence can no longer change", status=409
        )
    unknown = sorted(set(fields or {}) - EDITABLE_FIELDS)
    if unknown:
        raise EvidenceRefused(f"unknown evidence fields: {', '.join(unknown)}")
    pack = EvidencePack.objects.filter(dispute=locked).first() or do_assemble_pack(
        locked.pk, actor=actor
    )
    changed = []
    if rebuttal is not None and rebuttal != pack.rebuttal:
        pack.rebuttal = rebuttal
        changed.append("rebuttal")
    for name, value in (fields or {}).items():
        value = (value or "").strip()
        if value:
            pack.overrides[name] = value
        else:
            pack.overrides.pop(name, None)
        changed.append(name)
    if changed:
        pack.completeness, pack.missing = completeness(pack.facts, pack.rebuttal)
        pack.edited_at = timezone.now()
        pack.save()
        record_audit(
            actor=actor, action="dispute.evidence_edited", obj=locked, changes={"fields": changed}
        )
        record_dispute_event(
            locked, "evidence_edited", actor, fields=changed, completeness=pack.completeness
        )
    return pack


def _refuse_unless_open(dispute: Dispute, action: str, now) -> None:
    from storedesk.disputes.reasons import actions_allowed, rule_for

    if dispute.closed_at is not None or is_closed(dispute.status):
        raise ResponseRefused(
            f"the dispute is closed ({dispute.status}); nothing was sent", "closed"
        )
    if dispute.evidence_due_by is not None and dispute.evidence_due_by <= now:
        raise ResponseRefused(
            f"the response was due by {dispute.evidence_due_by:%Y-%m-%d %H:%M} UTC; the gateway "
            "no longer accepts it, so nothing was sent",
            "past_due",
        )
    if action not in actions_allowed(rule_for(dispute), dispute.stage):
        raise ResponseRefused(
            f"{action} is not allowed at the {dispute.get_stage_display()} stage of a "
            f"{dispute.get_gateway_display()} dispute",
            "not_allowed",
        )


@transaction.atomic
def _claim_response(
    dispute_id: int, action: str, *, actor, idempotency_key: str
) -> tuple[Dispute, DisputeSubmission, bool]:
    """Reserve the one response of this kind (a row in `sending`); (…, False) for a replay of
    the same key. Refused with the reason when the dispute may not get it."""
    dispute = lock_dispute(dispute_id)
    existing = DisputeSubmission.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if (existing.dispute_id, existing.action) != (dispute.pk, action):
            raise ResponseRefused(
                "that idempotency key was used for another response", "key_reused"
            )
        return dispute, existing, False
    sent = DisputeSubmission.objects.filter(
        dispute=dispute,
        action__in={DisputeSubmission.Action.SUBMIT, DisputeSubmission.Action.ACCEPT, action},
        status__in=[DisputeSubmission.Status.SENDING, DisputeSubmission.Status.SENT],
    ).first()
    if sent is not None:
        raise ResponseRefused(
            f"a response ({sent.get_action_display().lower()}) was already sent on "
            f"{sent.created_at:%Y-%m-%d %H:%M} UTC; the gateway takes one, so nothing was sent",
            "already_submitted",
        )
    now = timezone.now()
    _refuse_unless_open(dispute, action, now)
    try:
        with transaction.atomic():
            submission = DisputeSubmission.objects.create(
                dispute=dispute,
                action=action,
                idempotency_key=idempotency_key,
                created_by=actor if getattr(actor, "pk", None) else None,
                created_at=now,
            )
    except IntegrityError as race:
        raise ResponseRefused(
            "another response is being sent right now; nothing more was sent", "already_submitted"
        ) from race
    return dispute, submission, True


@transaction.atomic
def _finish_response(
    submission: DisputeSubmission,
    *,
    actor,
    response: dict | None,
    error: DisputeResponseError | None,
    warnings: list[str] = (),
) -> DisputeSubmission:
    dispute = lock_dispute(submission.dispute_id)
    submission.response = response or {}
    submission.warnings = list(warnings)
    if error is None:
        submission.status = DisputeSubmission.Status.SENT
        updates = []
        if submission.action in (DisputeSubmission.Action.SUBMIT, DisputeSubmission.Action.ACCEPT):
            dispute.responded_at = timezone.now()
            updates.append("responded_at")
        new_status = str((response or {}).get("status") or "")
        if (
            new_status
            and dispute.gateway == Payment.Gateway.STRIPE
            and new_status != dispute.status
        ):
            dispute.status = new_status
            updates.append("status")
        if submission.action == DisputeSubmission.Action.ACCEPT:
            dispute.outcome = Outcome.ACCEPTED
            updates.append("outcome")
        if updates:
            dispute.save(update_fields=updates)
    else:
        submission.status = DisputeSubmission.Status.FAILED
        submission.error = str(error)
    submission.save()
    record_audit(
        actor=actor,
        action=f"dispute.{submission.action}_{submission.status}",
        obj=dispute,
        changes={
            "submission": submission.pk,
            "error": submission.error,
            "warnings": submission.warnings,
        },
    )
    record_dispute_event(
        dispute,
        f"{submission.action}_{submission.status}",
        actor,
        error=submission.error,
        warnings=submission.warnings,
    )
    return submission


def _send(dispute: Dispute, submission: DisputeSubmission, actor, send) -> DisputeSubmission:
    """Run the gateway call outside any transaction; record what came back."""
    try:
        response, warnings = send()
    except DisputeResponseError as error:
        _finish_response(submission, actor=actor, response=None, error=error)
        raise
    except Exception as unexpected:  # never leave the response reserved as "sending"
        logger.exception("dispute %s: %s failed", dispute.pk, submission.action)
        error = GatewayUnavailable(f"the response failed: {unexpected}", "failed")
        _finish_response(submission, actor=actor, response=None, error=error)
        raise error from unexpected
    return _finish_response(
        submission, actor=actor, response=response, error=None, warnings=warnings
    )


SHOPIFY_NO_FILES = (
    "Shopify Payments: the pack PDF was not attached; its text went in the evidence text fields"
)


def do_submit_evidence(dispute: Dispute, *, actor, idempotency_key: str) -> DisputeSubmission:
    """Send the pack to the gateway once: Stripe gets its `evidence` hash (text trimmed to fit,
    with a warning) and the pack PDF as `uncategorized_file` and `customer_communication`;
    PayPal gets provide-evidence with the PDF; Shopify Payments gets `disputeEvidenceUpdate`
    with the text fields, submitted (no file). Refused, with nothing sent, after the deadline
    or once a response was sent."""
    from storedesk.disputes.evidence import paypal_evidence, stripe_evidence
    from storedesk.disputes.pdf import PAYPAL_EVIDENCE_BYTES, STRIPE_EVIDENCE_BYTES, fit_pack_pdf

    dispute, submission, fresh = _claim_response(
        dispute.pk, DisputeSubmission.Action.SUBMIT, actor=actor, idempotency_key=idempotency_key
    )
    if not fresh:
        return submission
    pack = EvidencePack.objects.filter(dispute=dispute).first() or do_assemble_pack(
        dispute.pk, actor=actor
    )
    filename = f"evidence-{dispute.order.number.lstrip('#')}.pdf"

    def send():
        if dispute.gateway == Payment.Gateway.STRIPE:
            stripe_disputes = dispute_client(Payment.Gateway.STRIPE)
            pdf, file_warnings = fit_pack_pdf(
                pack.facts, pack.rebuttal, limit=STRIPE_EVIDENCE_BYTES, gateway="Stripe"
            )
            evidence, warnings = stripe_evidence(pack.facts, pack.rebuttal, pack.overrides)
            warnings = [*warnings, *file_warnings]
            file_id = stripe_disputes.upload_evidence_file(
                pdf, filename, idempotency_key=f"{idempotency_key}-file"
            )
            evidence["uncategorized_file"] = file_id
            evidence["customer_communication"] = file_id
            return stripe_disputes.submit_evidence(
                dispute.provider_id, evidence, idempotency_key=idempotency_key
            ), warnings
        if dispute.gateway == Payment.Gateway.PAYPAL:
            paypal_disputes = dispute_client(Payment.Gateway.PAYPAL)
            pdf, file_warnings = fit_pack_pdf(
                pack.facts, pack.rebuttal, limit=PAYPAL_EVIDENCE_BYTES, gateway="PayPal"
            )
            answer = paypal_disputes.provide_evidence(
                dispute.provider_id,
                paypal_evidence(pack.facts, pack.rebuttal),
                pdf,
                filename,
                idempotency_key=idempotency_key,
            )
            return answer, file_warnings
        if dispute.gateway == Payment.Gateway.SHOPIFY_PAYMENTS:
            shopify_disputes = dispute_client(Payment.Gateway.SHOPIFY_PAYMENTS)
            evidence, warnings = stripe_evidence(pack.facts, pack.rebuttal, pack.overrides)
            answer = shopify_disputes.submit_evidence(
                dispute.order.store_id,
                dispute.provider_id,
                evidence,
                shipping_address=dispute.order.shipping_address,
                idempotency_key=idempotency_key,
            )
            # Nothing is attached at Shopify: a trimmed text's "attached PDF" is the pack here.
            warnings = [w.replace("attached PDF", "pack kept here") for w in warnings]
            return answer, [*warnings, SHOPIFY_NO_FILES]
        raise GatewayRefused(
            f"responding to {dispute.get_gateway_display()} disputes is not supported yet",
            "unsupported",
        )

    return _send(dispute, submission, actor, send)


def do_accept_dispute(
    dispute: Dispute, *, actor, idempotency_key: str, note: str = ""
) -> DisputeSubmission:
    """Accept the dispute at the gateway (Stripe: close it, the loss accepted; a Stripe
    inquiry is refunded first through the registered refund path; PayPal: accept-claim, which
    refunds the buyer at PayPal, recorded on the order exactly once). Shopify Payments has no
    accept call: its client refuses, saying that not responding by the due date accepts it."""
    dispute, submission, fresh = _claim_response(
        dispute.pk, DisputeSubmission.Action.ACCEPT, actor=actor, idempotency_key=idempotency_key
    )
    if not fresh:
        return submission
    note = (note or "We accept the claim and refund the buyer.")[:RESPONSE_NOTE_LIMIT]

    def send():
        if dispute.gateway == Payment.Gateway.STRIPE:
            stripe_disputes = dispute_client(Payment.Gateway.STRIPE)
            refund, warnings = {}, []
            if dispute.kind == Dispute.Kind.INQUIRY:
                refund, warnings = _refund_accepted_inquiry(dispute, actor, note, idempotency_key)
            answer = stripe_disputes.close_dispute(
                dispute.provider_id, idempotency_key=idempotency_key
            )
            return ({**answer, "storedesk_refund": refund} if refund else answer), warnings
        if dispute.gateway == Payment.Gateway.PAYPAL:
            paypal_disputes = dispute_client(Payment.Gateway.PAYPAL)
            answer = paypal_disputes.accept_claim(
                dispute.provider_id, note, idempotency_key=idempotency_key
            )
            return answer, _record_accepted_refund(dispute, actor, idempotency_key)
        if dispute.gateway == Payment.Gateway.SHOPIFY_PAYMENTS:
            # Shopify has no accept call: its client refuses, saying how to accept there.
            shopify_disputes = dispute_client(Payment.Gateway.SHOPIFY_PAYMENTS)
            return shopify_disputes.accept_dispute(
                dispute.provider_id, idempotency_key=idempotency_key
            ), []
        raise GatewayRefused(
            f"responding to {dispute.get_gateway_display()} disputes is not supported yet",
            "unsupported",
        )

    return _send(dispute, submission, actor, send)


def _refund_accepted_inquiry(
    dispute: Dispute, actor, note: str, idempotency_key: str
) -> tuple[dict, list[str]]:
    """A Stripe inquiry is no chargeback yet: the money is still the store's, so accepting it
    refunds the customer through the registered refund path (resolutions: its rules, the
    gateway call, audit), once per key. A refusal stops the accept before anything is sent."""
    started = refund_requester()(
        dispute=dispute,
        amount=dispute.amount,
        actor=actor,
        note=note,
        idempotency_key=f"dispute-accept-{idempotency_key}",
    )
    if "refused" in started:
        raise GatewayRefused(
            f"the refund was refused ({started['refused']}); the inquiry was not closed",
            "refund_refused",
        )
    warnings = []
    if started.get("status") not in {"done", "processing"}:
        warnings.append(
            f"the refund (resolution {started.get('resolution_id')}) is "
            f"{str(started.get('status', '')).replace('_', ' ')}"
        )
    return started, warnings


def _record_accepted_refund(dispute: Dispute, actor, idempotency_key: str) -> list[str]:
    """PayPal refunds the buyer when a claim is accepted: record it once on the order."""
    from storedesk.commerce.services import RefundRefused, do_record_refund

    try:
        do_record_refund(
            dispute.order,
            dispute.amount,
            dispute.currency,
            idempotency_key=f"dispute-accept-{idempotency_key}",
            actor=actor,
            note=f"PayPal claim {dispute.provider_id} accepted",
            payment=dispute.payment,
        )
    except RefundRefused as refused:
        return [f"the refund was not recorded on the order: {refused}"]
    return []


def do_send_reminders(now=None) -> int:
    """Remind owners of disputes due within each threshold (business hours of the team's
    calendar); one reminder per dispute, threshold and deadline, however often this runs."""
    from storedesk.disputes.queries import WAITING, team_calendar

    now = now or timezone.now()
    calendar = team_calendar()
    created = 0
    for hours in sorted(settings.DISPUTE_REMINDER_HOURS, reverse=True):
        cutoff = calendar.add_business_minutes(now, hours * 60)
        due = (
            Dispute.objects.filter(WAITING)
            .filter(evidence_due_by__gt=now, evidence_due_by__lte=cutoff)
            .only("pk", "owner_id", "evidence_due_by")
        )
        rows = [
            DisputeReminder(
                dispute_id=d.pk,
                hours_before=hours,
                due_by=d.evidence_due_by,
                owner_id=d.owner_id,
                created_at=now,
            )
            for d in due
        ]
        with transaction.atomic():
            before = DisputeReminder.objects.count()
            DisputeReminder.objects.bulk_create(
                rows, ignore_conflicts=True, batch_size=ROWS_PER_INSERT
            )
            added = DisputeReminder.objects.count() - before
            if added:
                fresh = DisputeReminder.objects.filter(created_at=now, hours_before=hours)
                DisputeEvent.objects.bulk_create(
                    [
                        DisputeEvent(
                            dispute_id=r.dispute_id,
                            kind="reminder",
                            actor="system",
                            details={"hours_before": hours},
                            happened_at=now,
                        )
                        for r in fresh
                    ]
                )
        created += added
    emailed = do_email_reminders(now)
    if emailed:
        logger.info("dispute reminders: %s e-mailed to their owners", emailed)
    return created


REMINDER_MAIL_WINDOW_HOURS = 24


def _reminder_mail(reminder: DisputeReminder) -> tuple[str, str]:
    from django.urls import reverse

    dispute = reminder.dispute
    base = str(settings.DESK_URL or "http://127.0.0.1:8000").rstrip("/")
    due = dispute.evidence_due_by
    subject = (
        f"Dispute on order {dispute.order.number} is due within {reminder.hours_before} "
        f"business hours"
    )
    body = (
        f"The {dispute.get_gateway_display()} dispute {dispute.provider_id} on order "
        f"{dispute.order.number} ({dispute.amount} {dispute.currency}, {dispute.reason}) must be "
        f"answered by {due:%Y-%m-%d %H:%M} UTC.\n\n"
        f"Open it: {base}{reverse('disputes:detail', args=[dispute.pk])}\n"
    )
    return subject, body


def do_email_reminders(now=None) -> int:
    """E-mail each owner their reminders of the last day, once: a reminder is claimed
    (emailed_at set) before the mail goes, and released if the mailer fails, so the next
    sweep tries again and a sweep running twice never mails twice."""
    from django.core.mail import EmailMessage

    now = now or timezone.now()
    since = now - timedelta(hours=REMINDER_MAIL_WINDOW_HOURS)
    waiting = (
        DisputeReminder.objects.filter(emailed_at__isnull=True, created_at__gte=since)
        .exclude(owner__isnull=True)
        .exclude(owner__email="")
        .filter(owner__is_active=True, dispute__responded_at__isnull=True)
        .select_related("owner", "dispute", "dispute__order")
        .order_by("created_at", "pk")
    )
    sent = 0
    for reminder in waiting:
        claimed = DisputeReminder.objects.filter(pk=reminder.pk, emailed_at__isnull=True).update(
            emailed_at=now
        )
        if not claimed:
            continue
        subject, body = _reminder_mail(reminder)
        try:
            EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [reminder.owner.email]).send()
        except Exception:  # any mailer failure: released, tried again by the next sweep
            logger.exception("dispute reminder %s: the e-mail failed", reminder.pk)
            DisputeReminder.objects.filter(pk=reminder.pk).update(emailed_at=None)
            continue
        sent += 1
    return sent


# --- Prevention: early fraud warnings --------------------------------------------------------


def efw_refund_limit() -> Decimal:
    return Decimal(settings.DISPUTE_EFW_AUTO_REFUND_UNDER)


@transaction.atomic
def do_act_on_early_fraud_warning(warning_id: int) -> str:
    """The policy for an early fraud warning, as an urgent case on the order (an open
    refund task, shown in the disputes workspace): not yet shipped and at most
    DISPUTE_EFW_AUTO_REFUND_UNDER: "refund now" (a refund avoids the dispute and its fee);
    otherwise "review" (shipped goods may be worth fighting for). Once per order."""
    from storedesk.commerce.models import Order, OrderTask

    warning = EarlyFraudWarning.objects.select_for_update().filter(pk=warning_id).first()
    if warning is None or warning.order_id is None or not warning.actionable:
        return "nothing to do"
    order = Order.objects.get(pk=warning.order_id)
    remaining = order.total_price - order.total_refunded
    if remaining <= 0:
        return "already refunded"
    refund_now = (
        order.fulfillment_status == Order.FulfillmentStatus.UNFULFILLED
        and remaining <= efw_refund_limit()
    )
    verdict = (
        f"Refund now: not shipped and at most {efw_refund_limit()} {order.currency}."
        if refund_now
        else "Review: shipped or above the refund-at-once limit; refund or prepare evidence."
    )
    task, created = OrderTask.objects.get_or_create(
        order=order,
        kind=OrderTask.Kind.REFUND_NEEDED,
        status=OrderTask.Status.OPEN,
        defaults={
            "amount": remaining,
            "currency": order.currency,
            "reason": (
                f"Urgent: early fraud warning {warning.provider_id} ({warning.fraud_type}). "
                f"{verdict} A fraud dispute usually follows if nothing is done."
            ),
            "created_at": timezone.now(),
        },
    )
    if created:
        record_audit(
            actor="early-fraud-warning-policy",
            action="dispute.early_fraud_warning_case",
            obj=warning,
            changes={"order_id": order.pk, "task": task.pk, "refund_now": refund_now},
        )
    return "refund now" if refund_now else "review"


def _paypal_only(dispute: Dispute, action: str) -> None:
    if dispute.gateway != Payment.Gateway.PAYPAL:
        raise ResponseRefused(f"{action} exists only for PayPal disputes", "not_allowed")


def do_make_offer(
    dispute: Dispute,
    *,
    actor,
    idempotency_key: str,
    amount: Decimal,
    offer_type: str = "REFUND",
    note: str = "",
) -> DisputeSubmission:
    """PayPal inquiries: offer the buyer a (partial) refund or a replacement instead of the
    claim; once per dispute. The refund, if the buyer accepts, arrives as a dispute update."""
    _paypal_only(dispute, "make-offer")
    if offer_type not in {
        "REFUND",
        "REFUND_WITH_RETURN",
        "REFUND_WITH_REPLACEMENT",
        "REPLACEMENT_WITHOUT_REFUND",
    }:
        raise ResponseRefused(f"unknown offer type {offer_type!r}", "invalid")
    if amount <= 0 or amount > dispute.amount:
        raise ResponseRefused(
            f"an offer must be more than 0 and at most {dispute.amount}", "invalid"
        )
    dispute, submission, fresh = _claim_response(
        dispute.pk, DisputeSubmission.Action.OFFER, actor=actor, idempotency_key=idempotency_key
    )
    if not fresh:
        return submission
    paypal_disputes = dispute_client(Payment.Gateway.PAYPAL)
    money = {"currency_code": dispute.currency, "value": f"{amount:.2f}"}
    note = (note or "We would like to make this right with an offer.")[:RESPONSE_NOTE_LIMIT]
    return _send(
        dispute,
        submission,
        actor,
        lambda: (
            paypal_disputes.make_offer(
                dispute.provider_id, note, money, offer_type, idempotency_key=idempotency_key
            ),
            [],
        ),
    )


def do_escalate(
    dispute: Dispute, *, actor, idempotency_key: str, note: str = ""
) -> DisputeSubmission:
    """PayPal inquiries: ask PayPal to decide (a claim) when talking to the buyer failed."""
    _paypal_only(dispute, "escalate")
    dispute, submission, fresh = _claim_response(
        dispute.pk, DisputeSubmission.Action.ESCALATE, actor=actor, idempotency_key=idempotency_key
    )
    if not fresh:
        return submission
    paypal_disputes = dispute_client(Payment.Gateway.PAYPAL)
    note = (note or "We could not agree with the buyer; please review the evidence.")[
        :RESPONSE_NOTE_LIMIT
    ]
    return _send(
        dispute,
        submission,
        actor,
        lambda: (
            paypal_disputes.escalate(dispute.provider_id, note, idempotency_key=idempotency_key),
            [],
        ),
    )
