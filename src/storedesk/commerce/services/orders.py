"""Bulk order ingest: orders with their customers, line items, payments and shipments.

Set-based (a handful of queries per batch, whatever its size), one transaction per batch, so
a million orders load in bounded memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import batched

from django.db import transaction
from django.db.models import Count, DecimalField, F, Max, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from storedesk.audit.services import record_audit_bulk
from storedesk.commerce.ingest import CustomerIn, OrderIn, name_keys, number_key
from storedesk.commerce.models import (
    MONEY,
    Customer,
    LineItem,
    Order,
    Payment,
    Shipment,
    ShipmentEvent,
    Store,
    Variant,
)
from storedesk.commerce.services.common import (
    ORDERS_PER_TRANSACTION,
    SPENT_STATUSES,
    ZERO,
    IngestResult,
    _currency,
    _decimal,
    _email,
    _money_expression,
    actor_label,
)
from storedesk.core.bulk import bulk_insert
from storedesk.core.events import record_events_bulk
from storedesk.core.lookups import provider_keys_filter
from storedesk.core.safe_urls import safe_http_url


def do_ingest_orders(
    store: Store,
    orders: Iterable[OrderIn],
    *,
    actor=None,
    batch_size: int = ORDERS_PER_TRANSACTION,
    dispatch_events: bool = True,
) -> IngestResult:
    """Store orders with their customers, line items, payments and shipments, idempotently.

    An order already stored (same store + number) is skipped with everything it carries, so
    replaying a connector's page or a whole import changes nothing. One transaction per batch.
    """
    result = IngestResult()
    for batch in batched(orders, batch_size):
        with transaction.atomic():
            result.add(_ingest_order_batch(store, batch, actor, dispatch_events))
    return result


def _ingest_order_batch(
    store: Store, batch: Sequence[OrderIn], actor, dispatch_events: bool
) -> IngestResult:
    unique: dict[str, OrderIn] = {}
    for order_in in batch:
        unique.setdefault(number_key(order_in.number), order_in)
    existing = set(
        Order.objects.filter(store=store, number_key__in=list(unique)).values_list(
            "number_key", flat=True
        )
    )
    fresh = [order_in for key, order_in in unique.items() if key not in existing]
    result = IngestResult(orders_skipped=len(batch) - len(fresh))
    if not fresh:
        return result
    customer_ids, result.customers_created = _upsert_customers(store, fresh)
    rows = [_order_row(store, order_in, customer_ids) for order_in in fresh]
    bulk_insert(Order, rows)
    ids = dict(
        Order.objects.filter(
            store=store, number_key__in=[row["number_key"] for row in rows]
        ).values_list("number_key", "pk")
    )
    pairs = [(ids[row["number_key"]], order_in) for row, order_in in zip(rows, fresh, strict=True)]
    result.orders_created = len(rows)
    result.order_ids = [order_id for order_id, _ in pairs]
    result.line_items_created = _insert_line_items(store, pairs)
    result.payments_created = _insert_payments(store, pairs)
    result.shipments_created, result.shipment_events_created = _insert_shipments(pairs)
    refresh_customer_aggregates({row["customer_id"] for row in rows if row["customer_id"]})
    # Instances for the audit trail with only the fields it reads (the rest deferred): building
    # 20k full orders, each with its JSON defaults, cost a second per 20k orders.
    orders = [
        Order.from_db(
            None,
            _AUDITED_ORDER_FIELDS,
            [
                ids[row["number_key"]] if name == "id" else row[name]
                for name in _AUDITED_ORDER_FIELDS
            ],
        )
        for row in rows
    ]
    record_audit_bulk(
        actor_label=actor_label(actor),
        action="order.ingested",
        objects=orders,
        changes_for=lambda order: {
            "number": order.number,
            "total_price": order.total_price,
            "currency": order.currency,
            "financial_status": order.financial_status,
        },
    )
    record_events_bulk(
        "order_created",
        [{"order_id": order.pk, "store_id": store.pk, "number": order.number} for order in orders],
        dispatch=dispatch_events,
    )
    return result


# In the model's field order, as Model.from_db wants them.
_AUDITED_ORDER_FIELDS = [
    field.attname
    for field in Order._meta.concrete_fields
    if field.attname in {"id", "store_id", "number", "total_price", "currency", "financial_status"}
]


def _customer_in_for(order_in: OrderIn) -> CustomerIn | None:
    """The order's customer; an order without one is a guest checkout keyed by its email."""
    if order_in.customer is not None:
        return order_in.customer
    if not order_in.email:
        return None
    address = order_in.billing_address or order_in.shipping_address or {}
    return CustomerIn(
        email=order_in.email,
        first_name=address.get("first_name", ""),
        last_name=address.get("last_name", ""),
        default_address=address,
        created_at=order_in.created_at,
    )


def _upsert_customers(store: Store, orders: Sequence[OrderIn]) -> tuple[dict[str, int], int]:
    """Map each order's email to a customer id, creating missing customers in bulk.

    Conflicts with a concurrent import are ignored and the ids re-read, so two connectors
    delivering the same buyer at once still end with one customer.
    """
    wanted: dict[str, tuple[CustomerIn, datetime]] = {}
    for order_in in orders:
        customer_in = _customer_in_for(order_in)
        if customer_in is None:
            continue
        email = _email(customer_in.email)
        if email and email not in wanted:
            wanted[email] = (customer_in, order_in.created_at)
    if not wanted:
        return {}, 0
    ids = dict(
        Customer.objects.filter(store=store, email__in=list(wanted)).values_list("email", "pk")
    )
    missing = [email for email in wanted if email not in ids]
    if missing:
        bulk_insert(
            Customer,
            [_customer_row(store, email, *wanted[email]) for email in missing],
            ignore_conflicts=True,
        )
        ids.update(
            Customer.objects.filter(store=store, email__in=missing).values_list("email", "pk")
        )
    return ids, len(missing)


def _customer_row(store: Store, email: str, customer_in: CustomerIn, first_seen: datetime) -> dict:
    name_key, last_name_key = name_keys(customer_in.first_name, customer_in.last_name)
    address = dict(customer_in.default_address)
    return {
        "store_id": store.pk,
        "provider_id": customer_in.provider_id,
        "email": email,
        "first_name": customer_in.first_name,
        "last_name": customer_in.last_name,
        "name_key": name_key,
        "last_name_key": last_name_key,
        "phone": customer_in.phone,
        "default_address": address,
        "addresses": [address] if address else [],
        "timezone": customer_in.timezone,
        "accepts_marketing": customer_in.accepts_marketing,
        "tags": list(customer_in.tags),
        "is_vip": customer_in.is_vip,
        "currency": store.currency,
        "created_at": customer_in.created_at or first_seen,
    }


def _order_row(store: Store, order_in: OrderIn, customer_ids: dict[str, int]) -> dict:
    customer_in = _customer_in_for(order_in)
    email = _email(order_in.email or (customer_in.email if customer_in else ""))
    if customer_in is not None:
        first, last = customer_in.first_name, customer_in.last_name
    else:
        address = order_in.billing_address or order_in.shipping_address or {}
        first, last = address.get("first_name", ""), address.get("last_name", "")
    name_key, last_name_key = name_keys(first, last)
    billing, shipping = dict(order_in.billing_address), dict(order_in.shipping_address)
    return {
        "store_id": store.pk,
        "customer_id": customer_ids.get(_email(customer_in.email)) if customer_in else None,
        "provider_id": order_in.provider_id,
        "number": order_in.number.strip(),
        "number_key": number_key(order_in.number),
        "email": email,
        "phone": order_in.phone,
        "name_key": name_key,
        "last_name_key": last_name_key,
        "created_at": order_in.created_at,
        "processed_at": order_in.processed_at or order_in.created_at,
        "cancelled_at": order_in.cancelled_at,
        "cancel_reason": order_in.cancel_reason,
        "currency": _currency(order_in.currency),
        "subtotal_price": _decimal(order_in.subtotal_price, "subtotal_price"),
        "total_discounts": _decimal(order_in.total_discounts, "total_discounts"),
        "total_shipping": _decimal(order_in.total_shipping, "total_shipping"),
        "total_tax": _decimal(order_in.total_tax, "total_tax"),
        "total_price": _decimal(order_in.total_price, "total_price"),
        "total_refunded": ZERO,
        "discount_codes": [dict(code) for code in order_in.discount_codes],
        "financial_status": order_in.financial_status,
        "fulfillment_status": order_in.fulfillment_status,
        "shipping_method": order_in.shipping_method,
        "shipping_method_code": order_in.shipping_method_code,
        "is_expedited": order_in.is_expedited,
        "billing_address": billing,
        "shipping_address": shipping,
        "billing_country": (billing.get("country_code") or "")[:2],
        "shipping_country": (shipping.get("country_code") or "")[:2],
        "browser_ip": order_in.browser_ip or None,
        "user_agent": order_in.user_agent[:400],
        "accept_language": order_in.accept_language[:120],
        "source_name": order_in.source_name,
        "landing_site": safe_http_url(order_in.landing_site, relative=True)[:400],
        "referring_site": safe_http_url(order_in.referring_site)[:400],
        "tags": list(order_in.tags),
        "note": order_in.note,
        "source_updated_at": order_in.updated_at,
    }


def _insert_line_items(store: Store, pairs) -> int:
    skus = {item.sku for _, order_in in pairs for item in order_in.line_items if item.sku}
    variant_ids = {}
    if skus:
        for sku, pk in (
            Variant.objects.filter(product__store=store, sku__in=list(skus))
            .order_by("pk")
            .values_list("sku", "pk")
        ):
            variant_ids.setdefault(sku, pk)
    rows = [
        {
            "order_id": order_id,
            "variant_id": variant_ids.get(item.sku),
            "provider_id": item.provider_id,
            "sku": item.sku,
            "title": item.title[:200],
            "variant_title": item.variant_title[:120],
            "quantity": item.quantity,
            "price": _decimal(item.price, "line item price"),
            "total_discount": _decimal(item.total_discount, "line item discount"),
        }
        for order_id, order_in in pairs
        for item in order_in.line_items
    ]
    bulk_insert(LineItem, rows)
    return len(rows)


def _insert_payments(store: Store, pairs) -> int:
    """Insert payments not seen before; (gateway, provider id) is unique, so replays are no-ops."""
    incoming = [
        (order_id, payment_in) for order_id, order_in in pairs for payment_in in order_in.payments
    ]
    if not incoming:
        return 0
    seen = _existing_payment_keys({(p.gateway, p.provider_id) for _, p in incoming})
    rows = []
    for order_id, payment_in in incoming:
        key = (payment_in.gateway, payment_in.provider_id)
        if key in seen:
            continue
        seen.add(key)
        rows.append(_payment_row(order_id, payment_in, store.pk))
    bulk_insert(Payment, rows, ignore_conflicts=True)
    return len(rows)


def _existing_payment_keys(keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    condition = provider_keys_filter(keys)
    return set(Payment.objects.filter(condition).values_list("gateway", "provider_id"))


def _payment_row(order_id: int, p, store_id: int) -> dict:
    return {
        "order_id": order_id,
        "store_id": store_id,
        "gateway": p.gateway,
        "method": p.method,
        "provider_id": p.provider_id,
        "provider_intent_id": p.provider_intent_id,
        "amount": _decimal(p.amount, "payment amount"),
        "currency": _currency(p.currency),
        "status": p.status,
        "captured": p.captured,
        "created_at": p.created_at,
        "failure_code": p.failure_code[:64],
        "failure_message": p.failure_message[:255],
        "card_brand": p.card_brand,
        "card_last4": p.card_last4,
        "card_country": p.card_country,
        "card_fingerprint": p.card_fingerprint,
        "card_funding": p.card_funding,
        "card_wallet": p.card_wallet,
        "payer_id": p.payer_id,
        "payer_email": p.payer_email,
        "payer_status": p.payer_status,
        "seller_protection": p.seller_protection,
        "avs_line1_check": p.avs_line1_check,
        "avs_postal_check": p.avs_postal_check,
        "cvc_check": p.cvc_check,
        "three_d_secure_result": p.three_d_secure_result,
        "three_d_secure_version": p.three_d_secure_version,
        "network_status": p.network_status,
        "outcome_type": p.outcome_type,
        "outcome_reason": p.outcome_reason,
        "risk_level": p.risk_level,
        "risk_score": p.risk_score,
        "raw": dict(p.raw),
    }


def _insert_shipments(pairs) -> tuple[int, int]:
    """Insert shipments, re-read their ids (per order, in insert order), then their scans."""
    incoming = [(order_id, s) for order_id, order_in in pairs for s in order_in.shipments]
    if not incoming:
        return 0, 0
    bulk_insert(
        Shipment,
        [
            {
                "order_id": order_id,
                "provider_id": s.provider_id,
                "carrier": s.carrier,
                "service": s.service,
                "tracking_number": s.tracking_number,
                "tracking_url": safe_http_url(s.tracking_url)[:400],
                "status": s.status,
                "shipped_at": s.shipped_at,
                "estimated_delivery_at": s.estimated_delivery_at,
                "delivered_at": s.delivered_at,
                "signed_by": s.signed_by,
                "proof_of_delivery_url": safe_http_url(s.proof_of_delivery_url)[:400],
                "delivery_location": s.delivery_location,
            }
            for order_id, s in incoming
        ],
    )
    stored = defaultdict(list)
    for order_id, pk in (
        Shipment.objects.filter(order_id__in={o for o, _ in incoming})
        .order_by("order_id", "pk")
        .values_list("order_id", "pk")
    ):
        stored[order_id].append(pk)
    events = []
    for order_id, s in incoming:
        shipment_id = stored[order_id].pop(0)
        events.extend(
            {
                "shipment_id": shipment_id,
                "happened_at": e.happened_at,
                "status": e.status,
                "message": e.message[:255],
                "city": e.city,
                "province": e.province,
                "country": e.country,
                "zip": e.zip,
            }
            for e in s.events
        )
    bulk_insert(ShipmentEvent, events)
    return len(incoming), len(events)


def refresh_customer_aggregates(customer_ids: Iterable[int]) -> None:
    """Recompute orders_count, total_spent and first/last order times in one UPDATE per chunk.

    Set-based on purpose: correlated aggregates over the (customer, created_at) index, never a
    loop over customers. total_spent is net of refunds, over orders that were paid.
    """
    ids = sorted(customer_ids)
    orders = Order.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
    spent = orders.filter(financial_status__in=SPENT_STATUSES, cancelled_at__isnull=True)
    for chunk in batched(ids, ORDERS_PER_TRANSACTION):
        Customer.objects.filter(pk__in=chunk).update(
            orders_count=Coalesce(Subquery(orders.annotate(n=Count("pk")).values("n")), 0),
            total_spent=Coalesce(
                Subquery(
                    spent.annotate(
                        total=Sum(_money_expression(F("total_price") - F("total_refunded")))
                    ).values("total")
                ),
                Value(ZERO),
                output_field=DecimalField(**MONEY),
            ),
            first_order_at=Subquery(orders.annotate(at=Min("created_at")).values("at")),
            last_order_at=Subquery(orders.annotate(at=Max("created_at")).values("at")),
        )
