"""PayPal objects (customer_disputes_v1 `dispute`, payments_v2 `capture` and `refund`) →
`commerce.ingest` dataclasses. Money is PayPal's decimal string, kept as Decimal."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

from storedesk.commerce.ingest import DisputeIn, PaymentIn
from storedesk.commerce.models import Payment
from storedesk.disputes.models import Dispute

GATEWAY = Payment.Gateway.PAYPAL


class MappingError(ValueError):
    """The object lacks what the desk needs (an id, an amount); the delivery cannot apply."""


def money(value: dict | None, what: str) -> tuple[Decimal, str]:
    if not isinstance(value, dict):
        raise MappingError(f"{what}: no amount")
    try:
        amount = Decimal(str(value["value"]))
        currency = str(value["currency_code"]).upper()
    except (KeyError, InvalidOperation):
        raise MappingError(f"{what}: unreadable amount {value!r}") from None
    if not amount.is_finite() or len(currency) != 3:  # noqa: PLR2004
        raise MappingError(f"{what}: unreadable amount {value!r}")
    return amount, currency


def moment(value, what: str, *, required: bool = True) -> datetime | None:
    parsed = parse_datetime(str(value or ""))
    if parsed is None or parsed.tzinfo is None:
        if required:
            raise MappingError(f"{what}: not a date {value!r}")
        return None
    return parsed


def disputed_capture_id(dispute: dict) -> str:
    for transaction in dispute.get("disputed_transactions") or []:
        if transaction.get("seller_transaction_id"):
            return str(transaction["seller_transaction_id"])
    return ""


STAGES = {stage.upper(): stage for stage in Dispute.Stage.values}


def dispute_in(dispute: dict) -> DisputeIn:
    """A PayPal dispute: the stage says how far it went, the channel who raised it."""
    dispute_id = str(dispute.get("dispute_id") or "")
    if not dispute_id:
        raise MappingError("dispute without dispute_id")
    amount, currency = money(dispute.get("dispute_amount"), "dispute_amount")
    stage = STAGES.get(str(dispute.get("dispute_life_cycle_stage") or "").upper(), "")
    if stage == Dispute.Stage.INQUIRY:
        kind = Dispute.Kind.INQUIRY
    elif dispute.get("dispute_channel") == "EXTERNAL":
        kind = Dispute.Kind.CHARGEBACK  # the buyer went to their card issuer
    else:
        kind = Dispute.Kind.CLAIM
    status = str(dispute.get("status") or "OPEN")
    updated = moment(dispute.get("update_time"), "update_time", required=False)
    return DisputeIn(
        gateway=GATEWAY,
        provider_id=dispute_id[:64],
        payment_provider_id=disputed_capture_id(dispute)[:64],
        reason=str(dispute.get("reason") or "OTHER"),
        status=status,
        amount=amount,
        currency=currency,
        opened_at=moment(dispute.get("create_time"), "create_time"),
        kind=kind,
        stage=stage,
        network_reason_code=str(dispute.get("external_reason_code") or "")[:16],
        evidence_due_by=moment(
            dispute.get("seller_response_due_date"), "seller_response_due_date", required=False
        ),
        closed_at=updated if status == "RESOLVED" else None,
        raw=dispute,
    )


CAPTURE_STATUSES = {
    "COMPLETED": Payment.Status.SUCCEEDED,
    "PENDING": Payment.Status.PENDING,
    "DECLINED": Payment.Status.FAILED,
    "FAILED": Payment.Status.FAILED,
    "DENIED": Payment.Status.FAILED,
}


def payment_in(capture: dict) -> PaymentIn:
    """A payments_v2 capture as the desk's payment (order id and seller protection kept)."""
    capture_id = str(capture.get("id") or "")
    if not capture_id:
        raise MappingError("capture without id")
    amount, currency = money(capture.get("amount"), "amount")
    status = CAPTURE_STATUSES.get(str(capture.get("status") or ""), Payment.Status.PENDING)
    related = (capture.get("supplementary_data") or {}).get("related_ids") or {}
    reason = (capture.get("status_details") or {}).get("reason", "")
    return PaymentIn(
        gateway=GATEWAY,
        provider_id=capture_id[:64],
        amount=amount,
        currency=currency,
        status=status,
        captured=status == Payment.Status.SUCCEEDED,
        created_at=moment(capture.get("create_time"), "create_time"),
        method=Payment.Method.PAYPAL,
        provider_intent_id=str(related.get("order_id") or "")[:64],
        failure_code=str(reason)[:64] if status == Payment.Status.FAILED else "",
        seller_protection=str((capture.get("seller_protection") or {}).get("status") or "")[:24],
        raw=capture,
    )


def order_reference(capture: dict) -> str:
    """The store's order number as the checkout passed it (invoice_id, else custom_id)."""
    return str(capture.get("invoice_id") or capture.get("custom_id") or "").strip()


def refunded_capture_id(refund: dict) -> str:
    """A payments_v2 refund names its capture in the `up` link (…/v2/payments/captures/ID)."""
    for link in refund.get("links") or []:
        if link.get("rel") == "up" and "/captures/" in str(link.get("href", "")):
            return str(link["href"]).rstrip("/").rsplit("/", 1)[-1]
    return ""
