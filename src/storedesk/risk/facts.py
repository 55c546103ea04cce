"""Build `OrderFacts` for a batch of orders in a fixed number of set-based queries.

One order (real time) and twenty thousand (the demo, a re-score) take the same path: load the
batch, write its identity keys, load the keyed history around it, and count velocity with
Polars rolling windows, so both paths give the same numbers.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db.models import Min, Prefetch, Q

from storedesk.commerce.models import LineItem, Order, Payment
from storedesk.disputes.models import Dispute
from storedesk.risk.models import OrderIdentity
from storedesk.risk.signals import (
    VELOCITY_WINDOWS,
    LineFacts,
    OrderFacts,
    PaymentFacts,
)

HISTORY = timedelta(days=7)
FORWARDER_LIST = "freight_forwarders"


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


def _winning_payment(order: Order) -> Payment | None:
    succeeded = [p for p in order.payments.all() if p.status == Payment.Status.SUCCEEDED]
    return max(succeeded, key=lambda p: p.created_at) if succeeded else None


def _payment_facts(payment: Payment | None) -> PaymentFacts | None:
    if payment is None:
        return None
    return PaymentFacts(
        gateway=payment.gateway,
        card_country=payment.card_country,
        card_fingerprint=payment.card_fingerprint,
        card_funding=payment.card_funding,
        avs_line1_check=payment.avs_line1_check,
        avs_postal_check=payment.avs_postal_check,
        cvc_check=payment.cvc_check,
        three_d_secure_result=payment.three_d_secure_result,
        risk_level=payment.risk_level,
        risk_score=payment.risk_score,
        payer_status=payment.payer_status,
        seller_protection=payment.seller_protection,
    )


def _identity(order: Order, payment: Payment | None) -> OrderIdentity:
    card = ""
    if payment is not None:
        card = payment.card_fingerprint or (
            f"paypal:{payment.payer_id}" if payment.payer_id else ""
        )
    declined = sum(1 for p in order.payments.all() if p.status == Payment.Status.FAILED)
    return OrderIdentity(
        order_id=order.pk,
        store_id=order.store_id,
        created_at=order.created_at,
        email=(order.email or "").lower(),
        ip=order.browser_ip or "",
        card=card,
        address=address_key(order.shipping_address),
        declined=declined,
    )


def usd_amount(amount: Decimal, currency: str) -> Decimal | None:
    """Only US dollars are known without an exchange rate; anything else is unknown."""
    return amount if currency == "USD" else None


def load_orders(order_ids: Sequence[int]) -> list[Order]:
    lines = LineItem.objects.select_related("variant__product").only(
        "order_id", "quantity", "price", "variant__product__material"
    )
    return list(
        Order.objects.filter(pk__in=order_ids)
        .select_related("customer")
        .prefetch_related(Prefetch("line_items", queryset=lines), "payments")
        .order_by("created_at", "pk")
    )


def save_identities(identities: list[OrderIdentity]) -> None:
    OrderIdentity.objects.filter(order_id__in=[i.order_id for i in identities]).delete()
    OrderIdentity.objects.bulk_create(identities, batch_size=2000)


@dataclass(frozen=True, slots=True)
class _Seen:
    order_id: int
    created_at: datetime
    email: str
    ip: str
    card: str
    address: str
    declined: int


def _history(identities: list[OrderIdentity]) -> list[_Seen]:
    """Every identity row that shares a key with the batch within the velocity horizon."""
    start = min(i.created_at for i in identities) - HISTORY
    end = max(i.created_at for i in identities)
    keyed = Q()
    for key in KEYS:
        values = {getattr(i, key) for i in identities} - {""}
        if values:
            keyed |= Q(**{f"{key}__in": values})
    if not keyed:
        return []
    rows = OrderIdentity.objects.filter(
        keyed, store_id=identities[0].store_id, created_at__gte=start, created_at__lte=end
    ).values_list("order_id", "created_at", *KEYS, "declined")
    return sorted((_Seen(*row) for row in rows), key=lambda seen: (seen.created_at, seen.order_id))


KEYS = ("email", "ip", "card", "address")
_COUNTS = {  # signal prefix: (key it is grouped by, what is counted)
    "orders_per_email": ("email", len),
    "orders_per_ip": ("ip", len),
    "orders_per_card": ("card", len),
    "orders_per_shipping_address": ("address", len),
    "cards_per_email": ("email", lambda rows: len({r.card for r in rows} - {""})),
    "emails_per_card": ("card", lambda rows: len({r.email for r in rows} - {""})),
    "emails_per_ip": ("ip", lambda rows: len({r.email for r in rows} - {""})),
    "declines_per_ip": ("ip", lambda rows: sum(r.declined for r in rows)),
}


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
    result: dict[int, dict[str, int]] = defaultdict(dict)
    for current in history:
        if current.order_id not in wanted:
            continue
        for prefix, (key, count) in _COUNTS.items():
            value = getattr(current, key)
            if not value:
                continue
            rows, stamps = indexed[key][value], times[key][value]
            end = bisect_left(stamps, current.created_at)
            for window, hours in VELOCITY_WINDOWS.items():
                start = bisect_left(stamps, current.created_at - timedelta(hours=hours))
                result[current.order_id][f"{prefix}_{window}"] = count(rows[start:end])
    return result


def _customer_history(orders: list[Order]) -> dict[int, tuple[int, Decimal, list[Decimal]]]:
    """For each order: the customer's earlier orders count, spend and amounts."""
    customer_ids = {o.customer_id for o in orders if o.customer_id}
    earlier: dict[int, list[tuple]] = defaultdict(list)
    rows = Order.objects.filter(
        customer_id__in=customer_ids, cancelled_at__isnull=True
    ).values_list("customer_id", "created_at", "pk", "total_price")
    for customer_id, created_at, pk, total in rows:
        earlier[customer_id].append((created_at, pk, total))
    result = {}
    for order in orders:
        prior = [
            total
            for created_at, pk, total in earlier.get(order.customer_id, ())
            if (created_at, pk) < (order.created_at, order.pk)
        ]
        result[order.pk] = (len(prior), sum(prior, Decimal("0")), prior)
    return result


def _prior_disputes(orders: list[Order]) -> dict[int, int]:
    customer_ids = {o.customer_id for o in orders if o.customer_id}
    opened = defaultdict(list)
    for customer_id, opened_at in Dispute.objects.filter(
        order__customer_id__in=customer_ids
    ).values_list("order__customer_id", "opened_at"):
        opened[customer_id].append(opened_at)
    return {
        o.pk: sum(1 for when in opened.get(o.customer_id, ()) if when < o.created_at)
        for o in orders
    }


def _email_first_seen(orders: list[Order]) -> dict[str, object]:
    emails = {(o.email or "").lower() for o in orders} - {""}
    return dict(
        Order.objects.filter(email__in=emails)
        .values("email")
        .annotate(first=Min("created_at"))
        .values_list("email", "first")
    )


def store_amounts(store_id: int) -> np.ndarray:
    """The store's order totals, sorted, for percentiles (one column read)."""
    amounts = Order.objects.filter(store_id=store_id, currency="USD").values_list(
        "total_price", flat=True
    )
    return np.sort(np.fromiter((float(a) for a in amounts), dtype=float))


def percentile(sorted_amounts: np.ndarray, amount: Decimal | None) -> float | None:
    if amount is None or len(sorted_amounts) == 0:
        return None
    below = np.searchsorted(sorted_amounts, float(amount), side="left")
    return round(100 * below / len(sorted_amounts), 1)


def _forwarder_keys() -> set[str]:
    from storedesk.risk.models import RiskListEntry

    return set(
        RiskListEntry.objects.filter(risk_list__name=FORWARDER_LIST).values_list("value", flat=True)
    )


def facts_for_orders(
    order_ids: Sequence[int], *, amounts: np.ndarray | None = None
) -> dict[int, OrderFacts]:
    """OrderFacts for every order id, in a bounded number of queries whatever the batch size."""
    orders = load_orders(order_ids)
    if not orders:
        return {}
    payments = {o.pk: _winning_payment(o) for o in orders}
    identities = [_identity(o, payments[o.pk]) for o in orders]
    save_identities(identities)
    counts = velocity(_history(identities), [o.pk for o in orders])
    history = _customer_history(orders)
    disputes = _prior_disputes(orders)
    first_seen = _email_first_seen(orders)
    forwarders = _forwarder_keys()
    if amounts is None:
        amounts = store_amounts(orders[0].store_id)
    identity_of = {i.order_id: i for i in identities}
    result = {}
    for order in orders:
        customer = order.customer
        prior_count, prior_spent, prior_amounts = history[order.pk]
        amount = usd_amount(order.total_price, order.currency)
        address = identity_of[order.pk].address
        result[order.pk] = OrderFacts(
            amount_usd=amount,
            created_at=order.created_at,
            email=order.email,
            phone=order.phone,
            billing_address=order.billing_address or {},
            shipping_address=order.shipping_address or {},
            customer_first_name=customer.first_name if customer else "",
            customer_last_name=customer.last_name if customer else "",
            browser_ip=order.browser_ip,
            is_expedited=order.is_expedited,
            lines=[
                LineFacts(
                    line.quantity, line.price, line.variant.product.material if line.variant else ""
                )
                for line in order.line_items.all()
            ],
            payment=_payment_facts(payments[order.pk]),
            declined_attempts=identity_of[order.pk].declined,
            prior_orders=prior_count,
            prior_spent_usd=prior_spent,
            prior_disputes=disputes[order.pk],
            email_first_seen_at=first_seen.get((order.email or "").lower()),
            amount_percentile_store=percentile(amounts, amount),
            amount_percentile_customer=percentile(
                np.sort(np.array([float(a) for a in prior_amounts])), amount
            )
            if prior_amounts
            else None,
            velocity=counts.get(order.pk, {}),
            forwarder_match=(address in forwarders) if address else None,
        )
    return result
