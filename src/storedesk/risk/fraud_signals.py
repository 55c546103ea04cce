"""The named risk signals of an order: what rules read, the model learns from and reviewers see.

Every signal is declared once below with its type and meaning (shown in the rule editor), and
computed from an `OrderFacts` record, which the facts queries build for one order or for a
whole batch in a few set-based queries. A value that cannot be known is None, never a guess.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.utils.translation import gettext, gettext_noop

from storedesk.risk.language import ValueType
from storedesk.risk.reference import (
    GeoIp,
    distance_km,
    geoip,
    is_disposable_domain,
    phone_facts,
    zip_place,
)

HIGH_VALUE_ITEM_USD = Decimal("500")
HIGH_RISK_MATERIALS = {"solid_gold"}


@dataclass(frozen=True)
class SignalSpec:
    name: str
    type: ValueType
    description: str  # in English, as the API and the rule editor's search see it
    window: str = ""  # velocity signals: the description is `meaning` in this window

    @property
    def label(self) -> str:
        """The description in the viewer's language."""
        if self.window:
            text = gettext(
                "%(meaning)s in the %(window)s before this order (this order not counted)"
            )
            return text % {
                "meaning": gettext(self.meaning),
                "window": self.window,
            }
        return gettext(self.description)

    @property
    def meaning(self) -> str:
        return VELOCITY_COUNTS[self.name.removesuffix(f"_{self.window}")] if self.window else ""


@dataclass
class PaymentFacts:
    gateway: str = ""
    card_country: str = ""
    card_fingerprint: str = ""
    card_funding: str = ""
    avs_line1_check: str = ""
    avs_postal_check: str = ""
    cvc_check: str = ""
    three_d_secure_result: str = ""
    risk_level: str = ""
    risk_score: int | None = None
    payer_status: str = ""
    seller_protection: str = ""


@dataclass
class LineFacts:
    quantity: int
    price_usd: Decimal
    material: str = ""


@dataclass
class OrderFacts:
    """What is known about an order when it is scored; built by `risk.facts`."""

    amount_usd: Decimal | None
    created_at: datetime
    email: str = ""
    phone: str = ""
    billing_address: dict = field(default_factory=dict)
    shipping_address: dict = field(default_factory=dict)
    customer_first_name: str = ""
    customer_last_name: str = ""
    browser_ip: str | None = None
    is_expedited: bool = False
    lines: list[LineFacts] = field(default_factory=list)
    payment: PaymentFacts | None = None
    declined_attempts: int = 0
    prior_orders: int = 0
    prior_spent_usd: Decimal = Decimal("0")
    prior_disputes: int = 0
    order_disputes: int = 0
    prior_early_fraud_warnings: int = 0
    order_early_fraud_warnings: int = 0
    tickets_about_order: int = 0
    email_first_seen_at: datetime | None = None
    amount_percentile_store: float | None = None
    amount_percentile_customer: float | None = None
    velocity: dict[str, int] = field(default_factory=dict)
    forwarder_match: bool | None = None


SIGNALS: dict[str, SignalSpec] = {}
_COMPUTE: dict[str, Callable[[OrderFacts, dict], object]] = {}


def signal(name: str, value_type: ValueType, description: str):
    def register(function):
        SIGNALS[name] = SignalSpec(name, value_type, description)
        _COMPUTE[name] = function
        return function

    return register


N, T, B = ValueType.NUMBER, ValueType.TEXT, ValueType.BOOLEAN

VELOCITY_WINDOWS = {"1h": 1, "24h": 24, "7d": 24 * 7}
VELOCITY_COUNTS = {
    "orders_per_email": gettext_noop("orders with the same email"),
    "orders_per_ip": gettext_noop("orders from the same IP address"),
    "orders_per_card": gettext_noop("orders paid with the same card (fingerprint)"),
    "orders_per_shipping_address": gettext_noop("orders shipped to the same address"),
    "cards_per_email": gettext_noop("distinct cards used with the same email"),
    "emails_per_card": gettext_noop("distinct emails used with the same card"),
    "emails_per_ip": gettext_noop("distinct emails from the same IP address"),
    "declines_per_ip": gettext_noop("declined payments from the same IP address"),
}
VELOCITY_SIGNALS: list[str] = []  # read straight from `OrderFacts.velocity` (None: no key)
for _count, _meaning in VELOCITY_COUNTS.items():
    for _window in VELOCITY_WINDOWS:
        _name = f"{_count}_{_window}"
        SIGNALS[_name] = SignalSpec(
            _name,
            N,
            f"{_meaning} in the {_window} before this order (this order not counted)",
            window=_window,
        )
        VELOCITY_SIGNALS.append(_name)


# --- Amount and customer history --------------------------------------------------------------


@signal("amount_usd", N, gettext_noop("order total in US dollars"))
def _amount(facts, _):
    return facts.amount_usd


@signal(
    "amount_percentile_store",
    N,
    gettext_noop("where the total falls among this store's orders (0-100)"),
)
def _percentile_store(facts, _):
    return facts.amount_percentile_store


@signal(
    "amount_percentile_customer",
    N,
    gettext_noop("where the total falls among this customer's earlier orders (0-100)"),
)
def _percentile_customer(facts, _):
    return facts.amount_percentile_customer


@signal("is_first_order", B, gettext_noop("the customer has no earlier order"))
def _first_order(facts, _):
    return facts.prior_orders == 0


@signal("customer_orders_count", N, gettext_noop("the customer's earlier orders"))
def _prior_orders(facts, _):
    return facts.prior_orders


@signal("customer_total_spent_usd", N, gettext_noop("what the customer spent before this order"))
def _prior_spent(facts, _):
    return facts.prior_spent_usd


@signal(
    "customer_prior_disputes", N, gettext_noop("disputes the customer opened before this order")
)
def _prior_disputes(facts, _):
    return facts.prior_disputes


@signal(
    "customer_prior_early_fraud_warnings",
    N,
    gettext_noop("early fraud warnings on the customer's orders placed before this one"),
)
def _prior_warnings(facts, _):
    return facts.prior_early_fraud_warnings


# Facts that arrive after the order was placed; a dispute, an early fraud warning or a ticket
# linked to the order re-scores it. Rules may use them; the score model does not learn from
# them (they are what its labels are made of).
AFTER_THE_ORDER = ("order_disputes", "order_early_fraud_warnings", "tickets_about_order")


@signal("order_disputes", N, gettext_noop("disputes or inquiries opened on this order so far"))
def _order_disputes(facts, _):
    return facts.order_disputes


@signal(
    "order_early_fraud_warnings",
    N,
    gettext_noop("early fraud warnings the card issuer sent about this order's payments so far"),
)
def _order_warnings(facts, _):
    return facts.order_early_fraud_warnings


@signal("tickets_about_order", N, gettext_noop("support tickets linked to this order so far"))
def _order_tickets(facts, _):
    return facts.tickets_about_order


@signal(
    "hours_since_email_first_seen",
    N,
    gettext_noop("hours since the email was first seen by the store"),
)
def _email_age(facts, _):
    if not facts.email:
        return None  # no email: its age is unknown, not "brand new"
    if facts.email_first_seen_at is None:
        return 0
    return round((facts.created_at - facts.email_first_seen_at).total_seconds() / 3600, 1)


# --- Addresses ---------------------------------------------------------------------------------


def _country(address: dict) -> str | None:
    return (address.get("country_code") or "").upper() or None


def _state(address: dict) -> str | None:
    return (address.get("province_code") or "").upper() or None


_UNDECOMPOSED = str.maketrans({"đ": "d", "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "þ": "th"})


@lru_cache(maxsize=65536)
def folded(text: str) -> str:
    """Case and accents folded away ('José Müller' → 'jose muller', 'Weiß' → 'weiss'), so a name
    typed with or without diacritics, or in capitals, is the same name; other scripts are kept."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_UNDECOMPOSED))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _full_name(address: dict) -> str:
    name = address.get("name") or f"{address.get('first_name', '')} {address.get('last_name', '')}"
    return " ".join(folded(name).split())


@signal("billing_country", T, gettext_noop("billing country (ISO code)"))
def _billing_country(facts, cache):
    return _billing(facts, cache)


@signal("shipping_country", T, gettext_noop("shipping country (ISO code)"))
def _shipping_country(facts, _):
    return _country(facts.shipping_address)


@signal("shipping_state", T, gettext_noop("shipping state or province code"))
def _shipping_state(facts, _):
    return _state(facts.shipping_address)


def _both(facts) -> bool:
    return bool(facts.billing_address) and bool(facts.shipping_address)


@signal(
    "billing_shipping_country_differs",
    B,
    gettext_noop("billing and shipping are in different countries"),
)
def _country_differs(facts, cache):
    billing = _billing(facts, cache)
    if not _both(facts) or not billing:
        return None
    return billing != _country(facts.shipping_address)


@signal(
    "billing_shipping_state_differs",
    B,
    gettext_noop("billing and shipping are in different states"),
)
def _state_differs(facts, _):
    if not _both(facts) or not _state(facts.billing_address):
        return None
    return _state(facts.billing_address) != _state(facts.shipping_address)


@signal(
    "billing_shipping_name_differs", B, gettext_noop("the billing name is not the shipping name")
)
def _name_differs(facts, _):
    billing, shipping = _full_name(facts.billing_address), _full_name(facts.shipping_address)
    if not billing or not shipping:
        return None
    return billing != shipping


def _zip(address: dict):
    return zip_place(_country(address) or "", address.get("zip") or "")


def _billing(facts, cache) -> str | None:
    """The billing country, worked out once per order (a dozen signals read it)."""
    if "billing" not in cache:
        cache["billing"] = _country(facts.billing_address)
    return cache["billing"]


def _zips(facts, cache):
    if "zips" not in cache:
        cache["zips"] = (_zip(facts.billing_address), _zip(facts.shipping_address))
    return cache["zips"]


@signal(
    "distance_billing_shipping_km",
    N,
    gettext_noop("km between the billing and shipping ZIP centroids (US addresses only)"),
)
def _distance_billing_shipping(facts, cache):
    billing, shipping = _zips(facts, cache)
    return distance_km(billing, shipping)


@signal(
    "ships_to_freight_forwarder",
    B,
    gettext_noop("the shipping address is a known freight forwarder or reshipper"),
)
def _forwarder(facts, _):
    return facts.forwarder_match


@signal("is_expedited", B, gettext_noop("expedited or express shipping was chosen"))
def _expedited(facts, _):
    return facts.is_expedited


@signal(
    "expedited_first_order", B, gettext_noop("expedited shipping on the customer's first order")
)
def _expedited_first(facts, _):
    return facts.is_expedited and facts.prior_orders == 0


# --- IP ------------------------------------------------------------------------------------------


def _ip(facts, cache):
    if "ip" not in cache:
        reader: GeoIp = cache.get("geoip") or geoip()
        cache["ip"] = reader.lookup(facts.browser_ip)
    return cache["ip"]


@signal(
    "ip_country", T, gettext_noop("country of the buyer's IP (GeoIP; missing without a GeoIP file)")
)
def _ip_country(facts, cache):
    return _ip(facts, cache).country


@signal(
    "ip_is_anonymous",
    B,
    gettext_noop("the IP is a hosting, VPN, proxy or Tor address (when a list is set)"),
)
def _ip_anonymous(facts, cache):
    return _ip(facts, cache).is_anonymous


@signal("ip_country_differs_from_billing", B, gettext_noop("IP country is not the billing country"))
def _ip_vs_billing(facts, cache):
    ip_country, billing = _ip(facts, cache).country, _billing(facts, cache)
    return None if not ip_country or not billing else ip_country != billing


@signal(
    "distance_ip_shipping_km", N, gettext_noop("km between the IP's location and the shipping ZIP")
)
def _ip_shipping(facts, cache):
    place = _ip(facts, cache).place
    return None if place is None else distance_km(place, _zips(facts, cache)[1])


@signal(
    "distance_ip_billing_km", N, gettext_noop("km between the IP's location and the billing ZIP")
)
def _ip_billing(facts, cache):
    place = _ip(facts, cache).place
    return None if place is None else distance_km(place, _zips(facts, cache)[0])


# --- Email and phone ---------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _email_parts(email: str) -> tuple[str, str]:
    local, _, domain = (email or "").lower().rpartition("@")
    return local, domain


def _latin_letters(text: str) -> str:
    """The a-z letters of a name or an email's local part, accents folded ('Nguyễn' → 'nguyen');
    empty for a name in another script, which then cannot be compared (None, not a guess)."""
    return re.sub(r"[^a-z]", "", folded(text))


@signal(
    "email", T, gettext_noop("the order's email, lower-cased (for lists such as @blocked_emails)")
)
def _email(facts, _):
    return (facts.email or "").lower() or None


@signal("ip_address", T, gettext_noop("the buyer's IP address"))
def _ip_address(facts, _):
    return facts.browser_ip or None


@signal(
    "card_fingerprint",
    T,
    gettext_noop("the card's fingerprint (Stripe), for lists such as @blocked_cards"),
)
def _card_fingerprint(facts, _):
    return (facts.payment.card_fingerprint or None) if facts.payment else None


@signal("email_domain", T, gettext_noop("the part of the email after @"))
def _email_domain(facts, _):
    return _email_parts(facts.email)[1] or None


@signal(
    "is_disposable_email", B, gettext_noop("the email's domain is a disposable-address service")
)
def _disposable(facts, _):
    domain = _email_parts(facts.email)[1]
    return is_disposable_domain(domain) if domain else None


_VOWELS = set("aeiouy")


@lru_cache(maxsize=65536)  # a returning customer's email is measured once per process
def local_part_randomness(local: str) -> float:
    """0 for name-like local parts ('jane.doe'), towards 1 for 'xk7qz9wp2': digits, consonant
    runs and character entropy, without a dictionary."""
    letters = re.sub(r"[^a-z0-9]", "", local.lower())
    if len(letters) < 4:
        return 0.0
    digits = sum(char.isdigit() for char in letters) / len(letters)
    longest_consonants = max(
        (len(run) for run in re.findall(r"[b-df-hj-np-tv-xz]+", letters)), default=0
    )
    counts = Counter(letters)
    entropy = -sum(n / len(letters) * math.log2(n / len(letters)) for n in counts.values())
    max_entropy = math.log2(min(len(letters), 36))
    score = (
        0.35 * min(digits * 2, 1)
        + 0.35 * min(longest_consonants / 5, 1)
        + 0.3 * (entropy / max_entropy if max_entropy else 0)
    )
    if not any(char in _VOWELS for char in letters):
        score = max(score, 0.8)
    return round(min(score, 1.0), 2)


@signal(
    "email_randomness",
    N,
    gettext_noop("how random the email's local part looks (0 name-like, 1 random)"),
)
def _email_randomness(facts, _):
    local = folded(_email_parts(facts.email)[0])
    if not re.search(r"[a-z0-9]", local):
        return None  # empty, or in a script the measure cannot read: unknown, not "name-like"
    return Decimal(str(local_part_randomness(local)))


@signal(
    "email_name_mismatch",
    B,
    gettext_noop("neither the buyer's first nor last name appears in the email's local part"),
)
def _email_name_mismatch(facts, _):
    local = _latin_letters(_email_parts(facts.email)[0])
    names = [_latin_letters(part) for part in (facts.customer_first_name, facts.customer_last_name)]
    names = [name for name in names if len(name) >= 3]
    if not local or not names:
        return None
    return not any(name in local for name in names)


@signal("phone_valid", B, gettext_noop("the phone number is a valid number"))
def _phone_valid(facts, cache):
    return _phone(facts, cache)[0]


@signal(
    "phone_country_matches_billing",
    B,
    gettext_noop("the phone number belongs to the billing country"),
)
def _phone_country(facts, cache):
    valid, country = _phone(facts, cache)
    billing = _billing(facts, cache)
    return None if not valid or not billing else country == billing


_phone_facts = lru_cache(maxsize=65536)(phone_facts)  # parsing a number costs ~50 µs


def _phone(facts, cache):
    if "phone" not in cache:
        phone = facts.phone or facts.billing_address.get("phone") or ""
        cache["phone"] = _phone_facts(phone, _billing(facts, cache) or "US")
    return cache["phone"]


# --- Payment -------------------------------------------------------------------------------------


PAYMENT_SIGNALS: list[tuple[str, str]] = []  # (signal, PaymentFacts field); empty is None
for _name, _field, _meaning in [
    ("gateway", "gateway", gettext_noop("stripe, paypal or shopify_payments")),
    ("card_country", "card_country", gettext_noop("country of the card's issuer")),
    ("card_funding", "card_funding", gettext_noop("credit, debit or prepaid")),
    (
        "avs_line1_check",
        "avs_line1_check",
        gettext_noop("street address check: pass, fail, unavailable, unchecked"),
    ),
    (
        "avs_postal_check",
        "avs_postal_check",
        gettext_noop("ZIP check: pass, fail, unavailable, unchecked"),
    ),
    ("cvc_check", "cvc_check", gettext_noop("CVC check: pass, fail, unavailable, unchecked")),
    (
        "three_d_secure_result",
        "three_d_secure_result",
        gettext_noop("3-D Secure result, e.g. authenticated"),
    ),
    (
        "gateway_risk_level",
        "risk_level",
        gettext_noop("the gateway's risk level: normal, elevated, highest"),
    ),
    (
        "paypal_seller_protection",
        "seller_protection",
        gettext_noop("PayPal seller protection eligibility"),
    ),
]:
    SIGNALS[_name] = SignalSpec(_name, T, _meaning)
    PAYMENT_SIGNALS.append((_name, _field))


@signal("gateway_risk_score", N, gettext_noop("the gateway's own risk score (Stripe Radar 0-100)"))
def _gateway_score(facts, _):
    return facts.payment.risk_score if facts.payment else None


@signal("is_3d_secure_authenticated", B, gettext_noop("the card holder passed 3-D Secure"))
def _three_ds(facts, _):
    if not facts.payment or facts.payment.gateway == "paypal":
        return None
    return facts.payment.three_d_secure_result in {"authenticated", "attempt_acknowledged"}


@signal(
    "card_country_differs_from_ip", B, gettext_noop("the card's country is not the IP's country")
)
def _card_vs_ip(facts, cache):
    card = facts.payment.card_country if facts.payment else ""
    ip_country = _ip(facts, cache).country
    return None if not card or not ip_country else card != ip_country


@signal(
    "card_country_differs_from_billing",
    B,
    gettext_noop("the card's country is not the billing country"),
)
def _card_vs_billing(facts, cache):
    card = facts.payment.card_country if facts.payment else ""
    billing = _billing(facts, cache)
    return None if not card or not billing else card != billing


@signal(
    "declined_attempts",
    N,
    gettext_noop("declined payment attempts on this order before it was paid"),
)
def _declines(facts, _):
    return facts.declined_attempts


# --- Items -----------------------------------------------------------------------------------


@signal(
    "high_risk_items_quantity",
    N,
    gettext_noop("units of solid gold or items priced over $500 in the order"),
)
def _high_risk_items(facts, _):
    return sum(
        line.quantity
        for line in facts.lines
        if line.material in HIGH_RISK_MATERIALS or line.price_usd >= HIGH_VALUE_ITEM_USD
    )


@signal("items_quantity", N, gettext_noop("units in the order"))
def _items(facts, _):
    return sum(line.quantity for line in facts.lines)


# ---------------------------------------------------------------------------------------------


def signal_types() -> dict[str, ValueType]:
    """For checking rules: every signal name and its type."""
    return {name: spec.type for name, spec in SIGNALS.items()}


_NUMERIC: list[tuple[str, Callable]] = []  # signals that may return int/float (→ Decimal)
_OTHER: list[tuple[str, Callable]] = []


def _split_by_type() -> None:
    for name, compute in _COMPUTE.items():
        (_NUMERIC if SIGNALS[name].type == N else _OTHER).append((name, compute))


def compute_signals(facts: OrderFacts, reader: GeoIp | None = None) -> dict[str, object]:
    """Every signal's value for one order (None where it cannot be known); numbers as
    Decimal, the type the rules compare."""
    if not _NUMERIC:
        _split_by_type()
    cache: dict = {"geoip": reader} if reader is not None else {}
    velocity = facts.velocity
    values: dict[str, object] = {
        name: (Decimal(velocity[name]) if name in velocity else None) for name in VELOCITY_SIGNALS
    }
    payment = facts.payment
    for name, attribute in PAYMENT_SIGNALS:
        values[name] = (getattr(payment, attribute) or None) if payment is not None else None
    for name, compute in _OTHER:
        values[name] = compute(facts, cache)
    for name, compute in _NUMERIC:
        value = compute(facts, cache)
        kind = type(value)
        if kind is int:
            value = Decimal(value)
        elif kind is float or (isinstance(value, int | float) and kind is not bool):
            value = Decimal(str(value))
        values[name] = value
    return values
