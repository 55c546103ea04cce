"""Read querysets for the commerce API: filters turned into indexed lookups, joins made up front.

Each list is one query whatever the page size, and each detail a fixed handful (one per related
collection), so the API's cost never grows with the rows it returns.
"""

from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from storedesk.commerce.models import Customer, Order, Payment, Refund, Shipment

RECENT_ORDERS_PER_CUSTOMER = 10


def normalize_order_number(value: str) -> str:
    """'#tp10234', 'TP10234 ' and '%23TP10234' (decoded) all mean number_key 'TP10234'."""
    return value.strip().lstrip("#").strip().upper()


def order_reference_q(reference: str, prefix: str = "") -> Q:
    """An order by bare numeric id ('123') or by number ('TP10234', '#TP10234', '#1001')."""
    reference = reference.strip()
    if reference.isdigit():
        # An id too big for the database matches nothing (and must not overflow the query).
        return Q(**{f"{prefix}id": int(reference)}) if len(reference) < 19 else Q(pk__in=[])
    return Q(**{f"{prefix}number_key": normalize_order_number(reference)})


def aware(value: datetime | None) -> datetime | None:
    """Filters without a zone mean UTC, the zone everything is stored in."""
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, timezone.UTC)


def _created_range(created_after: datetime | None, created_before: datetime | None) -> Q:
    q = Q()
    if created_after is not None:
        q &= Q(created_at__gte=aware(created_after))
    if created_before is not None:
        q &= Q(created_at__lt=aware(created_before))
    return q


def _with_order_number(queryset: QuerySet, leave_out: tuple[str, ...] = ()) -> QuerySet:
    """Join the order for its number only: its addresses and notes are not needed here."""
    own = [
        field.name for field in queryset.model._meta.concrete_fields if field.name not in leave_out
    ]
    return queryset.select_related("order").only(*own, "order__number")


# --- Orders


def order_list(
    *,
    email: str | None = None,
    number: str | None = None,
    customer_id: int | None = None,
    financial_status: str | None = None,
    fulfillment_status: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    gateway: str | None = None,
) -> QuerySet:
    orders = Order.objects.filter(_created_range(created_after, created_before))
    if email:
        # Emails are stored lower-cased, so this equality uses the (email, created_at) index.
        orders = orders.filter(email=email.strip().lower())
    if number:
        orders = orders.filter(number_key=normalize_order_number(number))
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    if financial_status:
        orders = orders.filter(financial_status=financial_status)
    if fulfillment_status:
        orders = orders.filter(fulfillment_status=fulfillment_status)
    if gateway:
        # EXISTS, not a join: an order paid in two captures must still appear once.
        orders = orders.filter(
            Exists(Payment.objects.filter(order=OuterRef("pk"), gateway=gateway))
        )
    return orders


def order_detail(reference: str, *, with_disputes: bool) -> Order:
    """The order with everything an agent reads on it, in one query per collection."""
    prefetches = [
        "line_items",
        "payments",
        Prefetch(
            "refunds",
            queryset=Refund.objects.select_related("created_by").order_by("created_at", "id"),
        ),
        Prefetch(
            "shipments",
            queryset=Shipment.objects.order_by("shipped_at", "id").prefetch_related("events"),
        ),
    ]
    if with_disputes:
        prefetches.append("disputes")
    order = (
        Order.objects.select_related("customer")
        .prefetch_related(*prefetches)
        .filter(order_reference_q(reference))
        .order_by("id")
        .first()
    )
    if order is None:
        raise Http404(f"No order matches '{reference.strip()}'.")
    return order


# --- Customers


# SQLite has no JSON containment lookup; json_each compares whole elements, not substrings.
# A fixed statement: only the tag varies, and it is a bound parameter.
_SQLITE_HAS_TAG = (
    'EXISTS (SELECT 1 FROM json_each("commerce_customer"."tags") WHERE json_each.value = %s)'
)


def _has_tag(tag: str) -> Q | RawSQL:
    """Customers tagged `tag` exactly (tags are a JSON list of strings)."""
    if connection.vendor == "postgresql":
        return Q(tags__contains=[tag])
    return RawSQL(_SQLITE_HAS_TAG, [tag], output_field=BooleanField())  # noqa: S611


def customer_list(
    *,
    email: str | None = None,
    name: str | None = None,
    vip: bool | None = None,
    tag: str | None = None,
) -> QuerySet:
    customers = Customer.objects.all()
    if email:
        customers = customers.filter(email=email.strip().lower())
    if name:
        prefix = " ".join(name.lower().split())
        customers = customers.filter(
            Q(name_key__startswith=prefix) | Q(last_name_key__startswith=prefix)
        )
    if vip is not None:
        customers = customers.filter(is_vip=vip)
    if tag:
        customers = customers.filter(_has_tag(tag.strip()))
    return customers


def customer_detail(customer_id: int) -> Customer:
    recent = Order.objects.order_by("-created_at", "-id")[:RECENT_ORDERS_PER_CUSTOMER]
    customer = (
        Customer.objects.prefetch_related(
            Prefetch("orders", queryset=recent, to_attr="recent_orders")
        )
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise Http404(f"No customer has id {customer_id}.")
    return customer


# --- Shipments


def shipment_list(
    *,
    tracking_number: str | None = None,
    carrier: str | None = None,
    status: str | None = None,
    order: str | None = None,
) -> QuerySet:
    shipments = _with_order_number(Shipment.objects.all())
    if tracking_number:
        shipments = shipments.filter(tracking_number=tracking_number.strip())
    if carrier:
        shipments = shipments.filter(carrier__iexact=carrier.strip())
    if status:
        shipments = shipments.filter(status=status)
    if order:
        shipments = shipments.filter(order_reference_q(order, prefix="order__"))
    return shipments


def shipment_detail(shipment_id: int) -> Shipment:
    shipment = (
        Shipment.objects.select_related("order")
        .prefetch_related("events")
        .filter(pk=shipment_id)
        .first()
    )
    if shipment is None:
        raise Http404(f"No shipment has id {shipment_id}.")
    return shipment


# --- Payments


def payment_list(
    *,
    gateway: str | None = None,
    status: str | None = None,
    risk_level: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    order: str | None = None,
) -> QuerySet:
    # The raw gateway object can be large and lists never show it.
    payments = _with_order_number(Payment.objects.all(), leave_out=("raw",)).filter(
        _created_range(created_after, created_before)
    )
    if gateway:
        payments = payments.filter(gateway=gateway)
    if status:
        payments = payments.filter(status=status)
    if risk_level:
        payments = payments.filter(risk_level=risk_level)
    if order:
        payments = payments.filter(order_reference_q(order, prefix="order__"))
    return payments


def payment_detail(payment_id: int) -> Payment:
    payment = _with_order_number(Payment.objects.all()).filter(pk=payment_id).first()
    if payment is None:
        raise Http404(f"No payment has id {payment_id}.")
    return payment
