"""Payments, disputes and early fraud warnings in bulk, for ratio tests and the benchmark."""

from datetime import datetime
from decimal import Decimal
from itertools import count

from storedesk.commerce.models import Order, Payment
from storedesk.disputes.models import Dispute, EarlyFraudWarning

_ids = count(1)


def payments(order: Order, n: int, when: datetime, *, brand="visa", gateway="stripe", **extra):
    """`n` card payments on one order at `when` (ratios count payments, not orders)."""
    rows = [
        Payment(
            order=order,
            gateway=gateway,
            method=extra.pop("method", Payment.Method.CARD) if i == 0 else Payment.Method.CARD,
            provider_id=f"ch_ratio_{next(_ids)}",
            amount=Decimal("50.00"),
            currency="USD",
            status=extra.get("status", Payment.Status.SUCCEEDED),
            created_at=when,
            card_brand=brand,
        )
        for i in range(n)
    ]
    return Payment.objects.bulk_create(rows)


def dispute(payment: Payment, when: datetime, reason="product_not_received", **extra):
    return Dispute.objects.create(
        order_id=payment.order_id,
        payment=payment,
        gateway=payment.gateway,
        provider_id=f"dp_ratio_{next(_ids)}",
        reason=reason,
        status="needs_response",
        amount=payment.amount,
        currency="USD",
        opened_at=when,
        **extra,
    )


def warning(payment: Payment, when: datetime):
    return EarlyFraudWarning.objects.create(
        gateway=payment.gateway,
        provider_id=f"issfr_ratio_{next(_ids)}",
        charge_provider_id=payment.provider_id,
        payment=payment,
        order_id=payment.order_id,
        fraud_type="made_with_stolen_card",
        warned_at=when,
        recorded_at=when,
    )
