"""The only writers of commerce data: orders and what hangs off them, refunds, policies.

Connectors, the API and the demo all call these functions with the dataclasses of
`storedesk.commerce.ingest`. Bulk writers are set-based (a handful of queries per batch,
whatever its size) and work in batches, one transaction per batch, so a million orders load in
bounded memory. Every change is audited and announced as a domain event in its transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from itertools import batched

from django.db import IntegrityError, connection, transaction
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.base import ModelState
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from storedesk.audit.services import record_audit, record_audit_bulk
from storedesk.commerce.ingest import (
    CustomerIn,
    OrderIn,
    ProductIn,
    RefundIn,
    ShipmentIn,
    name_keys,
    number_key,
)
from storedesk.commerce.models import (
    MONEY,
    Customer,
    LineItem,
    Order,
    Payment,
    Policy,
    Product,
    Refund,
    Shipment,
    ShipmentEvent,
    Store,
    Variant,
)
from storedesk.core.bulk import bulk_insert
from storedesk.core.events import dispatch_event, record_event
from storedesk.core.lookups import provider_keys_filter
from storedesk.core.models import DomainEvent
from storedesk.core.money import Money, currency_exponent
from storedesk.core.safe_urls import safe_http_url
from storedesk.core.tasks import enqueue_on_commit

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


class CommerceError(Exception):
    """A refused change; `code` is machine-readable for the API, the message is for people."""

    code = "commerce_error"


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


def record_events_bulk(name: str, payloads: Sequence[dict], *, dispatch: bool = True) -> int:
    """Write many outbox events in one insert, in the caller's transaction.

    With `dispatch`, each is enqueued after commit like `record_event`; bulk loads that would
    flood the queue pass False and leave them to the outbox sweep.
    """
    if not payloads:
        return 0
    from storedesk.core.context import get_correlation_id

    correlation_id = get_correlation_id()
    if not dispatch:
        now = timezone.now()
        return bulk_insert(
            DomainEvent,
            [
                {
                    "name": name,
                    "payload": payload,
                    "correlation_id": correlation_id,
                    "created_at": now,
                    "attempts": 0,
                    "last_error": "",
                }
                for payload in payloads
            ],
        )
    events = DomainEvent.objects.bulk_create(
        [
            DomainEvent(name=name, payload=payload, correlation_id=correlation_id)
            for payload in payloads
        ],
        batch_size=ROWS_PER_INSERT,
    )
    for event in events:
        enqueue_on_commit(dispatch_event, event.pk)
    return len(events)


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


def _bare(model, **values):
    """A model instance carrying only `values`, for audit entries and events of bulk rows.

    `Model.__init__` walks every field; for 50-field orders by the million that is the
    slowest part of a load, and the audit only needs the id, the class and a few values.
    """
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = ModelState()
    instance._state.adding = False
    return instance


# --- Stores and catalog ------------------------------------------------------------------------


@transaction.atomic
def do_create_store(
    *,
    name: str,
    slug: str,
    domain: str = "",
    currency: str = "USD",
    timezone_name: str = "America/New_York",
    order_number_prefix: str = "#TP",
    support_email: str = "",
    is_demo: bool = False,
    actor=None,
) -> Store:
    """Create a store (a connector's first sync, or the demo: `is_demo` sends its refunds
    to the in-process demo gateway, where no money moves)."""
    store = Store.objects.create(
        name=name,
        slug=slug,
        domain=domain,
        currency=_currency(currency),
        timezone=timezone_name,
        order_number_prefix=order_number_prefix,
        support_email=support_email,
        is_demo=is_demo,
    )
    record_audit(actor=actor, action="store.created", obj=store, changes={"name": name})
    record_event("store_created", store_id=store.pk)
    return store


@transaction.atomic
def do_upsert_catalog(store: Store, products: Iterable[ProductIn], *, actor=None) -> int:
    """Add products (by handle) and their variants in bulk; known handles are left alone.

    Returns the number of products created. Catalog edits are a later service.
    """
    incoming = {product.handle: product for product in products}
    known = set(
        Product.objects.filter(store=store, handle__in=list(incoming)).values_list(
            "handle", flat=True
        )
    )
    fresh = [product for handle, product in incoming.items() if handle not in known]
    rows = [
        Product(
            store=store,
            provider_id=p.provider_id,
            title=p.title[:200],
            handle=p.handle,
            kind=p.kind,
            material=p.material,
            vendor=p.vendor,
        )
        for p in fresh
    ]
    Product.objects.bulk_create(rows, batch_size=ROWS_PER_INSERT)
    Variant.objects.bulk_create(
        [
            Variant(
                product_id=row.pk,
                provider_id=v.provider_id,
                sku=v.sku,
                title=v.title,
                size=v.size,
                price=_decimal(v.price, "variant price"),
                currency=_currency(v.currency),
                grams=v.grams,
            )
            for row, product in zip(rows, fresh, strict=True)
            for v in product.variants
        ],
        batch_size=ROWS_PER_INSERT,
    )
    record_audit_bulk(
        actor_label=actor_label(actor),
        action="product.created",
        objects=rows,
        changes_for=lambda product: {"handle": product.handle},
    )
    return len(rows)


# --- Orders ------------------------------------------------------------------------------------


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
    result.payments_created = _insert_payments(pairs)
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


def _insert_payments(pairs) -> int:
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
        rows.append(_payment_row(order_id, payment_in))
    bulk_insert(Payment, rows, ignore_conflicts=True)
    return len(rows)


def _existing_payment_keys(keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    condition = provider_keys_filter(keys)
    return set(Payment.objects.filter(condition).values_list("gateway", "provider_id"))


def _payment_row(order_id: int, p) -> dict:
    return {
        "order_id": order_id,
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


# --- Refunds -----------------------------------------------------------------------------------


def lock_order(order_id: int) -> Order:
    """The one way to lock an order row (money movements on an order are serialised by it)."""
    return Order.objects.select_for_update(of=("self",)).get(pk=order_id)


def _captured_total(order_id: int) -> Decimal:
    total = Payment.objects.filter(
        order_id=order_id, status=Payment.Status.SUCCEEDED, captured=True
    ).aggregate(total=Sum("amount"))["total"]
    return (total or ZERO).quantize(ZERO)


def _refund_totals(order_id: int) -> tuple[Decimal, Decimal]:
    """(live = pending + succeeded, succeeded) refunded amounts of an order."""
    totals = Refund.objects.filter(order_id=order_id).aggregate(
        live=Sum("amount", filter=Q(status__in=LIVE_REFUND_STATUSES)),
        succeeded=Sum("amount", filter=Q(status=Refund.Status.SUCCEEDED)),
    )
    return ((totals["live"] or ZERO).quantize(ZERO), (totals["succeeded"] or ZERO).quantize(ZERO))


def _financial_status_after_refund(current: str, refunded: Decimal, captured: Decimal) -> str:
    if refunded <= 0:
        return current
    if refunded >= captured:
        return Order.FinancialStatus.REFUNDED
    return Order.FinancialStatus.PARTIALLY_REFUNDED


def _refund_amount(amount, currency: str | None) -> tuple[Decimal, str]:
    if isinstance(amount, Money):
        if currency and _currency(currency) != amount.currency:
            raise RefundCurrencyError(f"amount is in {amount.currency}, not {currency}")
        amount, currency = amount.amount, amount.currency
    if currency is None:
        raise RefundCurrencyError("a refund needs a currency")
    value = _decimal(amount, "refund amount")
    currency = _currency(currency)
    if value <= 0:
        raise RefundAmountError("a refund amount must be positive")
    if value != value.quantize(Decimal(1).scaleb(-currency_exponent(currency))):
        raise RefundAmountError(f"{value} has more precision than {currency} allows")
    return value, currency


def _check_replay(existing: Refund, order: Order, amount: Decimal, currency: str) -> Refund:
    """A replay returns the first refund; a key reused for something else is refused."""
    if (existing.order_id, existing.amount, existing.currency) != (order.pk, amount, currency):
        raise IdempotencyKeyReusedError(
            f"idempotency key {existing.idempotency_key!r} was already used for "
            f"{existing.amount} {existing.currency} on order {existing.order_id}"
        )
    return existing


@transaction.atomic
def do_record_refund(
    order: Order,
    amount: Money | Decimal,
    currency: str | None = None,
    reason: str = Refund.Reason.REQUESTED_BY_CUSTOMER,
    *,
    idempotency_key: str,
    actor=None,
    note: str = "",
    payment: Payment | None = None,
    provider_id: str = "",
    status: str = Refund.Status.SUCCEEDED,
    created_at: datetime | None = None,
) -> Refund:
    """Record a refund on an order exactly once per idempotency key.

    The order row is locked first, so concurrent refunds of one order are serialised; the
    refund is refused when it would take the live refunds above the captured total.
    """
    amount, currency = _refund_amount(amount, currency)
    if not idempotency_key:
        raise RefundRefused("a refund needs an idempotency key")
    if reason not in Refund.Reason.values:
        raise RefundRefused(f"unknown refund reason {reason!r}")
    locked = lock_order(order.pk)
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _check_replay(existing, locked, amount, currency)
    if currency != locked.currency:
        raise RefundCurrencyError(f"order {locked.number} is in {locked.currency}, not {currency}")
    if payment is not None and payment.order_id != locked.pk:
        raise RefundRefused("the payment belongs to another order")
    captured = _captured_total(locked.pk)
    live, _ = _refund_totals(locked.pk)
    if live + amount > captured:
        raise OverRefundError(
            f"refund of {amount} {currency} on {locked.number} exceeds what is left: "
            f"{captured - live} of {captured} captured"
        )
    refund = _insert_refund(
        locked,
        amount,
        currency,
        reason,
        idempotency_key=idempotency_key,
        actor=actor,
        note=note,
        payment=payment,
        provider_id=provider_id,
        status=status,
        created_at=created_at,
    )
    if refund.order_id != locked.pk or refund.amount != amount:
        return _check_replay(refund, locked, amount, currency)
    _after_refund(locked, refund, actor)
    return refund


def _insert_refund(
    order: Order,
    amount: Decimal,
    currency: str,
    reason: str,
    *,
    idempotency_key: str,
    actor,
    note: str,
    payment: Payment | None,
    provider_id: str,
    status: str,
    created_at: datetime | None,
) -> Refund:
    """Insert, or return the refund a concurrent caller just stored under the same key."""
    if payment is None:
        payment = (
            Payment.objects.filter(
                order_id=order.pk, status=Payment.Status.SUCCEEDED, captured=True
            )
            .order_by("-created_at", "-pk")
            .first()
        )
    try:
        with transaction.atomic():
            return Refund.objects.create(
                order=order,
                payment=payment,
                amount=amount,
                currency=currency,
                reason=reason,
                note=note,
                status=status,
                provider_id=provider_id,
                idempotency_key=idempotency_key,
                created_by=actor if getattr(actor, "pk", None) else None,
                created_at=created_at or timezone.now(),
            )
    except IntegrityError:
        return Refund.objects.get(idempotency_key=idempotency_key)


def _after_refund(order: Order, refund: Refund, actor) -> None:
    """Bring the order's refunded total and status, the customer's aggregates, audit and
    events up to date with a new refund. A pending refund changes none of the totals (they
    count succeeded refunds): only its audit entry and event are written."""
    before = order.financial_status
    if refund.status != Refund.Status.PENDING:
        captured = _captured_total(order.pk)
        _, succeeded = _refund_totals(order.pk)
        order.total_refunded = succeeded
        order.financial_status = _financial_status_after_refund(before, succeeded, captured)
        order.save(update_fields=["total_refunded", "financial_status"])
        if order.customer_id:
            refresh_customer_aggregates([order.customer_id])
    record_audit(
        actor=actor,
        action="refund.recorded",
        obj=refund,
        changes={
            "order": order.number,
            "amount": refund.amount,
            "currency": refund.currency,
            "reason": refund.reason,
            "status": refund.status,
            "financial_status": [before, order.financial_status],
        },
    )
    record_event(
        "refund_recorded",
        refund_id=refund.pk,
        order_id=order.pk,
        amount=str(refund.amount),
        currency=refund.currency,
        reason=refund.reason,
    )


@transaction.atomic
def do_settle_refund(refund: Refund, *, provider_id: str = "", actor=None) -> Refund:
    """A pending refund the gateway confirmed: succeeded, with the gateway's reference; the
    order's refunded total and status follow. Settling twice changes nothing."""
    order = lock_order(refund.order_id)
    locked = Refund.objects.select_for_update(of=("self",)).get(pk=refund.pk)
    if locked.status == Refund.Status.SUCCEEDED:
        return locked
    if locked.status != Refund.Status.PENDING:
        raise RefundRefused(f"refund {locked.pk} is {locked.status}, not pending")
    locked.status = Refund.Status.SUCCEEDED
    locked.provider_id = provider_id or locked.provider_id
    locked.save(update_fields=["status", "provider_id"])
    _after_refund(order, locked, actor)
    return locked


@transaction.atomic
def do_fail_refund(refund: Refund, *, error: str = "", actor=None) -> Refund:
    """A pending refund the gateway refused: failed, so its amount is refundable again."""
    order = lock_order(refund.order_id)
    locked = Refund.objects.select_for_update(of=("self",)).get(pk=refund.pk)
    if locked.status != Refund.Status.PENDING:
        return locked
    locked.status = Refund.Status.FAILED
    locked.save(update_fields=["status"])
    record_audit(
        actor=actor,
        action="refund.failed",
        obj=locked,
        changes={"order": order.number, "amount": locked.amount, "error": error[:500]},
    )
    record_event("refund_failed", refund_id=locked.pk, order_id=order.pk)
    return locked


def do_ingest_refunds(
    store: Store,
    refunds: Iterable[RefundIn],
    *,
    actor=None,
    batch_size: int = ORDERS_PER_TRANSACTION,
    dispatch_events: bool = True,
) -> RefundIngestResult:
    """Store refunds reported by a gateway or an import, set-based and idempotent by key.

    The same rules as `do_record_refund` hold (locked orders, no over-refund, the order's
    currency); refused refunds are returned with their error code instead of stopping the load.
    """
    result = RefundIngestResult()
    for batch in batched(refunds, batch_size):
        with transaction.atomic():
            result.add(_ingest_refund_batch(store, batch, actor, dispatch_events))
    return result


def _ingest_refund_batch(
    store: Store, batch: Sequence[RefundIn], actor, dispatch_events: bool
) -> RefundIngestResult:
    result = RefundIngestResult()
    seen = set(
        Refund.objects.filter(idempotency_key__in=[r.idempotency_key for r in batch]).values_list(
            "idempotency_key", flat=True
        )
    )
    keys = list({number_key(r.order_number) for r in batch})
    orders = {
        key: (pk, currency)
        for key, pk, currency in Order.objects.select_for_update(of=("self",))
        .filter(store=store, number_key__in=keys)
        .order_by("pk")
        .values_list("number_key", "pk", "currency")
    }
    order_ids = [pk for pk, _ in orders.values()]
    room = _refund_room(order_ids)
    payments = _payment_ids(
        {(r.gateway, r.payment_provider_id) for r in batch if r.gateway and r.payment_provider_id}
    )
    rows = []
    for refund_in in batch:
        error = _refund_in_error(refund_in, seen, orders, room)
        if error == "replay":
            result.skipped += 1
            continue
        if error:
            result.rejected.append((refund_in.idempotency_key, error))
            continue
        order_id, _ = orders[number_key(refund_in.order_number)]
        seen.add(refund_in.idempotency_key)
        if refund_in.status in LIVE_REFUND_STATUSES:
            room[order_id] -= refund_in.amount
        rows.append(
            Refund(
                order_id=order_id,
                payment_id=payments.get((refund_in.gateway, refund_in.payment_provider_id)),
                amount=refund_in.amount,
                currency=_currency(refund_in.currency),
                reason=refund_in.reason,
                note=refund_in.note,
                status=refund_in.status,
                provider_id=refund_in.provider_id,
                idempotency_key=refund_in.idempotency_key,
                created_at=refund_in.created_at,
            )
        )
    Refund.objects.bulk_create(rows, batch_size=ROWS_PER_INSERT)
    result.created = len(rows)
    if rows:
        _settle_refunded_orders({row.order_id for row in rows})
        record_audit_bulk(
            actor_label=actor_label(actor),
            action="refund.recorded",
            objects=rows,
            changes_for=lambda refund: {
                "amount": refund.amount,
                "currency": refund.currency,
                "reason": refund.reason,
                "status": refund.status,
            },
        )
        record_events_bulk(
            "refund_recorded",
            [
                {
                    "refund_id": row.pk,
                    "order_id": row.order_id,
                    "amount": str(row.amount),
                    "currency": row.currency,
                    "reason": row.reason,
                }
                for row in rows
            ],
            dispatch=dispatch_events,
        )
    return result


def _money_by_order(rows) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for order_id, amount in rows:
        totals[order_id] += amount
    return totals


def _captured_by_order(order_ids) -> dict[int, Decimal]:
    """Captured payments per order, read by the order index alone and filtered here: a status
    condition in SQL lets a planner without fresh statistics walk the status index instead,
    which turns every batch of a big load into a scan of all payments."""
    rows = Payment.objects.filter(order_id__in=order_ids).values_list(
        "order_id", "amount", "status", "captured"
    )
    return _money_by_order(
        (order_id, amount)
        for order_id, amount, status, captured in rows
        if status == Payment.Status.SUCCEEDED and captured
    )


def _refunded_by_order(order_ids, statuses) -> dict[int, Decimal]:
    """Refunds in `statuses` per order, read by the order index alone (see above)."""
    rows = Refund.objects.filter(order_id__in=order_ids).values_list("order_id", "amount", "status")
    return _money_by_order(
        (order_id, amount) for order_id, amount, status in rows if status in statuses
    )


def _refund_room(order_ids: list[int]) -> dict[int, Decimal]:
    """How much each order may still refund: captured minus live refunds."""
    captured = _captured_by_order(order_ids)
    refunded = _refunded_by_order(order_ids, LIVE_REFUND_STATUSES)
    return {pk: (captured[pk] - refunded[pk]).quantize(ZERO) for pk in order_ids}


def _payment_ids(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not keys:
        return {}
    condition = provider_keys_filter(keys)
    return {
        (gateway, provider_id): pk
        for gateway, provider_id, pk in Payment.objects.filter(condition).values_list(
            "gateway", "provider_id", "pk"
        )
    }


def _refund_in_error(
    refund_in: RefundIn, seen: set[str], orders: dict, room: dict[int, Decimal]
) -> str:
    """'' when the refund may be stored, 'replay' for a known key, else an error code."""
    if refund_in.idempotency_key in seen:
        return "replay"
    if not refund_in.idempotency_key:
        return RefundRefused.code
    found = orders.get(number_key(refund_in.order_number))
    if found is None:
        return "unknown_order"
    if not isinstance(refund_in.amount, Decimal) or refund_in.amount <= 0:
        return RefundAmountError.code
    if refund_in.reason not in Refund.Reason.values:
        return "unknown_reason"
    order_id, currency = found
    if refund_in.currency.upper() != currency:
        return RefundCurrencyError.code
    if refund_in.status in LIVE_REFUND_STATUSES and refund_in.amount > room[order_id]:
        return OverRefundError.code
    return ""


def _settle_refunded_orders(order_ids: set[int]) -> None:
    """Set total_refunded and financial_status of orders from their refunds: totals summed
    here, written with one prepared UPDATE run for every order (a 1,000-branch CASE costs
    Django more to build than the database to run)."""
    ids = sorted(order_ids)
    ops, table = connection.ops, Order._meta.db_table
    sql = (
        f"UPDATE {ops.quote_name(table)} SET total_refunded = %s, financial_status = %s "  # noqa: S608 - our table name, bound values
        "WHERE id = %s"
    )
    for chunk in batched(ids, ROWS_PER_INSERT):
        captured = _captured_by_order(chunk)
        refunded = _refunded_by_order(chunk, {Refund.Status.SUCCEEDED})
        statuses = dict(Order.objects.filter(pk__in=chunk).values_list("pk", "financial_status"))
        rows = []
        for pk in chunk:
            total = refunded[pk]
            if total <= 0:
                status = statuses[pk]
            elif total >= captured[pk]:
                status = Order.FinancialStatus.REFUNDED
            else:
                status = Order.FinancialStatus.PARTIALLY_REFUNDED
            rows.append((ops.adapt_decimalfield_value(total, **MONEY), status, pk))
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
    refresh_customer_aggregates(
        set(
            Order.objects.filter(pk__in=ids)
            .exclude(customer=None)
            .values_list("customer_id", flat=True)
        )
    )


# --- Order life: shipments, voids, cancellations ------------------------------------------------

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


# --- Policies ----------------------------------------------------------------------------------


@transaction.atomic
def do_publish_policy(
    store: Store, kind: str, body: str, effective_at: datetime, actor=None, *, title: str = ""
) -> Policy:
    """Publish a new version of a store policy; earlier versions stay for evidence packs.

    Versions are numbered under a lock on the store row, so two editors never get the same one.
    """
    if kind not in Policy.Kind.values:
        raise PolicyError(f"unknown policy kind {kind!r}")
    if not body.strip():
        raise PolicyError("a policy needs a text")
    if timezone.is_naive(effective_at):
        raise PolicyError("effective_at must be an aware datetime")
    Store.objects.select_for_update(of=("self",)).filter(pk=store.pk).first()
    latest = (
        (Policy.objects.filter(store=store, kind=kind).aggregate(latest=Max("version"))["latest"])
        or 0
    )
    policy = Policy.objects.create(
        store=store,
        kind=kind,
        version=latest + 1,
        title=title or str(Policy.Kind(kind).label),
        body=body,
        effective_from=effective_at,
    )
    record_audit(
        actor=actor,
        action="policy.published",
        obj=policy,
        changes={"kind": kind, "version": policy.version, "effective_from": effective_at},
    )
    record_event(
        "policy_published",
        policy_id=policy.pk,
        store_id=store.pk,
        kind=kind,
        version=policy.version,
    )
    return policy
