"""API v1 reads of the store's data: orders, customers, shipments, payments.

Endpoints only check permission, call a query from api_queries and paginate; the schemas decide
what each role may see (card fingerprints, gateway risk scores and raw gateway objects only with
`commerce.view_payment_details`, disputes only with `disputes.view_dispute`).
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import Field

from storedesk.commerce import api_queries
from storedesk.commerce.models import Order, Payment, Shipment
from storedesk.commerce.queries import customer_standing
from storedesk.core.api import (
    DETAIL_ERRORS,
    LIST_ERRORS,
    MAX_DATABASE_ID,
    DatabaseId,
    FilterText,
    Money,
    UtcDateTime,
    has_permission,
    money,
    money_resolver,
    permission_required,
)
from storedesk.core.api_pagination import Keyset, PageQuery, paginate
from storedesk.core.safe_urls import safe_http_url

VIEW_PAYMENT_DETAILS = "commerce.view_payment_details"
VIEW_DISPUTE = "disputes.view_dispute"

router = Router()

ORDER_KEYSET = Keyset(scope="orders", fields=("created_at", "id"))
CUSTOMER_KEYSET = Keyset(scope="customers", fields=("id",))
SHIPMENT_KEYSET = Keyset(scope="shipments", fields=("id",))
PAYMENT_KEYSET = Keyset(scope="payments", fields=("created_at", "id"))


class RiskLevel(StrEnum):
    """The gateway's own risk level (Stripe charge.outcome.risk_level)."""

    NORMAL = "normal"
    ELEVATED = "elevated"
    HIGHEST = "highest"
    NOT_ASSESSED = "not_assessed"
    UNKNOWN = "unknown"


def _enum(name: str, choices: type[StrEnum]) -> type[StrEnum]:
    """A model's choices under a name of its own: Payment.Status and Shipment.Status would
    otherwise collide as one "Status" in the OpenAPI components."""
    return StrEnum(name, [(member.name, member.value) for member in choices])


PaymentStatus = _enum("PaymentStatus", Payment.Status)
ShipmentStatus = _enum("ShipmentStatus", Shipment.Status)


# --- Schemas: what the API returns


class CustomerBrief(Schema):
    id: int
    email: str
    name: str
    is_vip: bool

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return obj.full_name


class OrderSummary(Schema):
    id: int
    number: str = Field(examples=["#TP10234"])
    email: str
    customer_id: int | None
    created_at: datetime
    cancelled_at: datetime | None
    currency: str
    total_price: Money
    total_refunded: Money
    financial_status: str = Field(description="One of " + ", ".join(Order.FinancialStatus))
    fulfillment_status: str = Field(description="One of " + ", ".join(Order.FulfillmentStatus))
    shipping_country: str
    is_expedited: bool
    source_name: str

    resolve_total_price = money_resolver("total_price")
    resolve_total_refunded = money_resolver("total_refunded")


class LineItemOut(Schema):
    id: int
    variant_id: int | None
    sku: str
    title: str
    variant_title: str
    quantity: int
    price: Money
    total_discount: Money

    # Line items carry no currency of their own: they are priced in their order's.
    @staticmethod
    def resolve_price(obj: Any) -> dict | None:
        return money(obj.price, obj.order.currency)

    @staticmethod
    def resolve_total_discount(obj: Any) -> dict | None:
        return money(obj.total_discount, obj.order.currency)


class PaymentOut(Schema):
    id: int
    order_id: int
    order_number: str
    gateway: str = Field(description="One of " + ", ".join(Payment.Gateway))
    method: str
    provider_id: str = Field(examples=["ch_3PqX…"])
    provider_intent_id: str
    amount: Money
    status: str = Field(description="One of " + ", ".join(Payment.Status))
    captured: bool
    created_at: datetime
    failure_code: str
    failure_message: str
    card_brand: str
    card_last4: str
    card_country: str
    card_funding: str
    card_wallet: str
    payer_status: str
    seller_protection: str
    avs_line1_check: str
    avs_postal_check: str
    cvc_check: str
    three_d_secure_result: str
    three_d_secure_version: str
    network_status: str
    outcome_type: str
    outcome_reason: str
    risk_level: str
    card_fingerprint: str | None = Field(
        description="Only with the commerce.view_payment_details permission; null otherwise."
    )
    risk_score: int | None = Field(
        description="The gateway's 0–99 score; only with commerce.view_payment_details."
    )

    resolve_amount = money_resolver("amount")

    @staticmethod
    def resolve_order_number(obj: Any) -> str:
        return obj.order.number

    @staticmethod
    def resolve_card_fingerprint(obj: Any, context: dict) -> str | None:
        if not has_permission(context, VIEW_PAYMENT_DETAILS):
            return None
        return obj.card_fingerprint or None

    @staticmethod
    def resolve_risk_score(obj: Any, context: dict) -> int | None:
        return obj.risk_score if has_permission(context, VIEW_PAYMENT_DETAILS) else None


class PaymentDetail(PaymentOut):
    payer_id: str
    payer_email: str
    raw: dict | None = Field(
        description="The gateway's object as received; only with commerce.view_payment_details."
    )

    @staticmethod
    def resolve_raw(obj: Any, context: dict) -> dict | None:
        return obj.raw if has_permission(context, VIEW_PAYMENT_DETAILS) else None


class RefundOut(Schema):
    id: int
    payment_id: int | None
    amount: Money
    reason: str
    note: str
    status: str
    provider_id: str
    created_by: str | None = Field(description="Username of the agent who issued it.")
    created_at: datetime

    resolve_amount = money_resolver("amount")

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return obj.created_by.username if obj.created_by_id else None


class ShipmentEventOut(Schema):
    happened_at: datetime
    status: str
    message: str
    city: str
    province: str
    country: str
    zip: str


class ShipmentOut(Schema):
    id: int
    order_id: int
    order_number: str
    carrier: str
    service: str
    tracking_number: str
    tracking_url: str
    status: str = Field(description="One of " + ", ".join(Shipment.Status))
    shipped_at: datetime | None
    estimated_delivery_at: datetime | None
    delivered_at: datetime | None
    signed_by: str
    delivery_location: str
    proof_of_delivery_url: str

    @staticmethod
    def resolve_order_number(obj: Any) -> str:
        return obj.order.number

    # Integrators put these in links: only http(s), also for rows stored before ingest checked.
    @staticmethod
    def resolve_tracking_url(obj: Any) -> str:
        return safe_http_url(obj.tracking_url)

    @staticmethod
    def resolve_proof_of_delivery_url(obj: Any) -> str:
        return safe_http_url(obj.proof_of_delivery_url)


class ShipmentDetail(ShipmentOut):
    events: list[ShipmentEventOut]


class DisputeOut(Schema):
    id: int
    payment_id: int
    gateway: str
    provider_id: str
    kind: str
    reason: str
    network_reason_code: str
    status: str
    amount: Money
    opened_at: datetime
    evidence_due_by: datetime | None
    closed_at: datetime | None

    resolve_amount = money_resolver("amount")


class OrderDetail(OrderSummary):
    processed_at: datetime | None
    cancel_reason: str
    phone: str
    subtotal_price: Money
    total_discounts: Money
    total_shipping: Money
    total_tax: Money
    discount_codes: list[Any]
    shipping_method: str
    shipping_method_code: str
    billing_address: dict
    shipping_address: dict
    billing_country: str
    browser_ip: str | None
    landing_site: str
    referring_site: str
    tags: list[str]
    note: str
    customer: CustomerBrief | None
    line_items: list[LineItemOut]
    payments: list[PaymentOut]
    refunds: list[RefundOut]
    shipments: list[ShipmentDetail]
    disputes: list[DisputeOut] | None = Field(
        description="Only with the disputes.view_dispute permission; null otherwise."
    )

    resolve_subtotal_price = money_resolver("subtotal_price")
    resolve_total_discounts = money_resolver("total_discounts")
    resolve_total_shipping = money_resolver("total_shipping")
    resolve_total_tax = money_resolver("total_tax")

    @staticmethod
    def resolve_browser_ip(obj: Any) -> str | None:
        return str(obj.browser_ip) if obj.browser_ip else None

    @staticmethod
    def resolve_landing_site(obj: Any) -> str:
        return safe_http_url(obj.landing_site, relative=True)

    @staticmethod
    def resolve_referring_site(obj: Any) -> str:
        return safe_http_url(obj.referring_site)

    @staticmethod
    def resolve_disputes(obj: Any, context: dict) -> list | None:
        return list(obj.disputes.all()) if has_permission(context, VIEW_DISPUTE) else None


class CustomerOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    name: str
    phone: str
    is_vip: bool
    tags: list[str]
    accepts_marketing: bool
    timezone: str
    orders_count: int
    total_spent: Money
    first_order_at: datetime | None
    last_order_at: datetime | None
    created_at: datetime

    resolve_total_spent = money_resolver("total_spent")

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return obj.full_name


class CustomerDetail(CustomerOut):
    provider_id: str
    other_emails: list[str]
    other_phones: list[str]
    default_address: dict
    addresses: list[dict]
    recent_orders: list[OrderSummary] = Field(
        description=f"The newest {api_queries.RECENT_ORDERS_PER_CUSTOMER} orders."
    )
    lifetime_value: Money = Field(
        description="Paid orders (cancelled ones left out) less their succeeded refunds."
    )
    vip: bool = Field(
        description="Marked VIP by the store, or lifetime value or order count at or over "
        "the desk's VIP_LIFETIME_VALUE / VIP_ORDER_COUNT settings."
    )
    vip_reason: str = Field(description="Why `vip` is true; empty when it is not.")

    resolve_lifetime_value = money_resolver("total_spent")

    @staticmethod
    def resolve_vip(obj: Any) -> bool:
        return customer_standing(obj).is_vip

    @staticmethod
    def resolve_vip_reason(obj: Any) -> str:
        return customer_standing(obj).vip_reason


class OrderPage(Schema):
    items: list[OrderSummary]
    next_cursor: str | None


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class ShipmentPage(Schema):
    items: list[ShipmentOut]
    next_cursor: str | None


class PaymentPage(Schema):
    items: list[PaymentOut]
    next_cursor: str | None


# --- Filters: what the API accepts


class OrderFilters(PageQuery):
    email: FilterText(254) | None = None
    number: FilterText(32) | None = Field(None, description="TP10234 or #TP10234")
    customer_id: DatabaseId | None = None
    financial_status: Order.FinancialStatus | None = None
    fulfillment_status: Order.FulfillmentStatus | None = None
    created_after: UtcDateTime | None = Field(None, description="Inclusive; UTC unless zoned.")
    created_before: UtcDateTime | None = Field(None, description="Exclusive; UTC unless zoned.")
    gateway: Payment.Gateway | None = Field(None, description="Orders with a payment here.")


class CustomerFilters(PageQuery):
    email: FilterText(254) | None = None
    name: FilterText(100) | None = Field(
        None, description="Prefix of 'first last' or of the last name."
    )
    vip: bool | None = None
    tag: FilterText(64) | None = None


class ShipmentFilters(PageQuery):
    tracking_number: FilterText(64) | None = None
    carrier: FilterText(40) | None = None
    status: ShipmentStatus | None = None
    order: FilterText(32) | None = Field(None, description="Order number or numeric id.")


class PaymentFilters(PageQuery):
    gateway: Payment.Gateway | None = None
    status: PaymentStatus | None = None
    risk_level: RiskLevel | None = None
    created_after: UtcDateTime | None = Field(None, description="Inclusive; UTC unless zoned.")
    created_before: UtcDateTime | None = Field(None, description="Exclusive; UTC unless zoned.")
    order: FilterText(32) | None = Field(None, description="Order number or numeric id.")


ORDER_REFERENCE = Path(..., max_length=33, pattern=r"^[^\x00-\x1f\x7f]+$")
DATABASE_ID = Path(..., ge=1, le=MAX_DATABASE_ID)


def _filters(query: PageQuery) -> dict[str, Any]:
    return query.model_dump(exclude={"cursor", "limit"})


# --- Endpoints


@router.get(
    "/orders",
    response={200: OrderPage, **LIST_ERRORS},
    tags=["orders"],
    summary="List orders, newest first",
)
@permission_required("commerce.view_order")
def list_orders(request: HttpRequest, filters: Query[OrderFilters]):
    """Needs commerce.view_order. Pages with `next_cursor`; filters combine with AND."""
    return paginate(api_queries.order_list(**_filters(filters)), ORDER_KEYSET, filters)


@router.get(
    "/orders/{number_or_id}",
    response={200: OrderDetail, **DETAIL_ERRORS},
    tags=["orders"],
    summary="One order with its items, payments, refunds, shipments",
)
@permission_required("commerce.view_order")
def get_order(request: HttpRequest, number_or_id: str = ORDER_REFERENCE):
    """Needs commerce.view_order. `TP10234`, `%23TP10234` or a numeric id (a bare number is
    the id; write `%231001` for an order numbered #1001)."""
    return api_queries.order_detail(number_or_id, with_disputes=request.user.has_perm(VIEW_DISPUTE))


@router.get(
    "/customers",
    response={200: CustomerPage, **LIST_ERRORS},
    tags=["customers"],
    summary="List customers, newest first",
)
@permission_required("commerce.view_customer")
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]):
    """Needs commerce.view_customer."""
    return paginate(api_queries.customer_list(**_filters(filters)), CUSTOMER_KEYSET, filters)


@router.get(
    "/customers/{customer_id}",
    response={200: CustomerDetail, **DETAIL_ERRORS},
    tags=["customers"],
    summary="One customer with their recent orders",
)
@permission_required("commerce.view_customer")
def get_customer(request: HttpRequest, customer_id: int = DATABASE_ID):
    """Needs commerce.view_customer."""
    return api_queries.customer_detail(customer_id)


@router.get(
    "/shipments",
    response={200: ShipmentPage, **LIST_ERRORS},
    tags=["shipments"],
    summary="List shipments, newest first",
)
@permission_required("commerce.view_shipment")
def list_shipments(request: HttpRequest, filters: Query[ShipmentFilters]):
    """Needs commerce.view_shipment."""
    return paginate(api_queries.shipment_list(**_filters(filters)), SHIPMENT_KEYSET, filters)


@router.get(
    "/shipments/{shipment_id}",
    response={200: ShipmentDetail, **DETAIL_ERRORS},
    tags=["shipments"],
    summary="One shipment with its carrier scans",
)
@permission_required("commerce.view_shipment")
def get_shipment(request: HttpRequest, shipment_id: int = DATABASE_ID):
    """Needs commerce.view_shipment."""
    return api_queries.shipment_detail(shipment_id)


@router.get(
    "/payments",
    response={200: PaymentPage, **LIST_ERRORS},
    tags=["payments"],
    summary="List payments, newest first",
)
@permission_required("commerce.view_payment")
def list_payments(request: HttpRequest, filters: Query[PaymentFilters]):
    """Needs commerce.view_payment; fingerprints and risk scores need view_payment_details."""
    return paginate(api_queries.payment_list(**_filters(filters)), PAYMENT_KEYSET, filters)


@router.get(
    "/payments/{payment_id}",
    response={200: PaymentDetail, **DETAIL_ERRORS},
    tags=["payments"],
    summary="One payment with the gateway's raw object",
)
@permission_required("commerce.view_payment")
def get_payment(request: HttpRequest, payment_id: int = DATABASE_ID):
    """Needs commerce.view_payment; raw, fingerprint and risk score need view_payment_details."""
    return api_queries.payment_detail(payment_id)
