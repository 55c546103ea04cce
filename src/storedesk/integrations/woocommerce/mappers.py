"""WooCommerce REST API v3 `order` objects → `commerce.ingest.OrderIn`.

WooCommerce keeps money as decimal strings ("29.35") and times twice, local and `_gmt`
(naive UTC); the `_gmt` ones are read. Order status says both payment and fulfilment:
pending/on-hold/failed (not paid), processing (paid, to ship), completed (paid, shipped),
cancelled, refunded.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from storedesk.commerce.ingest import CustomerIn, LineItemIn, OrderIn, PaymentIn
from storedesk.commerce.models import Order, Payment


class MappingError(ValueError):
    pass


STATUSES = {
    "pending": (Order.FinancialStatus.PENDING, Order.FulfillmentStatus.UNFULFILLED),
    "on-hold": (Order.FinancialStatus.PENDING, Order.FulfillmentStatus.UNFULFILLED),
    "failed": (Order.FinancialStatus.PENDING, Order.FulfillmentStatus.UNFULFILLED),
    "processing": (Order.FinancialStatus.PAID, Order.FulfillmentStatus.UNFULFILLED),
    "completed": (Order.FinancialStatus.PAID, Order.FulfillmentStatus.FULFILLED),
    "cancelled": (Order.FinancialStatus.VOIDED, Order.FulfillmentStatus.UNFULFILLED),
    "refunded": (Order.FinancialStatus.REFUNDED, Order.FulfillmentStatus.UNFULFILLED),
}
GATEWAYS = {
    "stripe": Payment.Gateway.STRIPE,
    "ppcp-gateway": Payment.Gateway.PAYPAL,
    "paypal": Payment.Gateway.PAYPAL,
}


def money(value, what: str) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        raise MappingError(f"{what}: not an amount {value!r}") from None
    if not amount.is_finite():
        raise MappingError(f"{what}: not an amount {value!r}")
    return amount


def gmt(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    except ValueError:
        raise MappingError(f"not a date {value!r}") from None


def _address(part: dict) -> dict:
    part = part or {}
    values = {
        "first_name": part.get("first_name", ""),
        "last_name": part.get("last_name", ""),
        "company": part.get("company", ""),
        "address1": part.get("address_1", ""),
        "address2": part.get("address_2", ""),
        "city": part.get("city", ""),
        "province_code": part.get("state", ""),
        "zip": part.get("postcode", ""),
        "country_code": (part.get("country") or "").upper()[:2],
        "phone": part.get("phone", ""),
    }
    return {key: str(value) for key, value in values.items() if value}


def order_in(order: dict) -> OrderIn:
    if not isinstance(order, dict) or not order.get("id"):
        raise MappingError("not a WooCommerce order")
    currency = str(order.get("currency") or "USD").upper()
    created = gmt(order.get("date_created_gmt"))
    if created is None:
        raise MappingError("order without date_created_gmt")
    financial, fulfillment = STATUSES.get(
        str(order.get("status") or ""), (Order.FinancialStatus.PENDING, "unfulfilled")
    )
    billing = _address(order.get("billing"))
    email = str((order.get("billing") or {}).get("email") or "").strip().lower()
    items = []
    for item in order.get("line_items") or []:
        quantity = int(item.get("quantity") or 0)
        if quantity < 1:
            continue
        subtotal = money(item.get("subtotal"), "line item subtotal")
        items.append(
            LineItemIn(
                title=html.unescape(str(item.get("name") or ""))[:200],
                quantity=quantity,
                price=(subtotal / quantity).quantize(Decimal("0.01")),
                sku=str(item.get("sku") or "")[:64],
                provider_id=str(item.get("id") or ""),
                total_discount=(subtotal - money(item.get("total"), "line item total")),
            )
        )
    total = money(order.get("total"), "total")
    payments = ()
    gateway = GATEWAYS.get(str(order.get("payment_method") or ""))
    if gateway and order.get("transaction_id"):
        paid_at = gmt(order.get("date_paid_gmt"))
        payments = (
            PaymentIn(
                gateway=gateway,
                provider_id=str(order["transaction_id"])[:64],
                amount=total,
                currency=currency,
                status=Payment.Status.SUCCEEDED if paid_at else Payment.Status.PENDING,
                captured=paid_at is not None,
                created_at=paid_at or created,
                method=Payment.Method.PAYPAL
                if gateway == Payment.Gateway.PAYPAL
                else Payment.Method.CARD,
            ),
        )
    shipping_lines = order.get("shipping_lines") or []
    return OrderIn(
        number=f"#{order.get('number') or order['id']}",
        provider_id=str(order["id"]),
        created_at=created,
        currency=currency,
        subtotal_price=sum((item.price * item.quantity for item in items), Decimal("0.00")),
        total_price=total,
        total_discounts=money(order.get("discount_total"), "discount_total"),
        total_shipping=money(order.get("shipping_total"), "shipping_total"),
        total_tax=money(order.get("total_tax"), "total_tax"),
        email=email,
        phone=str((order.get("billing") or {}).get("phone") or "")[:32],
        customer=CustomerIn(
            email=email,
            first_name=billing.get("first_name", ""),
            last_name=billing.get("last_name", ""),
            provider_id=str(order.get("customer_id") or "") if order.get("customer_id") else "",
            default_address=billing,
            created_at=created,
        )
        if email
        else None,
        financial_status=financial,
        fulfillment_status=fulfillment,
        processed_at=gmt(order.get("date_paid_gmt")),
        cancelled_at=gmt(order.get("date_modified_gmt"))
        if order.get("status") == "cancelled"
        else None,
        discount_codes=tuple(
            {"code": str(line.get("code") or ""), "amount": str(line.get("discount") or "0")}
            for line in order.get("coupon_lines") or []
        ),
        shipping_method=str(shipping_lines[0].get("method_title") or "")[:120]
        if shipping_lines
        else "",
        shipping_method_code=str(shipping_lines[0].get("method_id") or "")[:64]
        if shipping_lines
        else "",
        billing_address=billing,
        shipping_address=_address(order.get("shipping")),
        browser_ip=str(order.get("customer_ip_address") or "") or None,
        user_agent=str(order.get("customer_user_agent") or "")[:400],
        source_name=str(order.get("created_via") or "web")[:40],
        note=str(order.get("customer_note") or ""),
        line_items=tuple(items),
        payments=payments,
        updated_at=gmt(order.get("date_modified_gmt")),
    )
