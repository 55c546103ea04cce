"""An order's life after checkout: shipments, voids and cancellations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext

from storedesk.audit.services import record_audit
from storedesk.commerce.ingest import ShipmentIn
from storedesk.commerce.models import Order, Payment, Shipment
from storedesk.commerce.services.common import LIVE_REFUND_STATUSES, ZERO, CancelRefused
from storedesk.commerce.services.refunds import lock_order
from storedesk.core.events import record_event

# A parcel a carrier has scanned has left; a printed label or a confirmation can still be pulled.
LEFT_STATUSES = (
    Shipment.Status.IN_TRANSIT,
    Shipment.Status.OUT_FOR_DELIVERY,
    Shipment.Status.ATTEMPTED_DELIVERY,
    Shipment.Status.DELIVERED,
    Shipment.Status.FAILURE,
)


def shipped_at_by_order(order_ids: Iterable[int]) -> dict[int, datetime]:
    """When each order's first parcel left (its ship date, else the shipment's first scan),
    for the orders that have shipped; set-based."""
    shipped = Shipment.objects.filter(order_id__in=list(order_ids)).filter(
        Q(shipped_at__isnull=False) | Q(status__in=LEFT_STATUSES)
    )
    first: dict[int, datetime] = {}
    for order_id, shipped_at, scanned_at in shipped.annotate(
        scanned_at=Min("events__happened_at")
    ).values_list("order_id", "shipped_at", "scanned_at"):
        moment = shipped_at or scanned_at or timezone.now()
        if order_id not in first or moment < first[order_id]:
            first[order_id] = moment
    return first


@dataclass(frozen=True)
class CancelCheck:
    """What cancelling an order would meet: `refused` says why it cannot be (it shipped),
    `warning` what a person must know first (part of it was refunded already)."""

    refused: str
    warning: str
    captured: Decimal
    refunded: Decimal
    remaining: Decimal
    currency: str


def _left_at(shipment: Shipment) -> datetime | None:
    """When a parcel left: its ship date, else its first carrier scan (None: still here)."""
    if shipment.shipped_at is not None:
        return shipment.shipped_at
    if shipment.status not in LEFT_STATUSES:
        return None
    scans = [event.happened_at for event in shipment.events.all()]
    return min(scans) if scans else timezone.now()


def cancel_check(order: Order) -> CancelCheck:
    """Whether the order can still be cancelled, and what money remains on it. Reads the
    order's payments, refunds and shipments (prefetched by the order's pages: no query)."""
    captured = sum(
        (
            payment.amount
            for payment in order.payments.all()
            if payment.status == Payment.Status.SUCCEEDED and payment.captured
        ),
        ZERO,
    ).quantize(ZERO)
    live = sum(
        (refund.amount for refund in order.refunds.all() if refund.status in LIVE_REFUND_STATUSES),
        ZERO,
    ).quantize(ZERO)
    remaining = max(captured - live, ZERO)
    left = [moment for moment in map(_left_at, order.shipments.all()) if moment is not None]
    refused = warning = ""
    if left:
        refused = gettext(
            "Order %(number)s shipped on %(date)s: it can no longer be cancelled. Ask the "
            "carrier to return it, or refund it once it is back."
        ) % {"number": order.number, "date": min(left).date().isoformat()}
    elif live > 0 and remaining > 0:
        warning = gettext(
            "Order %(number)s was already partly refunded: %(refunded)s of %(captured)s "
            "%(currency)s; %(remaining)s %(currency)s remain to refund."
        ) % {
            "number": order.number,
            "refunded": live,
            "captured": captured,
            "remaining": remaining,
            "currency": order.currency,
        }
    return CancelCheck(refused, warning, captured, live, remaining, order.currency)


@transaction.atomic
def do_cancel_order(
    order: Order, *, reason: str, actor=None, at: datetime | None = None
) -> CancelCheck:
    """Cancel an order (Shopify's cancel_reason: customer, fraud, inventory, declined,
    other). A shipped order is refused with CancelRefused; cancelling twice changes nothing.
    Returns what the cancel met, so the caller can warn about a partial refund."""
    locked = lock_order(order.pk)
    check = cancel_check(locked)
    if locked.cancelled_at is not None:
        return check
    if check.refused:
        raise CancelRefused(check.refused)
    locked.cancelled_at, locked.cancel_reason = at or timezone.now(), reason[:32]
    locked.save(update_fields=["cancelled_at", "cancel_reason"])
    order.cancelled_at, order.cancel_reason = locked.cancelled_at, locked.cancel_reason
    record_audit(
        actor=actor,
        action="order.cancelled",
        obj=locked,
        changes={"cancel_reason": locked.cancel_reason, "remaining": check.remaining},
    )
    record_event(
        "order_cancelled",
        order_id=locked.pk,
        cancelled_at=locked.cancelled_at.isoformat(),
        cancel_reason=locked.cancel_reason,
    )
    return check


@transaction.atomic
def do_record_void(order: Order, *, actor=None, at: datetime | None = None) -> Order:
    """The gateway voided the order's authorization: nothing was or will be captured.
    Recording the same void twice changes nothing."""
    locked = lock_order(order.pk)
    if locked.financial_status == Order.FinancialStatus.VOIDED:
        return locked
    before = locked.financial_status
    locked.financial_status = Order.FinancialStatus.VOIDED
    locked.save(update_fields=["financial_status"])
    moment = at or timezone.now()
    record_audit(
        actor=actor,
        action="order.voided",
        obj=locked,
        changes={"financial_status": [before, locked.financial_status]},
    )
    record_event("order_voided", order_id=locked.pk, voided_at=moment.isoformat())
    return locked


@transaction.atomic
def do_record_shipment(order: Order, shipment: ShipmentIn, *, actor=None) -> Shipment:
    """A fulfillment of an existing order (the store shipped it), once per tracking number;
    the order counts as fulfilled."""
    locked = lock_order(order.pk)
    existing = Shipment.objects.filter(
        order=locked, tracking_number=shipment.tracking_number
    ).first()
    if existing is not None and shipment.tracking_number:
        return existing
    stored = Shipment.objects.create(
        order=locked,
        provider_id=shipment.provider_id,
        carrier=shipment.carrier,
        service=shipment.service,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        status=shipment.status,
        shipped_at=shipment.shipped_at,
        estimated_delivery_at=shipment.estimated_delivery_at,
        delivered_at=shipment.delivered_at,
    )
    if locked.fulfillment_status != Order.FulfillmentStatus.FULFILLED:
        locked.fulfillment_status = Order.FulfillmentStatus.FULFILLED
        locked.save(update_fields=["fulfillment_status"])
    record_audit(
        actor=actor,
        action="order.shipped",
        obj=locked,
        changes={"carrier": stored.carrier, "tracking_number": stored.tracking_number},
    )
    record_event(
        "order_shipped",
        order_id=locked.pk,
        shipment_id=stored.pk,
        shipped_at=stored.shipped_at.isoformat() if stored.shipped_at else None,
    )
    return stored
