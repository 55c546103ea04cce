"""Later facts about payments, as gateways report them after the order was stored: a capture
that completes or is denied, a capture added to a known order. One transaction each, under the
order's row lock, audited and announced (`payment_recorded`, `payment_status_changed`).
"""

from __future__ import annotations

from django.db import transaction

from storedesk.audit.services import record_audit
from storedesk.commerce.ingest import PaymentIn
from storedesk.commerce.models import Order, Payment
from storedesk.commerce.services.orders import _payment_row
from storedesk.commerce.services.refunds import lock_order
from storedesk.core.events import record_event


@transaction.atomic
def do_record_payment(order: Order, payment_in: PaymentIn, *, actor=None) -> tuple[Payment, bool]:
    """Add a gateway's payment to a stored order once per (gateway, provider id); a replay
    returns the stored one with False."""
    locked = lock_order(order.pk)
    existing = Payment.objects.filter(
        gateway=payment_in.gateway, provider_id=payment_in.provider_id
    ).first()
    if existing is not None:
        return existing, False
    if payment_in.currency.upper() != locked.currency:
        raise ValueError(
            f"order {locked.number} is in {locked.currency}, not {payment_in.currency}"
        )
    payment = Payment.objects.create(**_payment_row(locked.pk, payment_in, locked.store_id))
    record_audit(
        actor=actor,
        action="payment.recorded",
        obj=payment,
        changes={"amount": payment.amount, "currency": payment.currency, "status": payment.status},
    )
    record_event("payment_recorded", order_id=locked.pk, payment_id=payment.pk)
    return payment, True


@transaction.atomic
def do_update_payment_status(
    payment: Payment, status: str, *, failure_code: str = "", failure_message: str = "", actor=None
) -> bool:
    """Move a payment to the gateway's latest status; False when it was already there."""
    if status not in Payment.Status.values:
        raise ValueError(f"unknown payment status {status!r}")
    lock_order(payment.order_id)
    payment = Payment.objects.get(pk=payment.pk)
    captured = status == Payment.Status.SUCCEEDED
    if payment.status == status and payment.captured == captured:
        return False
    before = payment.status
    payment.status, payment.captured = status, captured
    payment.failure_code, payment.failure_message = failure_code[:64], failure_message[:255]
    payment.save(update_fields=["status", "captured", "failure_code", "failure_message"])
    record_audit(
        actor=actor,
        action="payment.status_changed",
        obj=payment,
        changes={"status": [before, status]},
    )
    record_event(
        "payment_status_changed",
        order_id=payment.order_id,
        payment_id=payment.pk,
        status=status,
    )
    return True
