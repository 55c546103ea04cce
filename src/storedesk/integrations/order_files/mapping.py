"""Order-file rows → `commerce.ingest.OrderIn`, with every refused row and why.

Two layouts are understood:

- **Shopify's own order export** (Orders → Export → CSV), as downloaded: one row per line item,
  the order's fields on its first row, `Name` repeated on every row.
- **The generic layout** (docs in README "Import orders from a file"): `order_number, email,
  created_at, total, currency` at least, and optional customer, address, line-item, payment and
  tracking columns; several rows with one order number are one order with several items.

Both are first renamed to the generic column names, then read by one mapper. An order with a
bad row is refused whole (a half-imported order is worse than none): its bad rows are reported
with their reasons, its other rows as refused with it.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.commerce.ingest import (
    CustomerIn,
    LineItemIn,
    OrderIn,
    PaymentIn,
    ShipmentIn,
    number_key,
)
from storedesk.commerce.models import Order, Payment
from storedesk.core.currencies import ISO_4217
from storedesk.core.money import currency_exponent
from storedesk.integrations.order_files.reader import OrderFileError, Row

SHOPIFY = "shopify_export"
GENERIC = "generic"

# Shopify's export column → the generic column it carries.
SHOPIFY_COLUMNS = {
    "Name": "order_number",
    "Email": "email",
    "Financial Status": "financial_status",
    "Paid at": "paid_at",
    "Fulfillment Status": "fulfillment_status",
    "Fulfilled at": "fulfilled_at",
    "Accepts Marketing": "accepts_marketing",
    "Currency": "currency",
    "Subtotal": "subtotal",
    "Shipping": "shipping",
    "Taxes": "tax",
    "Total": "total",
    "Discount Code": "discount_code",
    "Discount Amount": "discount",
    "Shipping Method": "shipping_method",
    "Created at": "created_at",
    "Lineitem quantity": "item_quantity",
    "Lineitem name": "item_title",
    "Lineitem price": "item_price",
    "Lineitem sku": "item_sku",
    "Lineitem discount": "item_discount",
    "Billing Name": "billing_name",
    "Billing Address1": "billing_address1",
    "Billing Address2": "billing_address2",
    "Billing Company": "billing_company",
    "Billing City": "billing_city",
    "Billing Zip": "billing_zip",
    "Billing Province": "billing_province_code",
    "Billing Country": "billing_country",
    "Billing Phone": "billing_phone",
    "Shipping Name": "shipping_name",
    "Shipping Address1": "shipping_address1",
    "Shipping Address2": "shipping_address2",
    "Shipping Company": "shipping_company",
    "Shipping City": "shipping_city",
    "Shipping Zip": "shipping_zip",
    "Shipping Province": "shipping_province_code",
    "Shipping Country": "shipping_country",
    "Shipping Phone": "shipping_phone",
    "Notes": "note",
    "Cancelled at": "cancelled_at",
    "Payment Method": "payment_method",
    "Payment Reference": "payment_reference",
    "Payment ID": "payment_id",
    "Id": "provider_id",
    "Tags": "tags",
    "Source": "source",
    "Phone": "phone",
}
SHOPIFY_REQUIRED = ("Name", "Email", "Created at", "Total", "Currency", "Lineitem quantity")

GENERIC_REQUIRED = ("order_number", "email", "created_at", "total", "currency")
ADDRESS_PARTS = ("name", "address1", "address2", "company", "city", "province_code", "zip")
GENERIC_OPTIONAL = (
    "subtotal",
    "shipping",
    "tax",
    "discount",
    "discount_code",
    "financial_status",
    "fulfillment_status",
    "cancelled_at",
    "tags",
    "note",
    "shipping_method",
    "source",
    "phone",
    "first_name",
    "last_name",
    "accepts_marketing",
    *(f"{kind}_{part}" for kind in ("shipping", "billing") for part in ADDRESS_PARTS),
    "shipping_country",
    "shipping_phone",
    "billing_country",
    "billing_phone",
    "item_title",
    "item_sku",
    "item_quantity",
    "item_price",
    "item_discount",
    "payment_gateway",
    "payment_id",
    "payment_amount",
    "paid_at",
    "carrier",
    "service",
    "tracking_number",
    "tracking_url",
    "shipped_at",
)
GENERIC_COLUMNS = (*GENERIC_REQUIRED, *GENERIC_OPTIONAL)

# Shopify's "Payment Method" (the gateway's display name) → our gateway.
GATEWAYS = {
    "shopify payments": Payment.Gateway.SHOPIFY_PAYMENTS,
    "shopify_payments": Payment.Gateway.SHOPIFY_PAYMENTS,
    "paypal": Payment.Gateway.PAYPAL,
    "paypal express checkout": Payment.Gateway.PAYPAL,
    "stripe": Payment.Gateway.STRIPE,
}
PAID_STATUSES = {"paid", "partially_refunded", "refunded", "partially_paid"}
TRUE_WORDS = {"yes", "true", "1", "y"}
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%m/%d/%Y %H:%M", "%m/%d/%Y")
AMOUNT = re.compile(r"^(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?$")
LATEST_FUTURE = timedelta(days=1)


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ParsedOrder:
    """A whole order from its rows, or the problems that refuse it."""

    number: str
    lines: list[int]
    order: OrderIn | None = None
    problems: list[RowProblem] = field(default_factory=list)


class RowError(ValueError):
    """One value of a row is wrong; the message says which and why."""


def detect_layout(header: list[str]) -> str:
    columns = set(header)
    if "Name" in columns and "Lineitem quantity" in columns:
        missing = [name for name in SHOPIFY_REQUIRED if name not in columns]
        layout = SHOPIFY
    else:
        missing = [name for name in GENERIC_REQUIRED if name not in columns]
        layout = GENERIC
    if missing:
        raise OrderFileError(
            _("Missing columns: %(columns)s. Expected Shopify's order export or %(generic)s.")
            % {"columns": ", ".join(missing), "generic": ", ".join(GENERIC_REQUIRED)}
        )
    return layout


def to_generic(layout: str, row: Row) -> Row:
    if layout == GENERIC:
        return row
    return {generic: row[name] for name, generic in SHOPIFY_COLUMNS.items() if name in row}


def parse_orders(
    layout: str, rows: Iterable[tuple[int, Row]], store_timezone: str
) -> Iterator[ParsedOrder]:
    """Group consecutive rows by order number and map each group; streamed, group by group.

    An order number met again after other orders is refused (its rows must be together, as
    Shopify writes them), so an order never silently merges two halves of a file.
    """
    zone = ZoneInfo(store_timezone)
    seen: dict[str, int] = {}
    group: list[tuple[int, Row]] = []
    group_key = None
    for line, raw in rows:
        row = {key: _clean(value) for key, value in to_generic(layout, raw).items()}
        number = str(row.get("order_number") or "")
        key = number_key(number)
        if not key:
            yield ParsedOrder("", [line], problems=[RowProblem(line, _("no order number"))])
            continue
        if key != group_key:
            if group:
                yield _parse_group(layout, group, zone)
            if key in seen:
                yield ParsedOrder(
                    number,
                    [line],
                    problems=[
                        RowProblem(
                            line,
                            _(
                                "order %(number)s already began at line %(first)d; its rows "
                                "must be next to each other"
                            )
                            % {"number": number, "first": seen[key]},
                        )
                    ],
                )
                group, group_key = [], None
                continue
            seen[key] = line
            group, group_key = [], key
        group.append((line, row))
    if group:
        yield _parse_group(layout, group, zone)


def _clean(value):
    if isinstance(value, str):
        value = value.strip()
        # Shopify prefixes zips (and other digit strings) with ' so Excel keeps leading zeros.
        return value[1:] if value.startswith("'") else value
    return value


def _parse_group(layout: str, group: list[tuple[int, Row]], zone: ZoneInfo) -> ParsedOrder:
    first_line, first = group[0]
    number = str(first["order_number"])
    parsed = ParsedOrder(number, [line for line, _row in group])
    try:
        header = _order_fields(layout, first, zone)
    except RowError as error:
        parsed.problems.append(RowProblem(first_line, str(error)))
        header = None
    currency = header["currency"] if header else "USD"
    items, payments, shipments = [], {}, {}
    for line, row in group:
        try:
            item = _line_item(row, currency)
            payment = _payment(layout, row, header, zone) if header else None
            shipment = _shipment(row, zone)
        except RowError as error:
            parsed.problems.append(RowProblem(line, str(error)))
            continue
        if item is not None:
            items.append(item)
        if payment is not None:
            payments.setdefault((payment.gateway, payment.provider_id), payment)
        if shipment is not None:
            shipments.setdefault(shipment.tracking_number, shipment)
    if parsed.problems:
        bad = {problem.line for problem in parsed.problems}
        first_bad = min(bad)
        parsed.problems.extend(
            RowProblem(
                line,
                _("refused with order %(number)s (see line %(line)d)")
                % {"number": number, "line": first_bad},
            )
            for line, _row in group
            if line not in bad
        )
        parsed.problems.sort(key=lambda problem: problem.line)
        return parsed
    if shipments and header["fulfillment_status"] == Order.FulfillmentStatus.UNFULFILLED:
        header["fulfillment_status"] = Order.FulfillmentStatus.FULFILLED
    parsed.order = OrderIn(
        **header,
        line_items=tuple(items),
        payments=tuple(payments.values()),
        shipments=tuple(shipments.values()),
    )
    return parsed


def _order_fields(layout: str, row: Row, zone: ZoneInfo) -> dict:
    currency = parse_currency(row.get("currency"))
    total = parse_amount(row.get("total"), currency, "total")
    email = parse_email(row.get("email"), required=layout == GENERIC)
    created_at = parse_datetime(row.get("created_at"), zone, "created_at")
    shipping_address = _address(row, "shipping")
    billing_address = _address(row, "billing")
    customer = None
    if email:
        first_name, last_name = row.get("first_name") or "", row.get("last_name") or ""
        if not (first_name or last_name):
            source = billing_address or shipping_address
            first_name, last_name = source.get("first_name", ""), source.get("last_name", "")
        customer = CustomerIn(
            email=email,
            first_name=first_name,
            last_name=last_name,
            phone=str(row.get("phone") or "")[:32],
            default_address=billing_address or shipping_address,
            accepts_marketing=str(row.get("accepts_marketing") or "").lower() in TRUE_WORDS,
            created_at=created_at,
        )
    financial_status = str(row.get("financial_status") or "").lower() or (
        "paid" if layout == GENERIC else "pending"
    )
    if financial_status not in Order.FinancialStatus.values:
        raise RowError(_("unknown financial status “%(value)s”") % {"value": financial_status})
    fulfillment_status = str(row.get("fulfillment_status") or "").lower() or "unfulfilled"
    if fulfillment_status == "partially_fulfilled":
        fulfillment_status = Order.FulfillmentStatus.PARTIAL
    if fulfillment_status not in Order.FulfillmentStatus.values:
        raise RowError(_("unknown fulfillment status “%(value)s”") % {"value": fulfillment_status})
    code = str(row.get("discount_code") or "")
    discount = parse_amount(row.get("discount"), currency, "discount", default=Decimal(0))
    shipping = parse_amount(row.get("shipping"), currency, "shipping", default=Decimal(0))
    tax = parse_amount(row.get("tax"), currency, "tax", default=Decimal(0))
    return {
        "number": str(row["order_number"])[:32],
        "provider_id": str(row.get("provider_id") or "")[:64],
        "created_at": created_at,
        "currency": currency,
        "total_price": total,
        "subtotal_price": parse_amount(row.get("subtotal"), currency, "subtotal", default=total),
        "total_discounts": discount,
        "total_shipping": shipping,
        "total_tax": tax,
        "discount_codes": ({"code": code, "amount": str(discount), "type": "fixed_amount"},)
        if code
        else (),
        "email": email,
        "phone": str(row.get("phone") or "")[:32],
        "customer": customer,
        "financial_status": financial_status,
        "fulfillment_status": fulfillment_status,
        "cancelled_at": parse_datetime(row.get("cancelled_at"), zone, "cancelled_at", empty=True),
        "shipping_method": str(row.get("shipping_method") or "")[:120],
        "shipping_address": shipping_address,
        "billing_address": billing_address,
        "source_name": str(row.get("source") or "web")[:40],
        "tags": tuple(tag.strip() for tag in str(row.get("tags") or "").split(",") if tag.strip()),
        "note": str(row.get("note") or ""),
    }


def _address(row: Row, kind: str) -> dict:
    """Shopify's address keys; the export's single 'Name' is split at its last space."""
    values = {part: str(row.get(f"{kind}_{part}") or "") for part in ADDRESS_PARTS}
    values["country_code"] = str(row.get(f"{kind}_country") or "").upper()[:2]
    values["phone"] = str(row.get(f"{kind}_phone") or "")
    name = values.pop("name")
    if not any(values.values()) and not name:
        return {}
    first, _space, last = name.rpartition(" ") if " " in name else ("", "", name)
    values["first_name"], values["last_name"] = (first, last) if first else (name, "")
    return {key: value for key, value in values.items() if value}


def _line_item(row: Row, currency: str) -> LineItemIn | None:
    title = str(row.get("item_title") or "")
    if not title:
        return None
    raw_quantity = str(row.get("item_quantity") or "1")
    if not raw_quantity.isdigit() or int(raw_quantity) < 1:
        raise RowError(
            _("quantity “%(value)s” is not a whole number ≥ 1") % {"value": raw_quantity}
        )
    return LineItemIn(
        title=title[:200],
        quantity=int(raw_quantity),
        price=parse_amount(row.get("item_price"), currency, "item_price"),
        sku=str(row.get("item_sku") or "")[:64],
        total_discount=parse_amount(
            row.get("item_discount"), currency, "item_discount", default=Decimal(0)
        ),
    )


def _payment(layout: str, row: Row, header: dict, zone: ZoneInfo) -> PaymentIn | None:
    """A payment when the file names the gateway and the gateway's id for it."""
    if layout == SHOPIFY:
        method = str(row.get("payment_method") or "").split("+")[0].strip().lower()
        gateway = GATEWAYS.get(method)
        provider_id = str(row.get("payment_id") or row.get("payment_reference") or "")
    else:
        raw_gateway = str(row.get("payment_gateway") or "").lower()
        gateway = GATEWAYS.get(raw_gateway)
        if raw_gateway and gateway is None:
            raise RowError(
                _("unknown payment gateway “%(value)s” (stripe, paypal or shopify_payments)")
                % {"value": raw_gateway}
            )
        provider_id = str(row.get("payment_id") or "")
    if not gateway or not provider_id:
        return None
    paid = header["financial_status"] in PAID_STATUSES
    currency = header["currency"]
    return PaymentIn(
        gateway=gateway,
        provider_id=provider_id[:64],
        amount=parse_amount(
            row.get("payment_amount"), currency, "payment_amount", default=header["total_price"]
        ),
        currency=currency,
        status=Payment.Status.SUCCEEDED if paid else Payment.Status.PENDING,
        captured=paid,
        method=Payment.Method.PAYPAL if gateway == Payment.Gateway.PAYPAL else Payment.Method.CARD,
        created_at=parse_datetime(row.get("paid_at"), zone, "paid_at", empty=True)
        or header["created_at"],
    )


def _shipment(row: Row, zone: ZoneInfo) -> ShipmentIn | None:
    tracking = str(row.get("tracking_number") or "")
    if not tracking:
        return None
    return ShipmentIn(
        carrier=str(row.get("carrier") or "")[:40],
        service=str(row.get("service") or "")[:60],
        tracking_number=tracking[:64],
        tracking_url=str(row.get("tracking_url") or ""),
        status="in_transit",
        shipped_at=parse_datetime(row.get("shipped_at"), zone, "shipped_at", empty=True),
    )


# --- Values ------------------------------------------------------------------------------------


def parse_currency(value) -> str:
    code = str(value or "").strip().upper()
    if code not in ISO_4217:
        raise RowError(_("currency “%(value)s” is not an ISO 4217 code") % {"value": value or ""})
    return code


def parse_amount(value, currency: str, column: str, *, default: Decimal | None = None) -> Decimal:
    text = str(value if value is not None else "").strip().lstrip("$").strip()
    if not text:
        if default is not None:
            return default
        raise RowError(_("%(column)s is empty") % {"column": column})
    if not AMOUNT.match(text):
        raise RowError(
            _("%(column)s “%(value)s” is not an amount") % {"column": column, "value": value}
        )
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise RowError(
            _("%(column)s “%(value)s” is not an amount") % {"column": column, "value": value}
        ) from None
    quantum = Decimal(1).scaleb(-currency_exponent(currency))
    if amount != amount.quantize(quantum):
        raise RowError(
            _("%(column)s %(value)s has more decimals than %(currency)s allows")
            % {"column": column, "value": text, "currency": currency}
        )
    return amount.quantize(quantum)


def parse_email(value, *, required: bool) -> str:
    email = str(value or "").strip().lower()
    if not email:
        if required:
            raise RowError(_("email is empty"))
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise RowError(_("“%(value)s” is not an email address") % {"value": value}) from None
    return email


def parse_datetime(value, zone: ZoneInfo, column: str, *, empty: bool = False) -> datetime | None:
    """Shopify's '2025-10-07 09:50:26 +0200', ISO 8601, or US 'MM/DD/YYYY [HH:MM]'; a time
    without an offset is in the store's zone."""
    if value in (None, ""):
        if empty:
            return None
        raise RowError(_("%(column)s is empty") % {"column": column})
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)  # noqa: DTZ001 - localised below
    else:
        moment = _parse_date_text(str(value))
        if moment is None:
            raise RowError(
                _("%(column)s “%(value)s” is not a date") % {"column": column, "value": value}
            )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=zone)
    moment = moment.astimezone(UTC)
    if moment > timezone.now() + LATEST_FUTURE:
        raise RowError(
            _("%(column)s %(value)s is in the future") % {"column": column, "value": value}
        )
    return moment


def _parse_date_text(text: str) -> datetime | None:
    text = text.strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern)  # noqa: DTZ007 - naive ones localised
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
