"""Shopify objects -> the commerce ingest dataclasses.

Two shapes arrive: the REST/webhook shape (`order`, `refund`, `fulfillment`, `dispute` as the
webhooks deliver them, snake_case, money as strings) and the Admin GraphQL shape of the bulk
backfill and the reconcile (camelCase, money in `…Set.shopMoney`). Both end in the same
`OrderIn`, so a webhook and a backfill of the same order store the same thing.

Every Shopify transaction becomes a payment of the `shopify_payments` gateway keyed by the
transaction's id (the processor behind it stays in `raw`); a refund is keyed by Shopify's refund
id, the same from a refunds/create webhook and from a backfill, so it is recorded once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from storedesk.commerce.ingest import (
    CustomerIn,
    DisputeIn,
    LineItemIn,
    OrderIn,
    PaymentIn,
    ShipmentIn,
)
from storedesk.commerce.models import Order, Payment, Refund, Shipment

GATEWAY = Payment.Gateway.SHOPIFY_PAYMENTS
ZERO = Decimal("0.00")
ADDRESS_KEYS = (
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "province",
    "province_code",
    "country",
    "country_code",
    "zip",
    "phone",
)
FINANCIAL = set(Order.FinancialStatus.values)
FULFILLMENT = set(Order.FulfillmentStatus.values)
SHIPMENT_STATUSES = set(Shipment.Status.values)
PAID_KINDS = {"sale", "capture"}
MONEY_KINDS = {"sale", "capture", "authorization"}


class MappingError(ValueError):
    """The object lacks what makes it usable (an order without a name or a date)."""


def text(value: Any) -> str:
    return "" if value is None else str(value)


def when(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None or parsed.tzinfo is None:
        raise MappingError(f"not a date with a time zone: {value!r}")
    return parsed


def money(value: Any) -> Decimal:
    if value in (None, ""):
        return ZERO
    try:
        return Decimal(str(value)).quantize(ZERO)
    except InvalidOperation as error:
        raise MappingError(f"not an amount: {value!r}") from error


def numeric_id(value: Any) -> str:
    """'gid://shopify/Order/450789469' or 450789469 -> '450789469'."""
    value = text(value)
    return value.rsplit("/", 1)[-1] if value.startswith("gid://") else value


def tags_of(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(text(tag).strip() for tag in value if text(tag).strip())
    return tuple(tag.strip() for tag in text(value).split(",") if tag.strip())


def address(value: Mapping[str, Any] | None) -> dict[str, str]:
    if not value:
        return {}
    return {key: text(value.get(key)) for key in ADDRESS_KEYS if value.get(key) not in (None, "")}


def _financial(value: Any) -> str:
    value = text(value).lower()
    if value == "expired":
        return Order.FinancialStatus.VOIDED
    return value if value in FINANCIAL else Order.FinancialStatus.PENDING


def _fulfillment(value: Any) -> str:
    value = text(value).lower()
    if value in ("", "null", "unfulfilled"):
        return Order.FulfillmentStatus.UNFULFILLED
    if value in ("partially_fulfilled", "partial"):
        return Order.FulfillmentStatus.PARTIAL
    return value if value in FULFILLMENT else Order.FulfillmentStatus.UNFULFILLED


# --- REST / webhook shape ------------------------------------------------------------------------


def customer_from_rest(customer: Mapping[str, Any], fallback_email: str = "") -> CustomerIn | None:
    email = text(customer.get("email") or fallback_email).strip()
    if not email:
        return None
    return CustomerIn(
        email=email,
        first_name=text(customer.get("first_name")),
        last_name=text(customer.get("last_name")),
        provider_id=numeric_id(customer.get("id")),
        phone=text(customer.get("phone")),
        default_address=address(customer.get("default_address")),
        accepts_marketing=bool(customer.get("accepts_marketing")),
        tags=tags_of(customer.get("tags")),
        created_at=when(customer.get("created_at")),
    )


def _card_checks(details: Mapping[str, Any]) -> dict[str, str]:
    """Shopify's AVS/CVV result letters -> Stripe-style pass/fail/unavailable."""
    avs = text(details.get("avs_result_code")).upper()
    cvv = text(details.get("cvv_result_code")).upper()
    avs_postal = (
        "pass" if avs in {"Y", "X", "Z", "W", "D", "M", "P"} else ("fail" if avs == "N" else "")
    )
    avs_line1 = "pass" if avs in {"Y", "X", "A", "B", "D", "M"} else ("fail" if avs == "N" else "")
    if avs in {"U", "S", "R", "E", "G"}:
        avs_postal = avs_line1 = "unavailable"
    cvc = {"M": "pass", "N": "fail", "P": "unchecked", "S": "unavailable", "U": "unavailable"}
    return {
        "avs_line1_check": avs_line1,
        "avs_postal_check": avs_postal,
        "cvc_check": cvc.get(cvv, ""),
    }


def payment_from_rest(transaction: Mapping[str, Any], currency: str) -> PaymentIn | None:
    """A Shopify `transaction` of money taken (sale, capture, authorization); None otherwise."""
    kind = text(transaction.get("kind")).lower()
    if kind not in MONEY_KINDS:
        return None
    status = text(transaction.get("status")).lower()
    details = transaction.get("payment_details") or {}
    number = text(details.get("credit_card_number"))
    return PaymentIn(
        gateway=GATEWAY,
        provider_id=numeric_id(transaction["id"]),
        amount=money(transaction.get("amount")),
        currency=text(transaction.get("currency") or currency).upper(),
        status={"success": "succeeded", "pending": "pending"}.get(status, "failed"),
        created_at=when(transaction.get("created_at")),
        captured=kind in PAID_KINDS and status == "success",
        failure_code=text(transaction.get("error_code"))[:64],
        failure_message=text(transaction.get("message"))[:255],
        card_brand=text(details.get("credit_card_company")).lower()[:20],
        card_last4=number[-4:] if number[-4:].isdigit() else "",
        raw={"gateway": text(transaction.get("gateway")), "kind": kind},
        **_card_checks(details),
    )


def shipment_status(fulfillment: Mapping[str, Any]) -> str:
    shipment = text(fulfillment.get("shipment_status")).lower()
    if shipment in SHIPMENT_STATUSES:
        return shipment
    if shipment == "label_purchased":
        return Shipment.Status.LABEL_PRINTED
    if text(fulfillment.get("status")).lower() in {"failure", "error"}:
        return Shipment.Status.FAILURE
    return Shipment.Status.CONFIRMED


def shipment_from_rest(fulfillment: Mapping[str, Any]) -> ShipmentIn:
    status = shipment_status(fulfillment)
    return ShipmentIn(
        carrier=text(fulfillment.get("tracking_company"))[:40],
        tracking_number=text(fulfillment.get("tracking_number"))[:64],
        tracking_url=text(fulfillment.get("tracking_url")),
        status=status,
        service=text(fulfillment.get("service"))[:60],
        provider_id=numeric_id(fulfillment.get("id")),
        shipped_at=when(fulfillment.get("created_at")),
        delivered_at=when(fulfillment.get("updated_at"))
        if status == Shipment.Status.DELIVERED
        else None,
    )


def order_from_rest(order: Mapping[str, Any]) -> OrderIn:
    """A Shopify `order` as orders/* webhooks and the REST API deliver it."""
    if not order.get("name") or not order.get("created_at"):
        raise MappingError("an order needs its name and created_at")
    currency = text(order.get("currency") or "USD").upper()
    client = order.get("client_details") or {}
    shipping_lines = order.get("shipping_lines") or []
    first_line = shipping_lines[0] if shipping_lines else {}
    customer = order.get("customer") or {}
    email = text(order.get("email") or order.get("contact_email") or customer.get("email"))
    shipping_total = order.get("total_shipping_price_set") or {}
    shipping = (shipping_total.get("shop_money") or {}).get("amount")
    payments = tuple(
        payment
        for payment in (
            payment_from_rest(transaction, currency)
            for transaction in order.get("transactions") or ()
        )
        if payment is not None
    )
    return OrderIn(
        number=text(order["name"]),
        created_at=when(order["created_at"]),
        updated_at=when(order.get("updated_at")),
        currency=currency,
        subtotal_price=money(order.get("subtotal_price")),
        total_price=money(order.get("total_price")),
        total_discounts=money(order.get("total_discounts")),
        total_tax=money(order.get("total_tax")),
        total_shipping=money(shipping)
        if shipping is not None
        else sum((money(line.get("price")) for line in shipping_lines), ZERO),
        provider_id=numeric_id(order.get("id")),
        email=email,
        phone=text(order.get("phone"))[:32],
        customer=customer_from_rest(customer, email) if customer else None,
        discount_codes=tuple(
            {"code": text(code.get("code")), "amount": text(code.get("amount"))}
            for code in order.get("discount_codes") or ()
        ),
        financial_status=_financial(order.get("financial_status")),
        fulfillment_status=_fulfillment(order.get("fulfillment_status")),
        processed_at=when(order.get("processed_at")),
        cancelled_at=when(order.get("cancelled_at")),
        cancel_reason=text(order.get("cancel_reason"))[:32],
        shipping_method=text(first_line.get("title"))[:120],
        shipping_method_code=text(first_line.get("code"))[:64],
        billing_address=address(order.get("billing_address")),
        shipping_address=address(order.get("shipping_address")),
        browser_ip=text(client.get("browser_ip") or order.get("browser_ip")) or None,
        user_agent=text(client.get("user_agent")),
        accept_language=text(client.get("accept_language")),
        source_name=text(order.get("source_name") or "web")[:40],
        landing_site=text(order.get("landing_site")),
        referring_site=text(order.get("referring_site")),
        tags=tags_of(order.get("tags")),
        note=text(order.get("note")),
        line_items=tuple(
            LineItemIn(
                title=text(item.get("title") or item.get("name")),
                quantity=int(item.get("quantity") or 0),
                price=money(item.get("price")),
                sku=text(item.get("sku"))[:64],
                variant_title=text(item.get("variant_title")),
                provider_id=numeric_id(item.get("id")),
                total_discount=money(item.get("total_discount")),
            )
            for item in order.get("line_items") or ()
        ),
        payments=payments,
        shipments=tuple(shipment_from_rest(f) for f in order.get("fulfillments") or ()),
    )


def refund_amount(refund: Mapping[str, Any]) -> tuple[Decimal, str]:
    """What a Shopify `refund` gave back: its successful refund transactions, summed."""
    total, currency = ZERO, ""
    for transaction in refund.get("transactions") or ():
        if text(transaction.get("kind")).lower() != "refund":
            continue
        if text(transaction.get("status")).lower() != "success":
            continue
        total += money(transaction.get("amount"))
        currency = currency or text(transaction.get("currency")).upper()
    return total, currency


def refund_key(refund_id: Any) -> str:
    return f"shopify:refund:{numeric_id(refund_id)}"


REFUND_REASON = Refund.Reason.OTHER  # Shopify gives no reason code, only a note


def dispute_from_rest(dispute: Mapping[str, Any], payment_provider_id: str) -> DisputeIn:
    kind = "inquiry" if text(dispute.get("type")).lower() == "inquiry" else "chargeback"
    status = text(dispute.get("status")).lower()
    return DisputeIn(
        gateway=GATEWAY,
        provider_id=numeric_id(dispute["id"]),
        payment_provider_id=payment_provider_id,
        reason=text(dispute.get("reason")).lower(),
        status=status,
        amount=money(dispute.get("amount")),
        currency=text(dispute.get("currency") or "USD").upper(),
        opened_at=when(dispute.get("initiated_at")),
        kind=kind,
        network_reason_code=text(dispute.get("network_reason_code"))[:16],
        evidence_due_by=when(dispute.get("evidence_due_by")),
        closed_at=when(dispute.get("finalized_on")),
        raw=dict(dispute),
    )


# --- Admin GraphQL shape -------------------------------------------------------------------------


def _shop_money(value: Mapping[str, Any] | None) -> Decimal:
    return money(((value or {}).get("shopMoney") or {}).get("amount"))


def _graphql_address(value: Mapping[str, Any] | None) -> dict[str, str]:
    if not value:
        return {}
    renamed = {
        "first_name": value.get("firstName"),
        "last_name": value.get("lastName"),
        "company": value.get("company"),
        "address1": value.get("address1"),
        "address2": value.get("address2"),
        "city": value.get("city"),
        "province": value.get("province"),
        "province_code": value.get("provinceCode"),
        "country": value.get("country"),
        "country_code": value.get("countryCodeV2"),
        "zip": value.get("zip"),
        "phone": value.get("phone"),
    }
    return {key: text(item) for key, item in renamed.items() if item not in (None, "")}


def _graphql_payment(transaction: Mapping[str, Any], currency: str) -> PaymentIn | None:
    details = transaction.get("paymentDetails") or {}
    amount = (transaction.get("amountSet") or {}).get("shopMoney") or {}
    return payment_from_rest(
        {
            "id": transaction.get("id"),
            "kind": text(transaction.get("kind")).lower(),
            "status": text(transaction.get("status")).lower(),
            "gateway": transaction.get("gateway"),
            "created_at": transaction.get("createdAt"),
            "amount": amount.get("amount"),
            "currency": amount.get("currencyCode") or currency,
            "error_code": transaction.get("errorCode"),
            "payment_details": {
                "credit_card_company": details.get("company"),
                "credit_card_number": details.get("number"),
                "avs_result_code": details.get("avsResultCode"),
                "cvv_result_code": details.get("cvvResultCode"),
            },
        },
        currency,
    )


def _graphql_shipment(fulfillment: Mapping[str, Any]) -> ShipmentIn:
    tracking = (fulfillment.get("trackingInfo") or [{}])[0] or {}
    display = text(fulfillment.get("displayStatus")).lower()
    status = (
        display
        if display in SHIPMENT_STATUSES
        else shipment_status({"status": text(fulfillment.get("status")).lower()})
    )
    return ShipmentIn(
        carrier=text(tracking.get("company"))[:40],
        tracking_number=text(tracking.get("number"))[:64],
        tracking_url=text(tracking.get("url")),
        status=status,
        provider_id=numeric_id(fulfillment.get("id")),
        shipped_at=when(fulfillment.get("createdAt")),
        estimated_delivery_at=when(fulfillment.get("estimatedDeliveryAt")),
        delivered_at=when(fulfillment.get("deliveredAt")),
    )


def order_from_graphql(node: Mapping[str, Any], line_items: Iterable[Mapping] = ()) -> OrderIn:
    """An Admin GraphQL `Order` (the fields of queries.ORDER_FIELDS); `line_items` are its
    `lineItems` nodes (child rows in a bulk result, edges in a paged query)."""
    if not node.get("name") or not node.get("createdAt"):
        raise MappingError("an order needs its name and createdAt")
    currency = text(node.get("currencyCode") or "USD").upper()
    customer = node.get("customer") or {}
    email = text(node.get("email") or customer.get("email"))
    shipping_line = node.get("shippingLine") or {}
    payments = tuple(
        payment
        for payment in (_graphql_payment(t, currency) for t in node.get("transactions") or ())
        if payment is not None
    )
    return OrderIn(
        number=text(node["name"]),
        created_at=when(node["createdAt"]),
        updated_at=when(node.get("updatedAt")),
        currency=currency,
        subtotal_price=_shop_money(node.get("subtotalPriceSet")),
        total_price=_shop_money(node.get("totalPriceSet")),
        total_discounts=_shop_money(node.get("totalDiscountsSet")),
        total_tax=_shop_money(node.get("totalTaxSet")),
        total_shipping=_shop_money(node.get("totalShippingPriceSet")),
        provider_id=numeric_id(node.get("id")),
        email=email,
        phone=text(node.get("phone"))[:32],
        customer=CustomerIn(
            email=text(customer.get("email") or email),
            first_name=text(customer.get("firstName")),
            last_name=text(customer.get("lastName")),
            provider_id=numeric_id(customer.get("id")),
            phone=text(customer.get("phone")),
        )
        if customer and (customer.get("email") or email)
        else None,
        financial_status=_financial(node.get("displayFinancialStatus")),
        fulfillment_status=_fulfillment(node.get("displayFulfillmentStatus")),
        processed_at=when(node.get("processedAt")),
        cancelled_at=when(node.get("cancelledAt")),
        cancel_reason=text(node.get("cancelReason")).lower()[:32],
        shipping_method=text(shipping_line.get("title"))[:120],
        shipping_method_code=text(shipping_line.get("code"))[:64],
        billing_address=_graphql_address(node.get("billingAddress")),
        shipping_address=_graphql_address(node.get("shippingAddress")),
        browser_ip=text(node.get("clientIp")) or None,
        source_name=text(node.get("sourceName") or "web")[:40],
        tags=tags_of(node.get("tags")),
        note=text(node.get("note")),
        line_items=tuple(
            LineItemIn(
                title=text(item.get("title")),
                quantity=int(item.get("quantity") or 0),
                price=_shop_money(item.get("originalUnitPriceSet")),
                sku=text(item.get("sku"))[:64],
                variant_title=text(item.get("variantTitle")),
                provider_id=numeric_id(item.get("id")),
                total_discount=_shop_money(item.get("totalDiscountSet")),
            )
            for item in line_items
        ),
        payments=payments,
        shipments=tuple(_graphql_shipment(f) for f in node.get("fulfillments") or ()),
    )


def refunds_from_graphql(node: Mapping[str, Any]):
    """(refund key, amount, currency, created_at, note, provider id) of an order's refunds."""
    for refund in node.get("refunds") or ():
        total = (refund.get("totalRefundedSet") or {}).get("shopMoney") or {}
        amount = money(total.get("amount"))
        if amount <= 0:
            continue
        yield (
            refund_key(refund.get("id")),
            amount,
            text(total.get("currencyCode") or node.get("currencyCode")).upper(),
            when(refund.get("createdAt")),
            text(refund.get("note")),
            numeric_id(refund.get("id")),
        )
