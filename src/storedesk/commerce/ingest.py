"""Incoming store data, exactly as a connector (Shopify, Stripe, PayPal, the demo) delivers it.

These frozen dataclasses are the contract between the adapters in `storedesk.integrations` and
the commerce/disputes services: adapters map an outside payload into them, services store them.
Provider ids stay the provider's strings; money is Decimal + ISO currency (never float); times
are aware datetimes in UTC. Addresses keep Shopify's keys (first_name, address1, city, province,
province_code, country_code, zip, phone) because every other source can be mapped onto them.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

Address = Mapping[str, Any]


def number_key(number: str) -> str:
    """The searchable form of an order number: '#tp1042 ' -> 'TP1042'."""
    return number.strip().lstrip("#").strip().upper()


def name_keys(first_name: str, last_name: str) -> tuple[str, str]:
    """The lower-cased 'first last' and 'last' keys used by prefix search."""
    first, last = (first_name or "").strip().lower(), (last_name or "").strip().lower()
    return f"{first} {last}".strip()[:210], last[:100]


@dataclass(frozen=True, slots=True)
class CustomerIn:
    """A buyer (Shopify `customer`); matched to an existing one by store + lower-cased email."""

    email: str
    first_name: str = ""
    last_name: str = ""
    provider_id: str = ""
    phone: str = ""
    default_address: Address = field(default_factory=dict)
    timezone: str = ""
    accepts_marketing: bool = False
    is_vip: bool = False
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LineItemIn:
    """One Shopify `line_items[]` entry; `sku` links it to our variant when we know it."""

    title: str
    quantity: int
    price: Decimal
    sku: str = ""
    variant_title: str = ""
    provider_id: str = ""
    total_discount: Decimal = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class PaymentIn:
    """A charge/capture: Stripe `charge`, PayPal capture or Shopify transaction.

    Card fields follow Stripe's `payment_method_details.card`; checks are Stripe's values
    (pass/fail/unavailable/unchecked, '' when absent); outcome fields follow `charge.outcome`.
    """

    gateway: str
    provider_id: str
    amount: Decimal
    currency: str
    status: str
    created_at: datetime
    captured: bool = False
    method: str = "card"
    provider_intent_id: str = ""
    failure_code: str = ""
    failure_message: str = ""
    card_brand: str = ""
    card_last4: str = ""
    card_country: str = ""
    card_fingerprint: str = ""
    card_funding: str = ""
    card_wallet: str = ""
    payer_id: str = ""
    payer_email: str = ""
    payer_status: str = ""
    seller_protection: str = ""
    avs_line1_check: str = ""
    avs_postal_check: str = ""
    cvc_check: str = ""
    three_d_secure_result: str = ""
    three_d_secure_version: str = ""
    network_status: str = ""
    outcome_type: str = ""
    outcome_reason: str = ""
    risk_level: str = ""
    risk_score: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShipmentEventIn:
    """One carrier scan (Shopify `fulfillment_event`)."""

    happened_at: datetime
    status: str
    message: str = ""
    city: str = ""
    province: str = ""
    country: str = ""
    zip: str = ""


@dataclass(frozen=True, slots=True)
class ShipmentIn:
    """A Shopify `fulfillment` with its tracking and the carrier's scans."""

    carrier: str
    tracking_number: str
    status: str
    tracking_url: str = ""
    service: str = ""
    provider_id: str = ""
    shipped_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    delivered_at: datetime | None = None
    signed_by: str = ""
    proof_of_delivery_url: str = ""
    delivery_location: str = ""
    events: tuple[ShipmentEventIn, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderIn:
    """A Shopify `order` with what belongs to it; `number` is Shopify's `name` ('#TP1042')."""

    number: str
    created_at: datetime
    currency: str
    subtotal_price: Decimal
    total_price: Decimal
    provider_id: str = ""
    email: str = ""
    phone: str = ""
    customer: CustomerIn | None = None
    total_discounts: Decimal = Decimal("0.00")
    total_shipping: Decimal = Decimal("0.00")
    total_tax: Decimal = Decimal("0.00")
    discount_codes: tuple[Mapping[str, Any], ...] = ()
    financial_status: str = "pending"
    fulfillment_status: str = "unfulfilled"
    processed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    shipping_method: str = ""
    shipping_method_code: str = ""
    is_expedited: bool = False
    billing_address: Address = field(default_factory=dict)
    shipping_address: Address = field(default_factory=dict)
    browser_ip: str | None = None
    user_agent: str = ""
    accept_language: str = ""
    source_name: str = "web"
    landing_site: str = ""
    referring_site: str = ""
    tags: tuple[str, ...] = ()
    note: str = ""
    line_items: tuple[LineItemIn, ...] = ()
    payments: tuple[PaymentIn, ...] = ()
    shipments: tuple[ShipmentIn, ...] = ()
    # The source's `updated_at` of this version (an older one never overwrites a newer one).
    updated_at: datetime | None = None

    @property
    def number_key(self) -> str:
        return number_key(self.number)


@dataclass(frozen=True, slots=True)
class RefundIn:
    """A refund reported by a gateway or Shopify (`refund`), for bulk loads and backfills.

    `idempotency_key` makes a replay harmless; connectors use the provider's refund id
    (e.g. 'stripe:re_…'). The order is found by its number; the payment by gateway + id.
    """

    order_number: str
    amount: Decimal
    currency: str
    reason: str
    idempotency_key: str
    created_at: datetime
    status: str = "succeeded"
    provider_id: str = ""
    gateway: str = ""
    payment_provider_id: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class DisputeIn:
    """A Stripe `dispute` or PayPal `customer.dispute`, with the gateway's own codes.

    The payment is found by gateway + `payment_provider_id` (Stripe's `charge`, PayPal's
    `disputed_transactions[].seller_transaction_id`).
    """

    gateway: str
    provider_id: str
    payment_provider_id: str
    reason: str
    status: str
    amount: Decimal
    currency: str
    opened_at: datetime
    kind: str = "chargeback"
    stage: str = ""  # PayPal's dispute_life_cycle_stage, lower-cased
    network_reason_code: str = ""
    evidence_due_by: datetime | None = None
    closed_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VariantIn:
    """One Shopify `variants[]` entry (size, SKU, price)."""

    sku: str
    price: Decimal
    currency: str = "USD"
    title: str = ""
    size: str = ""
    grams: int = 0
    provider_id: str = ""


@dataclass(frozen=True, slots=True)
class ProductIn:
    """A Shopify `product`; matched to an existing one by store + handle."""

    title: str
    handle: str
    kind: str = "other"
    material: str = "other"
    vendor: str = ""
    provider_id: str = ""
    variants: tuple[VariantIn, ...] = ()
