"""Reads the commerce pages need, each shaped to a fixed, small number of indexed queries.

Searches use equality or prefix *ranges* on indexed keys (`number_key`, `email`, `name_key`,
`last_name_key`, `tracking_number`): a range `key >= 'emma' AND key < 'emmb'` is served by a
B-tree index on SQLite and on PostgreSQL whatever the collation, where `LIKE 'emma%'` is not.
"""

import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils.translation import gettext as _

from storedesk.commerce.models import (
    Customer,
    Order,
    OrderTask,
    Payment,
    Policy,
    Refund,
    Shipment,
    ShipmentEvent,
    Store,
)

LATEST_ORDERS = 10
PENDING_REFUNDS_SHOWN = 10
_TOKEN = re.compile(r"^[A-Za-z0-9-]+$")


def current_store() -> Store | None:
    """The store this desk serves (one store per installation for now)."""
    return Store.objects.order_by("id").first()


def day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """The UTC instants where `day` starts and ends in the given zone (DST-safe)."""
    zone = zoneinfo.ZoneInfo(zone_name)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def store_today(store: Store, now: datetime) -> date:
    """Today's date on the store's own clock, which is what 'today's sales' means to it."""
    return now.astimezone(zoneinfo.ZoneInfo(store.timezone)).date()


@dataclass
class StoreOverview:
    day: date
    orders_count: int
    sales: Decimal
    payments: list[dict]
    pending_refunds_count: int
    pending_refunds_amount: Decimal
    pending_refunds: list[Refund] = field(default_factory=list)
    latest_orders: list[Order] = field(default_factory=list)


def store_overview(store: Store, day: date, zone_name: str | None = None) -> StoreOverview:
    """The store at a glance for one day of the given zone (the viewer's; the store's when
    none is given): five aggregate or bounded queries."""
    start, end = day_bounds(day, zone_name or store.timezone)
    orders = Order.objects.filter(store=store, created_at__gte=start, created_at__lt=end)
    totals = orders.aggregate(
        count=Count("id"), sales=Sum("total_price", filter=Q(currency=store.currency))
    )
    payments = list(
        Payment.objects.filter(order__store=store, created_at__gte=start, created_at__lt=end)
        .values("gateway", "status", "currency")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("gateway", "status", "currency")
    )
    _label_payments(payments)
    pending = Refund.objects.filter(order__store=store, status=Refund.Status.PENDING)
    refund_totals = pending.aggregate(count=Count("id"), amount=Sum("amount"))
    return StoreOverview(
        day=day,
        orders_count=totals["count"],
        sales=totals["sales"] or Decimal("0"),
        payments=payments,
        pending_refunds_count=refund_totals["count"],
        pending_refunds_amount=refund_totals["amount"] or Decimal("0"),
        pending_refunds=list(
            pending.select_related("order").order_by("-created_at", "-id")[:PENDING_REFUNDS_SHOWN]
        ),
        latest_orders=list(latest_orders(store)[:LATEST_ORDERS]),
    )


def _label_payments(rows: list[dict]) -> None:
    """Add display labels to grouped payment rows (values() loses get_FOO_display)."""
    gateways, statuses = dict(Payment.Gateway.choices), dict(Payment.Status.choices)
    for row in rows:
        row["gateway_label"] = gateways.get(row["gateway"], row["gateway"])
        row["status_label"] = statuses.get(row["status"], row["status"])


# What an order list shows (and sorts by). A broad name prefix matches thousands of orders and
# SQLite sorts every match it reads: the addresses and other JSON left out make those rows a
# tenth as wide (a 'jo' search over 20k orders: 20 ms with whole rows, 5 ms with these).
ORDER_LIST_FIELDS = (
    "number", "email", "created_at", "currency", "total_price", "financial_status",
    "fulfillment_status", "customer__first_name", "customer__last_name", "customer__email",
)  # fmt: skip


def _orders_for_lists() -> QuerySet[Order]:
    return (
        Order.objects.select_related("customer")
        .only(*ORDER_LIST_FIELDS)
        .order_by("-created_at", "-id")
    )


def latest_orders(store: Store) -> QuerySet[Order]:
    """The store's orders, newest first, along the (store, -created_at) index."""
    return _orders_for_lists().filter(store=store)


def number_keys(q: str, store: Store) -> list[str]:
    """The `number_key` values a typed order number may mean: '#tp10234', 'TP10234', '10234'."""
    key = q.strip().lstrip("#").upper()
    keys = [key]
    prefix = store.order_number_prefix.lstrip("#").upper()
    if key.isdigit() and prefix:
        keys.append(prefix + key)
    return keys


def prefix_range(field_name: str, prefix: str) -> Q:
    """An indexed range that holds exactly the values starting with `prefix`."""
    if ord(prefix[-1]) >= 0x10FFFF:
        return Q(**{f"{field_name}__startswith": prefix})
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Q(
        **{
            f"{field_name}__gte": prefix,
            f"{field_name}__lt": upper,
            f"{field_name}__startswith": prefix,
        }
    )


def name_prefix(q: str) -> str:
    """The form names are kept in for search: lower-cased, single spaces."""
    return " ".join(q.lower().split())


def _in_store(store: Store) -> Q:
    """`store_id + 0 = ?`: the store condition without its index.

    Without ANALYZE statistics SQLite prefers any equality index, so a plain `store_id = ?`
    would walk every order of the store instead of the few rows a search key selects.
    PostgreSQL plans the same either way.
    """
    return Q(store_key=store.pk)


class OrderMatches:
    """The orders a name search matches, newest first, paged through their ids.

    Each way a search can match (first-name prefix, last-name prefix, order or tracking
    number) is a branch read from a covering index as (id, created_at); the union of the
    branches is sorted and cut to the page, and only that page's orders are read whole. A
    two-letter prefix matches thousands of orders: sorting their index entries costs a few
    milliseconds, where reading and sorting their rows cost a hundred. Quacks like the
    queryset the paginator and the desk search use: count, slices, filter, iteration.
    """

    ordered = True  # for the paginator: the order is fixed, newest first

    def __init__(self, branches: list[QuerySet[Order]]):
        self.branches = branches

    def filter(self, *args, **kwargs) -> "OrderMatches":
        return OrderMatches([branch.filter(*args, **kwargs) for branch in self.branches])

    def _keys(self) -> QuerySet:
        first, *rest = [b.order_by().values_list("pk", "created_at") for b in self.branches]
        return first.union(*rest) if rest else first  # a union keeps each order once

    def count(self) -> int:
        return self._keys().count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        ids = [pk for pk, _ in self._keys().order_by("-created_at", "-pk")[index]]
        orders = _orders_for_lists().order_by().in_bulk(ids)
        return [orders[pk] for pk in ids if pk in orders]

    def __iter__(self):
        return iter(self[:])


def search_orders(store: Store, q: str) -> "QuerySet[Order] | OrderMatches":
    """Orders matching what an agent typed: number, email, tracking number or name prefix.

    An email is matched exactly, along its index. Anything else is tried at once as an order
    number, a tracking number (resolved first, one indexed query) and a first- or last-name
    prefix, each branch an indexed lookup (`OrderMatches`).
    """
    q = q.strip()
    if not q:
        return latest_orders(store)
    if "@" in q:
        return _orders_for_lists().filter(store=store, email__in=sorted({q, q.lower()}))
    orders = Order.objects.alias(store_key=F("store_id") + 0)
    name = name_prefix(q)
    branches = [
        orders.filter(_in_store(store) & prefix_range("name_key", name)),
        orders.filter(_in_store(store) & prefix_range("last_name_key", name)),
    ]
    if _TOKEN.match(q.lstrip("#")):
        tracked = list(
            Shipment.objects.filter(
                tracking_number__in=sorted({q, q.upper()}), order__store=store
            ).values_list("order_id", flat=True)[:100]
        )
        branches.append(
            Order.objects.filter(
                Q(store=store, number_key__in=number_keys(q, store)) | Q(pk__in=tracked)
            )
        )
    return OrderMatches(branches)


def search_customers(store: Store, q: str) -> QuerySet[Customer]:
    """Customers by exact email or name prefix, alphabetical along the name index."""
    customers = Customer.objects.order_by("name_key", "id")
    q = q.strip()
    if not q:
        return customers.filter(store=store)
    if "@" in q:
        return customers.filter(store=store, email__in=sorted({q, q.lower()}))
    name = name_prefix(q)
    customers = customers.alias(store_key=F("store_id") + 0)
    return customers.filter(
        (_in_store(store) & prefix_range("name_key", name))
        | (_in_store(store) & prefix_range("last_name_key", name))
    )


def order_for_page(pk: int, *, extra_prefetches: Sequence[Prefetch] = ()) -> Order:
    """One order with everything its page shows, in a fixed number of queries; the apps above
    commerce add theirs as `extra_prefetches` (see `commerce.extensions.order_prefetches`).

    Raises Order.DoesNotExist for an unknown id.
    """
    prefetches = [
        "line_items",
        Prefetch("payments", queryset=Payment.objects.order_by("created_at", "id")),
        Prefetch(
            "refunds",
            queryset=Refund.objects.select_related("created_by").order_by("created_at", "id"),
        ),
        Prefetch(
            "shipments",
            queryset=Shipment.objects.order_by("shipped_at", "id").prefetch_related(
                Prefetch("events", queryset=ShipmentEvent.objects.order_by("happened_at", "id"))
            ),
        ),
    ]
    prefetches.extend(extra_prefetches)
    prefetches.append(  # the risk panel's "refund needed" tasks
        Prefetch(
            "tasks",
            queryset=OrderTask.objects.filter(status=OrderTask.Status.OPEN).order_by("created_at"),
            to_attr="open_tasks",
        )
    )
    return (
        Order.objects.select_related("store", "customer", "risk__decided_by_rule")
        .prefetch_related(*prefetches)
        .get(pk=pk)
    )


def policies_in_force(store: Store | int, at: datetime) -> dict[str, Policy]:
    """Each kind's newest version whose effective date is at or before `at` (what a buyer was
    shown then: evidence packs and refund decisions need that, not today's text), in one query.

    A later version with the same effective date wins (a same-day correction).
    """
    in_force = Policy.objects.filter(store=store, effective_from__lte=at)
    latest = in_force.filter(kind=OuterRef("kind")).order_by("-effective_from", "-version")
    chosen = in_force.filter(pk=Subquery(latest.values("pk")[:1])).order_by("kind")
    return {policy.kind: policy for policy in chosen}


def policy_in_force(store: Store | int, kind: str, at: datetime) -> Policy | None:
    """The one version of `kind` in force at `at`, or None before the first was published."""
    return (
        Policy.objects.filter(store=store, kind=kind, effective_from__lte=at)
        .order_by("-effective_from", "-version")
        .first()
    )


POLICY_PATH = "/help/policies/{kind}/v{version}/"


def policy_path(kind: str, version: int) -> str:
    """Where customers read exactly this version of a policy (the help center serves it), for
    evidence packs, templates and e-mails that must link the text a buyer was shown."""
    return POLICY_PATH.format(kind=kind, version=int(version))


def policy_version(store: Store | int, kind: str, version: int) -> Policy | None:
    """One published version of a policy, by its number (a unique index answers it)."""
    return Policy.objects.filter(store=store, kind=kind, version=version).first()


def policy_versions(store: Store | int, kind: str) -> QuerySet[Policy]:
    """Every version of one policy, newest first, without their texts."""
    return Policy.objects.filter(store=store, kind=kind).defer("body").order_by("-version")


def policies_at(order: Order) -> list[Policy]:
    """The latest version of each policy in force when the order was placed, in one query."""
    return list(policies_in_force(order.store_id, order.created_at).values())


def customer_for_page(pk: int) -> Customer:
    """One customer with their store (for its currency and name)."""
    return Customer.objects.select_related("store").get(pk=pk)


def orders_of_customer(customer: Customer) -> QuerySet[Order]:
    """A customer's orders, newest first, along the (customer, -created_at) index."""
    return _orders_for_lists().filter(customer=customer)


# --- tasks: work someone owes on an order ---------------------------------------------------


@dataclass(frozen=True)
class TaskCount:
    kind: str
    label: str
    count: int


def open_task_counts(store: Store) -> list[TaskCount]:
    """Every kind of task with how many are open (one grouped query on the queue index)."""
    counts = dict(
        OrderTask.objects.filter(order__store=store, status=OrderTask.Status.OPEN)
        .values_list("kind")
        .annotate(count=Count("id"))
        .order_by()
    )
    return [
        TaskCount(kind, str(label), counts.get(kind, 0)) for kind, label in OrderTask.Kind.choices
    ]


def tasks_for_list(store: Store, *, kind: str = "", status: str = "") -> QuerySet:
    """The task list, newest first, filtered by kind and status (both optional): the
    (status, kind, -created_at) index serves the usual "open refunds needed" page."""
    tasks = OrderTask.objects.filter(order__store=store)
    if status:
        tasks = tasks.filter(status=status)
    if kind:
        tasks = tasks.filter(kind=kind)
    return tasks.select_related("order", "done_by").order_by("-created_at", "-id")


@dataclass(frozen=True)
class CustomerStanding:
    """What a customer is worth to the store, read from the aggregates the commerce services
    keep on the customer row (`refresh_customer_aggregates`), so it costs no query.

    `lifetime_value` is the sum over the customer's paid orders (paid, partially paid,
    partially or fully refunded; cancelled ones left out) of the order total less its
    succeeded refunds, in `currency`. `vip_reason` says why the VIP mark shows, or is empty.
    """

    lifetime_value: Decimal
    currency: str
    orders_count: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    vip_reason: str

    @property
    def is_vip(self) -> bool:
        return bool(self.vip_reason)


def vip_thresholds() -> tuple[Decimal, int]:
    """The lifetime value and order count from which a customer counts as VIP (settings)."""
    return Decimal(str(settings.VIP_LIFETIME_VALUE)), int(settings.VIP_ORDER_COUNT)


def customer_standing(customer: Customer) -> CustomerStanding:
    """The customer's lifetime value, order count, first and last order and VIP mark.

    The VIP rule: the store marked the customer VIP, or their lifetime value reaches
    `VIP_LIFETIME_VALUE`, or their order count reaches `VIP_ORDER_COUNT`.
    """
    value = customer.total_spent or Decimal("0")
    min_value, min_orders = vip_thresholds()
    if customer.is_vip:
        reason = _("marked VIP by the store")
    elif value >= min_value:
        reason = _("lifetime value of %(value)s %(currency)s or more") % {
            "value": min_value,
            "currency": customer.currency,
        }
    elif customer.orders_count >= min_orders:
        reason = _("%(count)s orders or more") % {"count": min_orders}
    else:
        reason = ""
    return CustomerStanding(
        lifetime_value=value,
        currency=customer.currency,
        orders_count=customer.orders_count,
        first_order_at=customer.first_order_at,
        last_order_at=customer.last_order_at,
        vip_reason=str(reason),
    )


def refunds_of_orders(order_ids: list[int]) -> dict[int, list[Refund]]:
    """Each order's refunds, oldest first, in one query (for panels that show several orders)."""
    by_order: dict[int, list[Refund]] = {pk: [] for pk in order_ids}
    if order_ids:
        refunds = Refund.objects.filter(order_id__in=order_ids).only(
            "order", "amount", "currency", "status", "reason", "created_at"
        )
        for refund in refunds.order_by("created_at", "pk"):
            by_order[refund.order_id].append(refund)
    return by_order


FAILED_ATTEMPTS_SHOWN = 3


def fold_failed_attempts(
    payments: list[Payment], shown: int = FAILED_ATTEMPTS_SHOWN
) -> tuple[list[Payment], list[Payment]]:
    """Split an order's payments, oldest first, into those shown at once and those folded away:
    every payment that did not fail, and the latest `shown` failed attempts, stay in view; the
    earlier failed attempts fold (a card-testing order brings dozens of declines, which made the
    page some 8,000 px tall)."""
    failed = [payment for payment in payments if payment.status == Payment.Status.FAILED]
    folded_ids = {payment.pk for payment in failed[: max(len(failed) - shown, 0)]}
    return (
        [payment for payment in payments if payment.pk not in folded_ids],
        [payment for payment in payments if payment.pk in folded_ids],
    )
