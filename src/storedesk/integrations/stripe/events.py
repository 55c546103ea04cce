"""Stripe events (`event` objects, as webhooks and GET /v1/events deliver them) routed to our
services. The webhook receiver (signature check, raw event stored once per `evt_…`) hands
each stored event here, in a task; an event type not listed is acknowledged and left alone."""

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import InvalidOperation
from typing import Any

from storedesk.commerce.queries import current_store
from storedesk.disputes.services import (
    EarlyFraudWarningRefused,
    do_ingest_disputes,
    do_record_early_fraud_warning,
)
from storedesk.gateways.models import AccountHealthCase
from storedesk.gateways.services import do_open_case, do_resolve_reported
from storedesk.integrations.stripe.mappers import (
    account_to_cases,
    charge_to_payment,
    dispute_to_dispute,
    early_fraud_warning_to_input,
    payout_to_case,
)


class EventNotApplied(Exception):
    """The event was understood but could not be applied; `retryable` says whether a later
    attempt may succeed (the order may arrive later; a malformed object never gets better)."""

    retryable = True


class UnknownCharge(EventNotApplied):
    """The event is about a charge no order of ours was paid with (yet)."""


class MalformedObject(EventNotApplied):
    """The event's object lacks what our services need to store it."""

    retryable = False


def _object(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return (event.get("data") or {}).get("object") or {}


def _mapped(mapper: Callable, stripe_object: Mapping[str, Any]):
    try:
        return mapper(stripe_object)
    except (KeyError, TypeError, ValueError, InvalidOperation) as error:
        kind = stripe_object.get("object") or "object"
        raise MalformedObject(f"{kind} {stripe_object.get('id', '?')}: {error!r}") from error


def _early_fraud_warning(event: Mapping[str, Any], actor) -> str:
    warning_in = _mapped(early_fraud_warning_to_input, _object(event))
    try:
        recorded = do_record_early_fraud_warning(warning_in, actor=actor)
    except EarlyFraudWarningRefused as error:
        raise MalformedObject(str(error)) from error
    if recorded.created:
        return "recorded"
    return "updated" if recorded.changes else "unchanged"


def _dispute(event: Mapping[str, Any], actor) -> str:
    """Every `charge.dispute.*` event carries the whole dispute, so each one is an ingest of
    its current state; `closed` also says when the dispute closed."""
    closed_at = None
    if event.get("type") == "charge.dispute.closed":
        closed_at = datetime.fromtimestamp(int(event["created"]), tz=UTC)
    return apply_dispute(_object(event), actor, closed_at=closed_at)


def apply_dispute(dispute: Mapping[str, Any], actor, *, closed_at: datetime | None = None) -> str:
    """A Stripe `dispute` object (from an event or a list) ingested as its current state."""
    dispute_in = _mapped(dispute_to_dispute, dispute)
    if closed_at is not None and dispute_in.closed_at is None:
        dispute_in = replace(dispute_in, closed_at=closed_at)
    result = do_ingest_disputes([dispute_in], actor=actor)
    if result.rejected:
        provider_id, error = result.rejected[0]
        raise MalformedObject(f"dispute {provider_id or '?'} refused: {error}")
    if result.unmatched:
        raise UnknownCharge(
            f"no payment with Stripe charge {dispute_in.payment_provider_id} "
            f"(dispute {dispute_in.provider_id}); retried in case its order arrives later"
        )
    if result.created:
        return "recorded"
    return "updated" if result.updated else "unchanged"


def _event_time(event: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(event.get("created") or 0), tz=UTC)


def _store():
    store = current_store()
    if store is None:
        raise EventNotApplied("no store yet to open an account-health case for")
    return store


def _payout_failed(event: Mapping[str, Any], actor) -> str:
    case_in = _mapped(lambda o: payout_to_case(o, happened_at=_event_time(event)), _object(event))
    result = do_open_case(_store(), case_in, actor=actor)
    return "recorded" if result.created else ("updated" if result.changed else "unchanged")


def _account_updated(event: Mapping[str, Any], actor) -> str:
    """Opens (or updates) a payout-hold and an account-review case while Stripe wants
    something; resolves them once the account is back in good standing."""
    at = _event_time(event)
    stripe_object = _object(event)
    cases = _mapped(lambda o: account_to_cases(o, happened_at=at), stripe_object)
    store = _store()
    outcomes = [do_open_case(store, case_in, actor=actor) for case_in in cases]
    open_kinds = {case_in.kind for case_in in cases}
    cleared = [
        kind
        for kind in (AccountHealthCase.Kind.PAYOUT_HOLD, AccountHealthCase.Kind.ACCOUNT_REVIEW)
        if kind not in open_kinds
    ]
    resolved = do_resolve_reported(
        "stripe",
        cleared,
        str(stripe_object.get("id") or ""),
        actor=actor,
        note="Stripe reports the account in good standing",
        at=at,
    )
    if any(outcome.created for outcome in outcomes):
        return "recorded"
    return "updated" if resolved or any(outcome.changed for outcome in outcomes) else "unchanged"


def _payment_of_charge(charge: Mapping[str, Any]):
    from storedesk.commerce.models import Payment

    return Payment.objects.filter(gateway="stripe", provider_id=str(charge.get("id") or "")).first()


def _order_for_charge(charge: Mapping[str, Any]):
    """The order a charge paid for, by the number the checkout put in its metadata
    (`order_number`, or WooCommerce's Stripe plugin's `order_id`)."""
    from storedesk.commerce.ingest import number_key
    from storedesk.commerce.models import Order

    metadata = charge.get("metadata") or {}
    for key in ("order_number", "order_id"):
        value = str(metadata.get(key) or "").strip()
        if value:
            found = Order.objects.filter(number_key=number_key(value)).order_by("pk")[:2]
            if len(found) == 1:
                return found[0]
    return None


def _charge(event: Mapping[str, Any], actor) -> str:
    """charge.succeeded/failed/captured/updated: the payment follows the charge's status; a
    charge for an order we have but no payment of (a store taking cards on Stripe directly)
    becomes that order's payment."""
    return apply_charge(_object(event), actor)


def apply_charge(charge: Mapping[str, Any], actor) -> str:
    """A Stripe `charge` object (from an event or a list): its payment follows its status."""
    from storedesk.commerce.services.payments import do_record_payment, do_update_payment_status

    payment_in = _mapped(charge_to_payment, charge)
    stored = _payment_of_charge(charge)
    if stored is not None:
        changed = do_update_payment_status(
            stored,
            payment_in.status,
            failure_code=payment_in.failure_code,
            failure_message=payment_in.failure_message,
            actor=actor,
        )
        return "updated" if changed else "unchanged"
    order = _order_for_charge(charge)
    if order is None:
        raise UnknownCharge(f"no order for Stripe charge {payment_in.provider_id} (yet)")
    try:
        do_record_payment(order, payment_in, actor=actor)
    except ValueError as error:
        raise MalformedObject(str(error)) from error
    return "recorded"


def _charge_refunded(event: Mapping[str, Any], actor) -> str:
    """charge.refunded carries the charge with its cumulative `amount_refunded`: what is not
    recorded yet is recorded once, keyed by that cumulative amount (a replay is a no-op)."""
    return apply_charge_refunds(_object(event), actor)


def apply_charge_refunds(charge: Mapping[str, Any], actor) -> str:
    """What the charge's cumulative `amount_refunded` adds to the refunds recorded, once."""
    from storedesk.commerce.models import Refund
    from storedesk.commerce.services import RefundRefused, do_record_refund
    from storedesk.core.money import from_minor_units

    payment = _payment_of_charge(charge)
    if payment is None:
        raise UnknownCharge(f"no payment with Stripe charge {charge.get('id')} (yet)")
    currency = str(charge.get("currency") or "").upper()
    try:
        refunded = from_minor_units(int(charge.get("amount_refunded") or 0), currency)
    except (TypeError, ValueError) as error:
        raise MalformedObject(f"charge {charge.get('id')}: {error!r}") from error
    live = sum(
        payment.refunds.filter(status__in=["pending", "succeeded"]).values_list(
            "amount", flat=True
        ),
        start=refunded * 0,
    )
    missing = refunded - live
    if missing <= 0:
        return "unchanged"
    try:
        do_record_refund(
            payment.order,
            missing,
            currency,
            Refund.Reason.OTHER,
            idempotency_key=f"stripe:{charge['id']}:refunded-to:{charge.get('amount_refunded')}",
            actor=actor,
            note="Refunded at Stripe",
            payment=payment,
        )
    except RefundRefused as error:
        raise MalformedObject(str(error)) from error
    return "recorded"


INTENT_STATUSES = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "failed",
    "payment_intent.processing": "pending",
}


def _payment_intent(event: Mapping[str, Any], actor) -> str:
    """payment_intent.*: the intent's payments follow it (charges arrive as charge.*)."""
    from storedesk.commerce.models import Payment
    from storedesk.commerce.services.payments import do_update_payment_status

    intent = _object(event)
    status = INTENT_STATUSES.get(str(event.get("type")))
    payments = list(
        Payment.objects.filter(gateway="stripe", provider_intent_id=str(intent.get("id") or ""))
    )
    if status is None or not payments:
        return "ignored"
    error = intent.get("last_payment_error") or {}
    changed = [
        do_update_payment_status(
            payment,
            status,
            failure_code=str(error.get("code") or "") if status == "failed" else "",
            failure_message=str(error.get("message") or "") if status == "failed" else "",
            actor=actor,
        )
        for payment in payments
    ]
    return "updated" if any(changed) else "unchanged"


def _payment_of_review(review: Mapping[str, Any]):
    """The payment a Radar review is about: by its charge, else by its payment intent."""
    from storedesk.commerce.models import Payment

    charge, intent = str(review.get("charge") or ""), str(review.get("payment_intent") or "")
    payments = Payment.objects.filter(gateway="stripe").order_by("pk")
    found = payments.filter(provider_id=charge).first() if charge else None
    if found is None and intent:
        found = payments.filter(provider_intent_id=intent).first()
    if found is None:
        raise UnknownCharge(f"no payment for Stripe review {review.get('id')} (yet)")
    return found


def _review_details(review: Mapping[str, Any]) -> dict[str, str]:
    if not str(review.get("id") or "").startswith("prv_"):
        raise MalformedObject(f"review without a prv_ id: {review.get('id')!r}")
    return {
        "stripe_review": str(review["id"]),
        "charge": str(review.get("charge") or ""),
        "payment_intent": str(review.get("payment_intent") or ""),
    }


def _review_opened(event: Mapping[str, Any], actor) -> str:
    """review.opened: Radar (a rule, or someone at Stripe) put the payment in review; the
    order goes to the desk's risk review queue (once per review)."""
    from storedesk.risk.review import do_open_review_for_gateway

    review = _object(event)
    details = _review_details(review) | {"opened_reason": str(review.get("opened_reason") or "")}
    payment = _payment_of_review(review)
    why = {"rule": "a Radar rule", "manual": "someone at Stripe"}.get(
        details["opened_reason"], details["opened_reason"] or "Radar"
    )
    requested = do_open_review_for_gateway(
        payment.order_id,
        reason=f"Stripe Radar opened review {details['stripe_review']} ({why}).",
        details=details,
        review_key="stripe_review",
        actor=actor,
    )
    return requested.outcome


def _review_closed(event: Mapping[str, Any], actor) -> str:
    """review.closed: Stripe's review ended (approved, refunded, refunded_as_fraud, disputed,
    redacted): noted on the order's review timeline once; the desk's decision stays a
    person's."""
    from storedesk.risk.review import do_note_gateway_review_closed

    review = _object(event)
    closed = str(review.get("closed_reason") or review.get("reason") or "")
    details = _review_details(review) | {"closed_reason": closed}
    payment = _payment_of_review(review)
    noted = do_note_gateway_review_closed(
        payment.order_id,
        reason=f"Stripe closed review {details['stripe_review']}: {closed or 'no reason given'}.",
        details={**details, "stripe_review_closed": details["stripe_review"]},
        review_key="stripe_review_closed",
        actor=actor,
    )
    return "noted" if noted is not None else "ignored"


ROUTES: dict[str, Callable[[Mapping[str, Any], Any], str]] = {
    "review.opened": _review_opened,
    "review.closed": _review_closed,
    "charge.succeeded": _charge,
    "charge.failed": _charge,
    "charge.captured": _charge,
    "charge.updated": _charge,
    "charge.refunded": _charge_refunded,
    **dict.fromkeys(INTENT_STATUSES, _payment_intent),
    "radar.early_fraud_warning.created": _early_fraud_warning,
    "radar.early_fraud_warning.updated": _early_fraud_warning,
    "charge.dispute.created": _dispute,
    "charge.dispute.updated": _dispute,
    "charge.dispute.closed": _dispute,
    "charge.dispute.funds_withdrawn": _dispute,
    "charge.dispute.funds_reinstated": _dispute,
    "payout.failed": _payout_failed,
    "account.updated": _account_updated,
}


def process_event(event: Mapping[str, Any], *, actor=None) -> str:
    """Apply one Stripe event; returns what happened ("ignored" for types we do not follow).
    Harmless to repeat: every route is idempotent on the object's id. Raises EventNotApplied
    when the event cannot be applied, with the reason."""
    route = ROUTES.get(str(event.get("type") or ""))
    if route is None:
        return "ignored"
    return route(event, actor)
