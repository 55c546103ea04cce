"""Later facts about a stored order, as its source reports them (a Shopify orders/updated
webhook, a reconcile page): payment, cancellation, fulfilment and tracking, address changes.

`do_upsert_order` stores an order the first time (through the bulk ingest path) and afterwards
brings the stored one up to date, under the order's row lock, only when the version is newer
than the one stored (`Order.source_updated_at`): deliveries arrive out of order and a late,
older version must not undo a newer one. Refunds go through `do_record_refund`, never here,
so the refund guards hold whatever the source says. Each change is audited and announced:
`order_facts_changed` (risk and ticket priorities are re-scored), `order_shipped` for a new
parcel and `order_cancelled` for a cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from storedesk.audit.services import record_audit
from storedesk.commerce.ingest import OrderIn, ShipmentIn, name_keys, number_key
from storedesk.commerce.models import Order, Shipment, Store
from storedesk.commerce.services.common import _currency, _decimal
from storedesk.commerce.services.orders import (
    _existing_payment_keys,
    _payment_row,
    do_ingest_orders,
    refresh_customer_aggregates,
)
from storedesk.commerce.services.refunds import lock_order
from storedesk.core.bulk import bulk_insert
from storedesk.core.events import record_event
from storedesk.core.safe_urls import safe_http_url

# Order fields a later version may change, and how each is read off an OrderIn.
_FIELDS = {
    "email": lambda o: (o.email or "").strip().lower(),
    "phone": lambda o: o.phone,
    "financial_status": lambda o: o.financial_status,
    "fulfillment_status": lambda o: o.fulfillment_status,
    "cancel_reason": lambda o: o.cancel_reason[:32],
    "cancelled_at": lambda o: o.cancelled_at,
    "shipping_address": lambda o: dict(o.shipping_address),
    "billing_address": lambda o: dict(o.billing_address),
    "shipping_country": lambda o: (o.shipping_address.get("country_code") or "")[:2],
    "billing_country": lambda o: (o.billing_address.get("country_code") or "")[:2],
    "subtotal_price": lambda o: _decimal(o.subtotal_price, "subtotal_price"),
    "total_discounts": lambda o: _decimal(o.total_discounts, "total_discounts"),
    "total_shipping": lambda o: _decimal(o.total_shipping, "total_shipping"),
    "total_tax": lambda o: _decimal(o.total_tax, "total_tax"),
    "total_price": lambda o: _decimal(o.total_price, "total_price"),
    "shipping_method": lambda o: o.shipping_method,
    "tags": lambda o: list(o.tags),
    "note": lambda o: o.note,
}
# Shipment fields a later report of the same parcel may change (a tracking number added …).
_SHIPMENT_FIELDS = (
    "carrier",
    "service",
    "tracking_number",
    "tracking_url",
    "status",
    "shipped_at",
    "estimated_delivery_at",
    "delivered_at",
)


@dataclass
class OrderUpsert:
    """What happened: created, updated, unchanged or stale (an older version, ignored)."""

    outcome: str
    order_id: int
    changed: list[str] = field(default_factory=list)
    payments_added: int = 0
    shipments_added: int = 0


def do_upsert_order(store: Store, order_in: OrderIn, *, actor=None) -> OrderUpsert:
    """Store a new order, or apply a newer version of a stored one (see the module)."""
    key = number_key(order_in.number)
    existing = Order.objects.filter(store=store, number_key=key).values_list("pk", flat=True)
    order_id = existing.first()
    if order_id is None:
        result = do_ingest_orders(store, [order_in], actor=actor)
        if result.orders_created:
            return OrderUpsert("created", result.order_ids[0])
        order_id = existing.first()  # a concurrent delivery stored it first: update it
    return _update(order_id, order_in, actor)


@transaction.atomic
def _update(order_id: int, order_in: OrderIn, actor) -> OrderUpsert:
    order = lock_order(order_id)
    if (
        order_in.updated_at is not None
        and order.source_updated_at is not None
        and order_in.updated_at <= order.source_updated_at
    ):
        return OrderUpsert(
            "stale" if order_in.updated_at < order.source_updated_at else "unchanged", order.pk
        )
    changes = {}
    for name, read in _FIELDS.items():
        new, old = read(order_in), getattr(order, name)
        if new != old:
            changes[name] = [old, new]
            setattr(order, name, new)
    if order_in.currency and _currency(order_in.currency) != order.currency:
        changes["currency"] = [order.currency, _currency(order_in.currency)]
        order.currency = _currency(order_in.currency)
    payments_added = _add_payments(order, order_in)
    shipment_changes, new_shipments = _sync_shipments(order, order_in.shipments)
    order.source_updated_at = order_in.updated_at or order.source_updated_at
    order.save(update_fields=[*changes, "source_updated_at"])
    if not changes and not payments_added and not shipment_changes:
        return OrderUpsert("unchanged", order.pk)
    changed = sorted(changes) + (["payments"] if payments_added else [])
    changed += ["shipments"] if shipment_changes else []
    if order.customer_id and {"financial_status", "cancelled_at", "total_price"} & set(changes):
        refresh_customer_aggregates([order.customer_id])
    record_audit(
        actor=actor,
        action="order.updated_from_source",
        obj=order,
        changes={**changes, "payments_added": payments_added, "shipments": shipment_changes},
    )
    record_event("order_facts_changed", order_id=order.pk, store_id=order.store_id, changed=changed)
    if "cancelled_at" in changes and order.cancelled_at is not None:
        record_event(
            "order_cancelled",
            order_id=order.pk,
            cancelled_at=order.cancelled_at.isoformat(),
            cancel_reason=order.cancel_reason,
        )
    for shipment in new_shipments:
        record_event(
            "order_shipped",
            order_id=order.pk,
            shipment_id=shipment.pk,
            shipped_at=shipment.shipped_at.isoformat() if shipment.shipped_at else None,
        )
    return OrderUpsert(
        "updated", order.pk, changed, payments_added, shipments_added=len(new_shipments)
    )


def _add_payments(order: Order, order_in: OrderIn) -> int:
    """Payments the order did not have yet (a later capture); (gateway, id) decides."""
    if not order_in.payments:
        return 0
    seen = _existing_payment_keys({(p.gateway, p.provider_id) for p in order_in.payments})
    rows = []
    for payment_in in order_in.payments:
        key = (payment_in.gateway, payment_in.provider_id)
        if key not in seen:
            seen.add(key)
            rows.append(_payment_row(order.pk, payment_in, order.store_id))
    if rows:
        from storedesk.commerce.models import Payment

        bulk_insert(Payment, rows, ignore_conflicts=True)
    return len(rows)


def _shipment_values(s: ShipmentIn) -> dict:
    return {
        "carrier": s.carrier[:40],
        "service": s.service[:60],
        "tracking_number": s.tracking_number[:64],
        "tracking_url": safe_http_url(s.tracking_url)[:400],
        "status": s.status,
        "shipped_at": s.shipped_at,
        "estimated_delivery_at": s.estimated_delivery_at,
        "delivered_at": s.delivered_at,
    }


def _sync_shipments(order: Order, shipments) -> tuple[dict, list[Shipment]]:
    """New parcels are added; a known one (same provider id, else same tracking number) takes
    the newer tracking facts. Returns ({shipment: changes}, the new shipments)."""
    if not shipments:
        return {}, []
    stored = list(Shipment.objects.filter(order=order).order_by("pk"))
    by_provider = {s.provider_id: s for s in stored if s.provider_id}
    by_tracking = {s.tracking_number: s for s in stored if s.tracking_number}
    changes, created = {}, []
    for shipment_in in shipments:
        values = _shipment_values(shipment_in)
        found = by_provider.get(shipment_in.provider_id) if shipment_in.provider_id else None
        found = found or by_tracking.get(shipment_in.tracking_number)
        if found is None:
            shipment = Shipment.objects.create(
                order=order, provider_id=shipment_in.provider_id, **values
            )
            created.append(shipment)
            changes[shipment_in.provider_id or shipment_in.tracking_number] = "added"
            continue
        diff = {
            name: [getattr(found, name), value]
            for name, value in values.items()
            if value != getattr(found, name) and not (value in ("", None) and name != "status")
        }
        if diff:
            for name, (_, value) in diff.items():
                setattr(found, name, value)
            found.save(update_fields=list(diff))
            changes[found.provider_id or found.tracking_number] = diff
    return changes, created


def order_id_for(store: Store | int, number: str) -> int | None:
    store_id = getattr(store, "pk", store)
    return (
        Order.objects.filter(store_id=store_id, number_key=number_key(number))
        .values_list("pk", flat=True)
        .first()
    )


def order_by_provider_id(store: Store | int, provider_id: str) -> Order | None:
    store_id = getattr(store, "pk", store)
    return Order.objects.filter(store_id=store_id, provider_id=provider_id).first()


def latest_source_update(store: Store | int) -> datetime | None:
    store_id = getattr(store, "pk", store)
    return (
        Order.objects.filter(store_id=store_id, source_updated_at__isnull=False)
        .order_by("-source_updated_at")
        .values_list("source_updated_at", flat=True)
        .first()
    )


@transaction.atomic
def do_apply_shipment(order: Order, shipment_in: ShipmentIn, *, actor=None) -> OrderUpsert:
    """A fulfilment created or updated at the source (a tracking number added, delivered):
    a new parcel is added, a known one takes the newer facts; the order counts as fulfilled."""
    locked = lock_order(order.pk)
    changes, created = _sync_shipments(locked, [shipment_in])
    if not changes:
        return OrderUpsert("unchanged", locked.pk)
    changed = ["shipments"]
    if created and locked.fulfillment_status == Order.FulfillmentStatus.UNFULFILLED:
        locked.fulfillment_status = Order.FulfillmentStatus.FULFILLED
        locked.save(update_fields=["fulfillment_status"])
        changed.append("fulfillment_status")
    record_audit(
        actor=actor, action="order.shipment_from_source", obj=locked, changes={"shipments": changes}
    )
    record_event(
        "order_facts_changed", order_id=locked.pk, store_id=locked.store_id, changed=changed
    )
    for shipment in created:
        record_event(
            "order_shipped",
            order_id=locked.pk,
            shipment_id=shipment.pk,
            shipped_at=shipment.shipped_at.isoformat() if shipment.shipped_at else None,
        )
    return OrderUpsert("updated" if not created else "created", locked.pk, changed, 0, len(created))


_CUSTOMER_FIELDS = ("first_name", "last_name", "phone", "accepts_marketing")


@transaction.atomic
def do_update_customer(store: Store, customer_in, *, actor=None) -> str:
    """A customer's details changed at the source (customers/update): found by the source's
    id, else by email; an unknown customer is left for their first order to bring."""
    from storedesk.commerce.models import Customer

    customer = None
    if customer_in.provider_id:
        customer = (
            Customer.objects.select_for_update()
            .filter(store=store, provider_id=customer_in.provider_id)
            .first()
        )
    if customer is None and customer_in.email:
        customer = (
            Customer.objects.select_for_update()
            .filter(store=store, email=customer_in.email.strip().lower())
            .first()
        )
    if customer is None:
        return "unknown_customer"
    changes = {}
    for name in _CUSTOMER_FIELDS:
        new = getattr(customer_in, name)
        if new != getattr(customer, name) and new not in ("", None):
            changes[name] = [getattr(customer, name), new]
            setattr(customer, name, new)
    new_address = dict(customer_in.default_address)
    if new_address and new_address != customer.default_address:
        changes["default_address"] = [customer.default_address, new_address]
        customer.default_address = new_address
        if new_address not in customer.addresses:
            customer.addresses = [*customer.addresses, new_address]
    if customer_in.provider_id and not customer.provider_id:
        customer.provider_id = customer_in.provider_id
        changes["provider_id"] = ["", customer_in.provider_id]
    if not changes:
        return "unchanged"
    customer.name_key, customer.last_name_key = name_keys(customer.first_name, customer.last_name)
    customer.save()
    record_audit(actor=actor, action="customer.updated_from_source", obj=customer, changes=changes)
    return "updated"
