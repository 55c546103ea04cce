"""Build `OrderFacts` for a batch of orders in a fixed number of set-based queries.

One order (real time) and twenty thousand (the demo, a re-score) take the same path: load the
batch as plain rows (no model instances: they cost more than the queries), write its identity
keys, load the keyed history around it, and count velocity over sorted timestamps, so both
paths give the same numbers.
"""

from __future__ import annotations

import hashlib
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db.models import Count, F, FloatField, Max, Min, Q
from django.db.models.functions import Cast

from storedesk.commerce.models import LineItem, Order, Payment
from storedesk.core.bulk import bulk_insert
from storedesk.desk.models import Ticket
from storedesk.disputes.models import Dispute, EarlyFraudWarning
from storedesk.risk.fraud_signals import (
    VELOCITY_WINDOWS,
    LineFacts,
    OrderFacts,
    PaymentFacts,
)
from storedesk.risk.models import OrderIdentity

HISTORY = timedelta(days=7)
FORWARDER_LIST = "freight_forwarders"
_WINDOWS = [(window, timedelta(hours=hours)) for window, hours in VELOCITY_WINDOWS.items()]


def address_key(address: dict) -> str:
    """The same street address however it is typed ('Ste 5' vs 'STE 5', ZIP+4)."""
    if not address or not address.get("address1"):
        return ""
    parts = [
        address.get("address1", ""),
        address.get("address2", ""),
        (address.get("zip") or "")[:5],
        address.get("country_code", ""),
    ]
    text = " ".join(" ".join(parts).lower().replace(".", " ").replace(",", " ").split())
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def usd_amount(amount: Decimal, currency: str) -> Decimal | None:
    """Only US dollars are known without an exchange rate; anything else is unknown."""
    return amount if currency == "USD" else None


def among(field: str, ids: Sequence[int]) -> Q:
    """`field IN ids`, or `field BETWEEN first AND last` when the ids are one unbroken run (a
    bulk load's batch): the same rows, without a thousand parameters to prepare and bind."""
    unique = set(ids)
    if unique and max(unique) - min(unique) + 1 == len(unique):
        return Q(**{f"{field}__gte": min(unique), f"{field}__lte": max(unique)})
    return Q(**{f"{field}__in": sorted(unique)})


# --- The batch, as plain rows ------------------------------------------------------------------

_ORDER_COLUMNS = (
    "pk",
    "store_id",
    "customer_id",
    "created_at",
    "email",
    "phone",
    "billing_address",
    "shipping_address",
    "browser_ip",
    "is_expedited",
    "total_price",
    "currency",
    "customer__first_name",
    "customer__last_name",
)
_PAYMENT_FIELDS = (
    "gateway",
    "card_country",
    "card_fingerprint",
    "card_funding",
    "avs_line1_check",
    "avs_postal_check",
    "cvc_check",
    "three_d_secure_result",
    "risk_level",
    "risk_score",
    "payer_status",
    "seller_protection",
)


@dataclass(slots=True)
class _OrderRow:
    pk: int
    store_id: int
    customer_id: int | None
    created_at: datetime
    email: str
    phone: str
    billing_address: dict
    shipping_address: dict
    browser_ip: str | None
    is_expedited: bool
    total_price: Decimal
    currency: str
    first_name: str | None
    last_name: str | None


def _load_orders(order_ids: Sequence[int]) -> list[_OrderRow]:
    rows = Order.objects.filter(among("pk", order_ids)).values_list(*_ORDER_COLUMNS)
    return sorted((_OrderRow(*row) for row in rows), key=lambda o: (o.created_at, o.pk))


def _lines(order_ids: Sequence[int]) -> dict[int, list[LineFacts]]:
    lines: dict[int, list[LineFacts]] = defaultdict(list)
    for order_id, quantity, price, material in LineItem.objects.filter(
        among("order_id", order_ids)
    ).values_list("order_id", "quantity", "price", "variant__product__material"):
        lines[order_id].append(LineFacts(quantity, price, material or ""))
    return lines


def _payments(order_ids: Sequence[int]) -> tuple[dict[int, PaymentFacts], dict[int, str], dict]:
    """The winning (latest succeeded) payment of each order, its card key, and declines."""
    winning: dict[int, tuple] = {}
    declined: dict[int, int] = defaultdict(int)
    rows = (
        Payment.objects.filter(among("order_id", order_ids))
        .order_by("created_at", "pk")
        .values_list("order_id", "status", "payer_id", *_PAYMENT_FIELDS)
    )
    for order_id, status, payer_id, *fields in rows:
        if status == Payment.Status.FAILED:
            declined[order_id] += 1
        elif status == Payment.Status.SUCCEEDED:
            winning[order_id] = (payer_id, fields)  # the latest one stays
    payments, cards = {}, {}
    for order_id, (payer_id, fields) in winning.items():
        payment = PaymentFacts(*fields)
        payments[order_id] = payment
        cards[order_id] = payment.card_fingerprint or (f"paypal:{payer_id}" if payer_id else "")
    return payments, cards, declined


# --- Identity keys and velocity ----------------------------------------------------------------


KEYS = ("email", "ip", "card", "address")


@dataclass(frozen=True, slots=True)
class _Seen:
    order_id: int
    created_at: datetime
    email: str
    ip: str
    card: str
    address: str
    declined: int


def save_identities(identities: list[_Seen], store_of: dict[int, int]) -> None:
    """Write the batch's identity rows (a re-score may see a new card or address)."""
    bulk_insert(
        OrderIdentity,
        [
            {
                "order_id": seen.order_id,
                "store_id": store_of[seen.order_id],
                "created_at": seen.created_at,
                "email": seen.email,
                "ip": seen.ip,
                "card": seen.card,
                "address": seen.address,
                "declined": seen.declined,
            }
            for seen in identities
        ],
        update_fields=("created_at", "email", "ip", "card", "address", "declined"),
        unique_fields=("order",),
    )


def _history(identities: list[_Seen], store_id: int) -> list[_Seen]:
    """Every identity row that shares a key with the batch within the velocity horizon.

    The batch's keys are read back from its identity rows (written just before) by a
    subquery per key, so the database matches them against the key indexes itself: the same
    rows as `key IN (every value of the batch)`, without binding thousands of parameters."""
    start = min(i.created_at for i in identities) - HISTORY
    end = max(i.created_at for i in identities)
    batch = OrderIdentity.objects.filter(among("order_id", [i.order_id for i in identities]))
    keyed = Q()
    for key in KEYS:
        if any(getattr(i, key) for i in identities):
            keyed |= Q(**{f"{key}__in": batch.exclude(**{key: ""}).values(key)})
    if not keyed:
        return []
    rows = (
        OrderIdentity.objects.alias(store_key=F("store_id") + 0)  # the key indexes, not the store's
        .filter(keyed, store_key=store_id, created_at__gte=start, created_at__lte=end)
        .values_list("order_id", "created_at", *KEYS, "declined")
    )
    return sorted((_Seen(*row) for row in rows), key=lambda seen: (seen.created_at, seen.order_id))


_COUNTS = {  # signal prefix: (key it is grouped by, what is counted; None: the rows themselves)
    "orders_per_email": ("email", None),
    "orders_per_ip": ("ip", None),
    "orders_per_card": ("card", None),
    "orders_per_shipping_address": ("address", None),
    "cards_per_email": ("email", lambda rows: len({r.card for r in rows} - {""})),
    "emails_per_card": ("card", lambda rows: len({r.email for r in rows} - {""})),
    "emails_per_ip": ("ip", lambda rows: len({r.email for r in rows} - {""})),
    "declines_per_ip": ("ip", lambda rows: sum(r.declined for r in rows)),
}
# Per key: the (signal names per window, count) it feeds, and the all-zero answer for a key
# seen for the first time (most keys of most orders).
_BY_KEY = {
    key: [
        ([f"{prefix}_{window}" for window, _ in _WINDOWS], count)
        for prefix, (grouped_by, count) in _COUNTS.items()
        if grouped_by == key
    ]
    for key in KEYS
}
_ZEROS = {key: {name: 0 for names, _ in feeds for name in names} for key, feeds in _BY_KEY.items()}


def velocity(history: list[_Seen], order_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Counts over the 1 h / 24 h / 7 d strictly before each order (the order itself and any
    order at the same instant excluded); an order without the key (no IP, no card) gets no
    count: unknown, not zero."""
    indexed: dict[str, dict[str, list[_Seen]]] = {key: defaultdict(list) for key in KEYS}
    for seen in history:
        for key in KEYS:
            value = getattr(seen, key)
            if value:
                indexed[key][value].append(seen)
    times = {
        key: {value: [seen.created_at for seen in rows] for value, rows in groups.items()}
        for key, groups in indexed.items()
    }
    wanted = set(order_ids)
    result: dict[int, dict[str, int]] = {}
    for current in history:
        if current.order_id not in wanted:
            continue
        counts = result[current.order_id] = {}
        at = current.created_at
        for key in KEYS:
            value = getattr(current, key)
            if not value:
                continue
            stamps = times[key][value]
            end = bisect_left(stamps, at)
            if end == 0:
                counts.update(_ZEROS[key])
                continue
            rows = indexed[key][value]
            starts = [bisect_left(stamps, at - span, 0, end) for _, span in _WINDOWS]
            for names, count in _BY_KEY[key]:
                for name, start in zip(names, starts, strict=True):
                    if start == end:
                        counts[name] = 0
                    elif count is None:
                        counts[name] = end - start
                    else:
                        counts[name] = count(rows[start:end])
    return result


# --- Customer history, disputes, email age -----------------------------------------------------


def _customers_of(orders: list[_OrderRow]):
    """The batch's customers as a subquery (the database reads them by the batch's ids): the
    same rows as `customer_id IN (…)` without a parameter per customer. An order without a
    customer gives NULL, which `IN` matches with nothing."""
    return Order.objects.filter(among("pk", [o.pk for o in orders])).values("customer_id")


def _customer_history(orders: list[_OrderRow]) -> dict[int, tuple[int, Decimal, list[Decimal]]]:
    """For each order: the customer's earlier orders count, spend and amounts."""
    earlier: dict[int, list[tuple]] = defaultdict(list)
    rows = Order.objects.filter(
        customer_id__in=_customers_of(orders),
        cancelled_at__isnull=True,
        created_at__lte=max(o.created_at for o in orders),
    ).values_list("customer_id", "created_at", "pk", "total_price")
    for customer_id, created_at, pk, total in rows:
        earlier[customer_id].append((created_at, pk, total))
    result = {}
    for order in orders:
        key = (order.created_at, order.pk)
        prior = [
            total
            for created_at, pk, total in earlier.get(order.customer_id, ())
            if (created_at, pk) < key
        ]
        result[order.pk] = (len(prior), sum(prior, Decimal("0")), prior)
    return result


def _dispute_history(orders: list[_OrderRow]) -> dict[int, tuple[int, int, int, int]]:
    """For each order: (disputes the customer opened before it, disputes on it so far, early
    fraud warnings on the customer's earlier orders, early fraud warnings on it so far); two
    queries for the batch. The order's own disputes and warnings arrive after it was placed,
    which is why a dispute or a warning re-scores the order."""
    customers = _customers_of(orders)
    result = {}
    counted = []
    for model, when in ((Dispute, "opened_at"), (EarlyFraudWarning, "warned_at")):
        scope = among("order_id", [o.pk for o in orders]) | Q(order__customer_id__in=customers)
        by_customer, by_order = defaultdict(list), defaultdict(int)
        for order_id, customer_id, at in model.objects.filter(scope).values_list(
            "order_id", "order__customer_id", when
        ):
            by_order[order_id] += 1
            if customer_id:
                by_customer[customer_id].append((at, order_id))
        counted.append((by_customer, by_order))
    (dispute_customer, dispute_order), (warning_customer, warning_order) = counted
    for o in orders:
        result[o.pk] = (
            sum(1 for at, _ in dispute_customer.get(o.customer_id, ()) if at < o.created_at),
            dispute_order.get(o.pk, 0),
            sum(
                1
                for at, order_id in warning_customer.get(o.customer_id, ())
                if at < o.created_at and order_id != o.pk
            ),
            warning_order.get(o.pk, 0),
        )
    return result


def _tickets_about(order_ids: Sequence[int]) -> dict[int, int]:
    """How many support conversations are linked to each order (a ticket merged into another
    is the same conversation: it counts once, as the ticket it was merged into)."""
    links = Ticket.orders.through.objects.filter(
        among("order_id", order_ids), ticket__merged_into__isnull=True
    )
    return dict(
        links.values("order_id")
        .annotate(tickets=Count("ticket_id"))
        .values_list("order_id", "tickets")
    )


def _email_first_seen(orders: list[_OrderRow]) -> dict[str, object]:
    emails = {(o.email or "").lower() for o in orders} - {""}
    return dict(
        Order.objects.filter(email__in=emails)
        .values("email")
        .annotate(first=Min("created_at"))
        .values_list("email", "first")
    )


# --- The store's order amounts, for percentiles ------------------------------------------------


class StoreTotals:
    """A store's order totals, sorted, topped up with the orders added since the last read.

    Primary keys only grow, so the orders above the last key read are exactly the new ones:
    a batch load (the demo, an import) adds each batch's totals to the running array instead
    of re-reading the whole column per batch, which made a million-order load quadratic.
    """

    def __init__(self, store_id: int):
        self.store_id = store_id
        self.top_pk = 0
        self.sorted_amounts = np.empty(0)
        self.loaded_at = time.monotonic()

    def current(self, top_pk: int | None = None) -> np.ndarray:
        """The totals of every order up to `top_pk` (default: the newest)."""
        if top_pk is None:
            top_pk = _top_order_pk()
        if top_pk > self.top_pk:
            added = np.sort(_read_amounts(self.store_id, self.top_pk, top_pk))
            at = np.searchsorted(self.sorted_amounts, added)
            self.sorted_amounts = np.insert(self.sorted_amounts, at, added)  # merge, O(n)
            self.top_pk = top_pk
        return self.sorted_amounts


_amounts_cache: dict[int, StoreTotals] = {}
AMOUNTS_CACHE_MIN_ORDERS = 2000
AMOUNTS_CACHE_SECONDS = 15 * 60


def _top_order_pk() -> int:
    return Order.objects.aggregate(top=Max("pk"))["top"] or 0


def _read_amounts(store_id: int, after_pk: int = 0, upto_pk: int | None = None) -> np.ndarray:
    orders = Order.objects.filter(store_id=store_id, currency="USD", pk__gt=after_pk)
    if upto_pk is not None:
        orders = orders.filter(pk__lte=upto_pk)
    # The database's own double for each total: the float of the Decimal it would build (a
    # total has at most 14 digits, within a double's 15 exact ones), without building it.
    totals = orders.values_list(Cast("total_price", FloatField()), flat=True)
    return np.fromiter(totals, dtype=float)


def store_amounts(store_id: int, *, exact: bool = False) -> np.ndarray:
    """The store's order totals, sorted, for percentiles.

    A big store's column is kept in memory and topped up with the orders added since, so
    scoring one order does not re-read a million totals; it is re-read in full every 15
    minutes (edits, deletions). `exact` (a re-score) and small stores read it afresh, which
    costs less than a cache could go wrong.
    """
    cached = _amounts_cache.get(store_id)
    top = _top_order_pk()
    fresh = (
        not exact
        and cached is not None
        and top >= cached.top_pk
        and time.monotonic() - cached.loaded_at < AMOUNTS_CACHE_SECONDS
    )
    if fresh:
        return cached.current(top)
    totals = StoreTotals(store_id)
    amounts = totals.current(top)
    if len(amounts) >= AMOUNTS_CACHE_MIN_ORDERS:
        _amounts_cache[store_id] = totals
    else:
        _amounts_cache.pop(store_id, None)
    return amounts


def percentile(sorted_amounts: np.ndarray, amount: Decimal | None) -> float | None:
    if amount is None or len(sorted_amounts) == 0:
        return None
    below = np.searchsorted(sorted_amounts, float(amount), side="left")
    return round(100 * below / len(sorted_amounts), 1)


def _customer_percentile(prior_amounts: list[Decimal], amount: Decimal | None) -> float | None:
    if not prior_amounts or amount is None:
        return None
    below = sum(1 for prior in prior_amounts if prior < amount)
    return round(100 * below / len(prior_amounts), 1)


def _forwarders(address_keys: set[str]) -> set[str]:
    """Which of these shipping address keys are on the freight forwarder list."""
    from storedesk.risk.models import RiskListEntry

    if not address_keys:
        return set()
    return set(
        RiskListEntry.objects.filter(
            risk_list__name=FORWARDER_LIST, value__in=address_keys
        ).values_list("value", flat=True)
    )


# --- Putting it together -----------------------------------------------------------------------


def facts_for_orders(
    order_ids: Sequence[int], *, amounts: dict[int, np.ndarray] | None = None
) -> dict[int, OrderFacts]:
    """OrderFacts for every order id (in time order), in a bounded number of queries whatever
    the batch size. `amounts` maps store id to its sorted totals when the caller has them."""
    orders = _load_orders(order_ids)
    if not orders:
        return {}
    ids = [o.pk for o in orders]
    lines = _lines(ids)
    payments, cards, declined = _payments(ids)
    identities = [
        _Seen(
            o.pk,
            o.created_at,
            (o.email or "").lower(),
            o.browser_ip or "",
            cards.get(o.pk, ""),
            address_key(o.shipping_address),
            declined.get(o.pk, 0),
        )
        for o in orders
    ]
    store_of = {o.pk: o.store_id for o in orders}
    save_identities(identities, store_of)
    counts: dict[int, dict[str, int]] = {}
    for store_id in sorted(set(store_of.values())):
        mine = [i for i in identities if store_of[i.order_id] == store_id]
        counts.update(velocity(_history(mine, store_id), [i.order_id for i in mine]))
    history = _customer_history(orders)
    disputes = _dispute_history(orders)
    tickets = _tickets_about(ids)
    first_seen = _email_first_seen(orders)
    forwarders = _forwarders({i.address for i in identities} - {""})
    amounts = dict(amounts or {})
    for store_id in set(store_of.values()) - set(amounts):
        amounts[store_id] = store_amounts(store_id, exact=len(orders) > 1)
    result = {}
    for order, identity in zip(orders, identities, strict=True):
        prior_count, prior_spent, prior_amounts = history[order.pk]
        amount = usd_amount(order.total_price, order.currency)
        result[order.pk] = OrderFacts(
            amount_usd=amount,
            created_at=order.created_at,
            email=order.email,
            phone=order.phone,
            billing_address=order.billing_address or {},
            shipping_address=order.shipping_address or {},
            customer_first_name=order.first_name or "",
            customer_last_name=order.last_name or "",
            browser_ip=order.browser_ip,
            is_expedited=order.is_expedited,
            lines=lines.get(order.pk, []),
            payment=payments.get(order.pk),
            declined_attempts=identity.declined,
            prior_orders=prior_count,
            prior_spent_usd=prior_spent,
            prior_disputes=disputes[order.pk][0],
            order_disputes=disputes[order.pk][1],
            prior_early_fraud_warnings=disputes[order.pk][2],
            order_early_fraud_warnings=disputes[order.pk][3],
            tickets_about_order=tickets.get(order.pk, 0),
            email_first_seen_at=first_seen.get(identity.email),
            amount_percentile_store=percentile(amounts[order.store_id], amount),
            amount_percentile_customer=_customer_percentile(prior_amounts, amount),
            velocity=counts.get(order.pk, {}),
            forwarder_match=(identity.address in forwarders) if identity.address else None,
        )
    return result
