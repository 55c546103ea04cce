"""How each PayPal webhook event is applied (run by the delivery task, after the 200).

Captures become (or update) the desk's payments; refunds and reversals go through
`do_record_refund` with PayPal's refund id as idempotency key (its over-refund guard holds);
disputes go into the disputes app. An event about a capture the desk does not know yet is
parked on that capture and applied when it arrives (the order's import or a later capture).
"""

from __future__ import annotations

import json

from storedesk.commerce.models import Order, Payment, Refund
from storedesk.commerce.services import OverRefundError, RefundRefused, do_record_refund
from storedesk.commerce.services.order_updates import order_id_for
from storedesk.commerce.services.payments import do_record_payment, do_update_payment_status
from storedesk.disputes.services import do_ingest_disputes
from storedesk.integrations.connections.services import (
    DeliveryFailed,
    DeliveryParked,
    register_applier,
    wake_parked,
)
from storedesk.integrations.connections.systems import PAYPAL
from storedesk.integrations.paypal import mappers

ACTOR = "paypal-webhook"
CAPTURE_EVENTS = ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED")
REFUND_EVENTS = ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED")
DISPUTE_EVENTS = (
    "CUSTOMER.DISPUTE.CREATED",
    "CUSTOMER.DISPUTE.UPDATED",
    "CUSTOMER.DISPUTE.RESOLVED",
    "RISK.DISPUTE.CREATED",
)
TOPICS = (*CAPTURE_EVENTS, *REFUND_EVENTS, *DISPUTE_EVENTS)


def capture_key(capture_id: str) -> str:
    return f"capture:{capture_id}"


def object_key(event: dict) -> str:
    """What an event is about, so a parked one waits on the right capture."""
    resource = event.get("resource") or {}
    event_type = event.get("event_type", "")
    if event_type in CAPTURE_EVENTS:
        return capture_key(str(resource.get("id", "")))
    if event_type in REFUND_EVENTS:
        return capture_key(mappers.refunded_capture_id(resource) or str(resource.get("id", "")))
    if event_type in DISPUTE_EVENTS:
        return capture_key(mappers.disputed_capture_id(resource))
    return ""


def _payment(capture_id: str) -> Payment | None:
    return Payment.objects.filter(gateway=Payment.Gateway.PAYPAL, provider_id=capture_id).first()


def apply_capture(connection, event_type: str, capture: dict) -> str:
    try:
        payment_in = mappers.payment_in(capture)
    except mappers.MappingError as error:
        raise DeliveryFailed(str(error), retryable=False) from None
    if event_type == "PAYMENT.CAPTURE.DENIED":
        payment_in_status = Payment.Status.FAILED
    else:
        payment_in_status = payment_in.status
    stored = _payment(payment_in.provider_id)
    if stored is not None:
        changed = do_update_payment_status(
            stored,
            payment_in_status,
            failure_code=payment_in.failure_code
            or ("DENIED" if payment_in_status == "failed" else ""),
            actor=ACTOR,
        )
        return "updated" if changed else "unchanged"
    reference = mappers.order_reference(capture)
    order_id = order_id_for(connection.store_id, reference) if reference else None
    if order_id is None:
        raise DeliveryParked(
            f"no stored order for PayPal capture {payment_in.provider_id} "
            f"(invoice_id/custom_id {reference!r})",
            capture_key(payment_in.provider_id),
        )
    try:
        do_record_payment(Order(pk=order_id), payment_in, actor=ACTOR)
    except ValueError as error:
        raise DeliveryFailed(str(error), retryable=False) from None
    if payment_in_status != payment_in.status:
        do_update_payment_status(_payment(payment_in.provider_id), payment_in_status, actor=ACTOR)
    wake_parked(connection.pk, [capture_key(payment_in.provider_id)])
    return "created"


def apply_refund(connection, event_type: str, refund: dict) -> str:
    """A refund (or a reversal PayPal made on its own) of a capture the desk knows."""
    capture_id = mappers.refunded_capture_id(refund)
    if not capture_id and event_type == "PAYMENT.CAPTURE.REVERSED":
        capture_id = str(refund.get("id") or "")  # some reversals carry the capture itself
    payment = _payment(capture_id) if capture_id else None
    if payment is None:
        raise DeliveryParked(
            f"PayPal capture {capture_id!r} is not stored yet", capture_key(capture_id)
        )
    try:
        amount, currency = mappers.money(refund.get("amount"), "amount")
    except mappers.MappingError as error:
        raise DeliveryFailed(str(error), retryable=False) from None
    reversed_by_paypal = event_type == "PAYMENT.CAPTURE.REVERSED"
    refund_id = str(refund.get("id") or "")
    key = f"paypal:{'reversal' if reversed_by_paypal else 'refund'}:{refund_id or capture_id}"
    try:
        do_record_refund(
            payment.order,
            abs(amount),
            currency,
            Refund.Reason.OTHER,
            idempotency_key=key,
            actor=ACTOR,
            note="PayPal reversed the capture" if reversed_by_paypal else "Refunded at PayPal",
            payment=payment,
            provider_id=refund_id[:64],
            created_at=mappers.moment(refund.get("create_time"), "create_time", required=False),
        )
    except OverRefundError as error:
        raise DeliveryFailed(str(error), retryable=False) from None
    except RefundRefused as error:
        raise DeliveryFailed(str(error), retryable=False) from None
    return "created"


def apply_dispute(connection, dispute: dict) -> str:
    try:
        dispute_in = mappers.dispute_in(dispute)
    except mappers.MappingError as error:
        raise DeliveryFailed(str(error), retryable=False) from None
    if not dispute_in.payment_provider_id:
        raise DeliveryFailed("dispute names no seller_transaction_id", retryable=False)
    result = do_ingest_disputes([dispute_in], actor=ACTOR)
    if result.rejected:
        raise DeliveryFailed(f"dispute refused: {result.rejected[0][1]}", retryable=False)
    if result.unmatched:
        raise DeliveryParked(
            f"PayPal capture {dispute_in.payment_provider_id} is not stored yet",
            capture_key(dispute_in.payment_provider_id),
        )
    return "created" if result.created else ("updated" if result.updated else "unchanged")


def apply(delivery, body: str) -> str:
    event = json.loads(body)
    resource = event.get("resource")
    if not isinstance(resource, dict):
        raise DeliveryFailed("event without a resource", retryable=False)
    connection = delivery.connection
    if delivery.topic in CAPTURE_EVENTS:
        return apply_capture(connection, delivery.topic, resource)
    if delivery.topic in REFUND_EVENTS:
        return apply_refund(connection, delivery.topic, resource)
    return apply_dispute(connection, resource)


register_applier(PAYPAL, TOPICS, apply)
