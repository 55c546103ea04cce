"""Which orders a message is about: order numbers in the forms customers write them, carrier
tracking numbers, and, when none is named, the sender's own recent orders.

Extraction is pure text work; `resolve_for_sender` is the only place that touches orders, and it
returns only orders of the sender (same customer or same email): an order number of another
customer is neither linked nor described, so a message cannot be used to look orders up.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from storedesk.desk.numbering import subject_token_pattern

# Keywords customers put before an order number, typos included ("oder", "purchse").
_ORDER_WORD = r"(?:order|ordr|oder|orders|purchase|purchse|purchace|pedido|confirmation)"
_ORDER_LABEL = r"(?:\s*(?:no\.?|num(?:ber)?\.?|nr\.?|id|ref(?:erence)?|#|:|is|was))*"
ORDER_AFTER_WORD = re.compile(
    rf"\b{_ORDER_WORD}{_ORDER_LABEL}\s*#?\s*(?P<prefix>[A-Za-z]{{2,3}}-?)?(?P<digits>\d{{4,20}})\b",
    re.IGNORECASE,
)
ORDER_WITH_PREFIX = re.compile(r"#?\b(?P<prefix>TP)-?\s?(?P<digits>\d{4,12})\b", re.IGNORECASE)
ORDER_HASH = re.compile(r"(?<![\w&])#\s?(?P<digits>\d{4,20})\b")

# Carrier tracking formats (USPS, UPS, FedEx, DHL, Vietnam Post / UPU S10).
TRACKING_PATTERNS = [
    (
        "UPS",
        re.compile(
            r"\b1Z\s?[0-9A-Z]{3}\s?[0-9A-Z]{3}\s?[0-9A-Z]{2}\s?[0-9A-Z]{4}\s?[0-9A-Z]{4}\b", re.I
        ),
    ),
    ("USPS", re.compile(r"\b(?:9[1-5]\d{2}\s?(?:\d{4}\s?){4}\d{2}(?:\d{2})?)\b")),
    ("USPS", re.compile(r"\b(?:420\d{5}\s?)?(?:9[1-5]\d{18,20})\b")),
    ("VNPost", re.compile(r"\b[A-Z]{2}\d{9}VN\b")),
    ("USPS", re.compile(r"\b[A-Z]{2}\d{9}US\b")),
    ("DHL", re.compile(r"\bJ(?:JD|VGL)\d{10,18}\b", re.I)),
]
# Digits only numbers that are tracking numbers when a carrier or "tracking" is said nearby.
TRACKING_CONTEXT = re.compile(
    r"\b(?P<carrier>tracking|track|fedex|fed ex|dhl|usps|ups|vnpost|vn post|shipment)\b"
    r"[^\d\n]{0,30}?(?P<digits>\d{10,22})\b",
    re.IGNORECASE,
)
BARE_NUMBER = re.compile(r"(?<![\w$.,#/-])(?P<digits>\d{6,20})(?![\w.,/-]*\d)")
# A bare number right after these words is something else than an order.
NOT_AN_ORDER = re.compile(
    r"\b(?:invoice|bill|receipt|account|acct|phone|tel|call|text|zip|postal|card|routing|"
    r"member(?:ship)?|customer|ticket|case|case number|id)\W*(?:no\.?|number|#|nr|id)?\W*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OrderRef:
    kind: str  # "order" or "tracking"
    value: str  # normalised: "TP10234", "10234", "1Z999AA10123456784"
    text: str  # as written
    carrier: str = ""
    explicit: bool = True  # False for a bare number guessed to be an order

    def as_dict(self) -> dict:
        found = {"kind": self.kind, "value": self.value, "text": self.text}
        if self.carrier:
            found["carrier"] = self.carrier
        if not self.explicit:
            found["explicit"] = False
        return found


def extract_refs(text: str) -> list[OrderRef]:
    """Every order and tracking number in the text, in order of appearance, without repeats."""
    found: list[tuple[int, OrderRef]] = []
    taken: list[range] = []

    def add(start: int, end: int, ref: OrderRef) -> None:
        if any(start < span.stop and span.start < end for span in taken):
            return
        taken.append(range(start, end))
        found.append((start, ref))

    # A ticket reference ('[#SD-1234]', or a legacy '[#TP-1234]' that reads like an order
    # number) names a ticket, never an order.
    taken.extend(range(m.start(), m.end()) for m in subject_token_pattern().finditer(text))
    for carrier, pattern in TRACKING_PATTERNS:
        for m in pattern.finditer(text):
            value = re.sub(r"\s", "", m.group(0)).upper()
            add(m.start(), m.end(), OrderRef("tracking", value, m.group(0), carrier=carrier))
    for m in TRACKING_CONTEXT.finditer(text):
        word = m.group("carrier").lower().replace(" ", "")
        carrier = {"fedex": "FedEx", "dhl": "DHL", "usps": "USPS", "ups": "UPS"}.get(word, "")
        carrier = carrier or ("VNPost" if word == "vnpost" else "")
        add(
            m.start("digits"),
            m.end("digits"),
            OrderRef("tracking", m.group("digits"), m.group("digits"), carrier=carrier),
        )
    for pattern in (ORDER_WITH_PREFIX, ORDER_AFTER_WORD, ORDER_HASH):
        for m in pattern.finditer(text):
            if pattern is ORDER_HASH and _not_an_order(text, m.start()):
                continue
            prefix = (m.groupdict().get("prefix") or "").rstrip("-").upper()
            value = prefix + m.group("digits")
            add(m.start("digits"), m.end("digits"), OrderRef("order", value, m.group(0).strip()))
    for m in BARE_NUMBER.finditer(text):
        if _not_an_order(text, m.start()):
            continue
        add(
            m.start(),
            m.end(),
            OrderRef("order", m.group("digits"), m.group("digits"), explicit=False),
        )
    unique: dict[tuple[str, str], OrderRef] = {}
    for _, ref in sorted(found, key=lambda item: item[0]):
        unique.setdefault((ref.kind, ref.value), ref)
    return list(unique.values())


def _not_an_order(text: str, start: int) -> bool:
    return bool(NOT_AN_ORDER.search(text[max(0, start - 30) : start]))


def order_number_keys(value: str, prefix: str) -> list[str]:
    """The Order.number_key values a written number may mean: as written, and with the
    store's prefix when only digits were written ("10234" → "TP10234")."""
    value = value.upper()
    keys = [value]
    if value.isdigit() and prefix:
        keys.append(prefix + value)
    return keys


RECENT_ORDERS_DAYS = 60
RECENT_ORDERS_LIMIT = 3


@dataclass
class SenderOrders:
    named: list  # orders of the sender that the message names
    recent: list  # the sender's recent orders, when the message names none of theirs
    foreign_refs: int  # numbers that exist but belong to someone else (never described)


def _sender_filter(email: str, customer_id: int | None) -> Q:
    match = Q(email__iexact=email) if email else Q(pk__in=[])
    if customer_id:
        match |= Q(customer_id=customer_id)
    return match


def resolve_for_sender(refs: list[OrderRef], *, email: str, customer_id: int | None, store):
    """The sender's orders the refs point at, or their recent ones when none is named."""
    from storedesk.commerce.models import Order

    email = (email or "").strip().lower()
    if store is None or not (email or customer_id):
        return SenderOrders([], [], 0)
    prefix = store.order_number_prefix.lstrip("#").upper()
    keys = {
        key for ref in refs if ref.kind == "order" for key in order_number_keys(ref.value, prefix)
    }
    tracking = {ref.value for ref in refs if ref.kind == "tracking"}
    mine = _sender_filter(email, customer_id)
    named, foreign = [], 0
    if keys or tracking:
        wanted = Q(number_key__in=keys) | Q(shipments__tracking_number__in=tracking)
        matches = list(
            Order.objects.filter(wanted, store=store)
            .distinct()
            .only("pk", "number", "email", "customer_id", "created_at")
        )
        named = [order for order in matches if _belongs(order, email, customer_id)]
        foreign = len(matches) - len(named)
    recent = []
    if not named:
        since = timezone.now() - timedelta(days=RECENT_ORDERS_DAYS)
        recent = list(
            Order.objects.filter(mine, store=store, created_at__gte=since)
            .order_by("-created_at")
            .only("pk", "number", "created_at")[:RECENT_ORDERS_LIMIT]
        )
    return SenderOrders(named, recent, foreign)


def _belongs(order, email: str, customer_id: int | None) -> bool:
    return bool(
        (email and (order.email or "").lower() == email)
        or (customer_id and order.customer_id == customer_id)
    )
