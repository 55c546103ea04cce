"""What every commerce service shares: batch sizes, domain errors, results, input checks."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper

from storedesk.commerce.models import MONEY, Order, Refund
from storedesk.core.errors import ServiceError

ORDERS_PER_TRANSACTION = 2000
ROWS_PER_INSERT = 1000
ZERO = Decimal("0.00")
# Orders whose money counts towards what a customer has spent (Shopify's total_spent).
SPENT_STATUSES = (
    Order.FinancialStatus.PAID,
    Order.FinancialStatus.PARTIALLY_PAID,
    Order.FinancialStatus.PARTIALLY_REFUNDED,
    Order.FinancialStatus.REFUNDED,
)
# Refunds that hold money against the captured total (pending ones will move money).
LIVE_REFUND_STATUSES = (Refund.Status.PENDING, Refund.Status.SUCCEEDED)


# --- Domain errors -----------------------------------------------------------------------------


class CommerceError(ServiceError):
    """A refused change; `code` is machine-readable for the API, the message is for people."""

    code = "commerce_error"
    status = 422


class RefundRefused(CommerceError):
    code = "refund_refused"


class OverRefundError(RefundRefused):
    code = "over_refund"


class RefundCurrencyError(RefundRefused):
    code = "wrong_currency"


class RefundAmountError(RefundRefused):
    code = "invalid_amount"


class IdempotencyKeyReusedError(RefundRefused):
    code = "idempotency_key_reused"


class PolicyError(CommerceError):
    code = "invalid_policy"


class CancelRefused(CommerceError):
    code = "cancel_refused"


# --- Results -----------------------------------------------------------------------------------


@dataclass
class IngestResult:
    """What a bulk ingest did; `orders_skipped` are orders already stored (replays)."""

    orders_created: int = 0
    orders_skipped: int = 0
    customers_created: int = 0
    line_items_created: int = 0
    payments_created: int = 0
    shipments_created: int = 0
    shipment_events_created: int = 0
    order_ids: list[int] = field(default_factory=list, repr=False)

    def add(self, other: IngestResult) -> None:
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            setattr(self, item.name, mine + theirs)


@dataclass
class RefundIngestResult:
    """What a bulk refund load did; `rejected` holds (idempotency key, error code) pairs."""

    created: int = 0
    skipped: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: RefundIngestResult) -> None:
        self.created += other.created
        self.skipped += other.skipped
        self.rejected.extend(other.rejected)


# --- Shared helpers ----------------------------------------------------------------------------


def actor_label(actor) -> str:
    """How an actor appears in bulk audit entries (a user, or the system/connector)."""
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return str(actor)


def _decimal(value, what: str) -> Decimal:
    """Money stays Decimal: a float here is a bug in the caller, not something to round."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"{what} must be a Decimal, got {type(value).__name__}")


def _currency(value: str) -> str:
    code = (value or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"not an ISO 4217 currency: {value!r}")
    return code


def _email(value: str) -> str:
    return (value or "").strip().lower()


def _money_expression(expression):
    return ExpressionWrapper(expression, output_field=DecimalField(**MONEY))
