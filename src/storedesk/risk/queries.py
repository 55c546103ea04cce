"""Risk reads: the review queue and an order's review (pages and API), the rule editor and the
lists pages, and checking a rule against today's signals and lists. Each read is a fixed,
small number of indexed queries; `services` (and `review`) are the writers.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Order, OrderTask
from storedesk.risk.fraud_signals import SIGNALS, VELOCITY_COUNTS, VELOCITY_WINDOWS, signal_types
from storedesk.risk.language import Rule, RuleError, ValueType, check, parse_rule
from storedesk.risk.models import (
    OrderRisk,
    RiskDecision,
    RiskList,
    RiskListEntry,
    RiskRule,
    RiskRuleVersion,
)
from storedesk.risk.scoring import SCORE_ATTRIBUTE

CUSTOMER_ORDERS_SHOWN = 10
OPEN_TICKETS_SHOWN = 10
TOP_REASONS = 3
# Signals only people allowed to see payment details may read (as on the order page).
PAYMENT_DETAIL_SIGNALS = frozenset({"card_fingerprint"})


class _Hidden:
    """Stands for a value the reader's role may not see (templates test `value.hidden`)."""

    hidden = True

    def __repr__(self) -> str:
        return "HIDDEN"


HIDDEN = _Hidden()

# How the review page groups signals; anything not named here lands in "Other", so a new
# signal is never left off the page.
SIGNAL_GROUPS: list[tuple[str, object, list[str]]] = [
    (
        "order",
        _("Order"),
        [
            "amount_usd",
            "amount_percentile_store",
            "amount_percentile_customer",
            "items_quantity",
            "high_risk_items_quantity",
            "is_expedited",
            "expedited_first_order",
        ],
    ),
    (
        "customer",
        _("Customer history"),
        [
            "is_first_order",
            "customer_orders_count",
            "customer_total_spent_usd",
            "customer_prior_disputes",
        ],
    ),
    (
        "ip",
        _("IP and location"),
        [
            "ip_address",
            "ip_country",
            "ip_is_anonymous",
            "ip_country_differs_from_billing",
            "card_country_differs_from_ip",
            "distance_ip_billing_km",
            "distance_ip_shipping_km",
        ],
    ),
    (
        "addresses",
        _("Billing and shipping"),
        [
            "billing_country",
            "shipping_country",
            "shipping_state",
            "billing_shipping_country_differs",
            "billing_shipping_state_differs",
            "billing_shipping_name_differs",
            "distance_billing_shipping_km",
            "ships_to_freight_forwarder",
        ],
    ),
    (
        "email",
        _("Email"),
        [
            "email",
            "email_domain",
            "is_disposable_email",
            "email_randomness",
            "email_name_mismatch",
            "hours_since_email_first_seen",
        ],
    ),
    ("phone", _("Phone"), ["phone_valid", "phone_country_matches_billing"]),
    (
        "gateway",
        _("Gateway"),
        [
            "gateway",
            "card_country",
            "card_funding",
            "card_fingerprint",
            "card_country_differs_from_billing",
            "avs_line1_check",
            "avs_postal_check",
            "cvc_check",
            "three_d_secure_result",
            "is_3d_secure_authenticated",
            "gateway_risk_level",
            "gateway_risk_score",
            "paypal_seller_protection",
            "declined_attempts",
        ],
    ),
]
VELOCITY_SIGNALS = frozenset(
    f"{count}_{window}" for count in VELOCITY_COUNTS for window in VELOCITY_WINDOWS
)


# --- The queue ----------------------------------------------------------------------------------


# What a queue row shows (page and API): loading whole orders and customers, with their JSON
# addresses, would cost four times as much per page.
QUEUE_COLUMNS = (
    *("score", "amount_usd", "action", "stage", "status", "fulfillment_held", "scored_at"),
    *("score_reasons", "signals", "order_id", "decided_by_rule_id", "decided_by_rule__name"),
    *("order__number", "order__created_at", "order__total_price", "order__currency"),
    *("order__email", "order__customer_id", "order__customer__first_name"),
    *("order__customer__last_name", "order__customer__email"),
)


def review_queue(
    *, stage: str | None = None, action: str | None = None, min_score: int | None = None
) -> QuerySet[OrderRisk]:
    """Orders in review, riskiest and largest first, along the partial review-queue index."""
    risks = OrderRisk.objects.filter(status=OrderRisk.Status.IN_REVIEW)
    if stage:
        risks = risks.filter(stage=stage)
    if action:
        risks = risks.filter(action=action)
    if min_score is not None:
        risks = risks.filter(score__gte=min_score)
    return (
        risks.select_related("order__customer", "decided_by_rule")
        .only(*QUEUE_COLUMNS)
        .order_by("-score", "-amount_usd", "id")
    )


def queue_stage_counts() -> dict[str, int]:
    """Orders in review per S2 stage, for the queue's stage filter."""
    rows = (
        OrderRisk.objects.filter(status=OrderRisk.Status.IN_REVIEW)
        .values("stage")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {row["stage"]: row["count"] for row in rows}


# --- One order ----------------------------------------------------------------------------------


@dataclass
class SignalRow:
    name: str
    description: str
    value: object  # as stored (JSON): str for numbers, bool, None when unknown; HIDDEN
    contributed: int | None = None  # points this signal added to the score

    @property
    def missing(self) -> bool:
        return self.value is None

    @property
    def hidden(self) -> bool:
        return self.value is HIDDEN

    @property
    def is_flag(self) -> bool:
        return isinstance(self.value, bool)


@dataclass
class SignalGroup:
    key: str
    label: object
    rows: list[SignalRow]


def visible_signals(signals: dict, *, payment_details: bool) -> dict:
    """The stored signal values, with payment details hidden from roles that may not see them."""
    if payment_details:
        return dict(signals)
    return {
        name: (HIDDEN if name in PAYMENT_DETAIL_SIGNALS and value is not None else value)
        for name, value in signals.items()
    }


def grouped_signals(order_risk: OrderRisk, *, payment_details: bool) -> list[SignalGroup]:
    """Every stored signal in its group (velocity has its own table), with its points."""
    signals = visible_signals(order_risk.signals or {}, payment_details=payment_details)
    points: dict[str, int] = {}
    for reason in order_risk.score_reasons or []:
        points[reason["signal"]] = points.get(reason["signal"], 0) + reason["points"]

    def row(name: str) -> SignalRow:
        spec = SIGNALS.get(name)
        return SignalRow(name, spec.label if spec else "", signals.get(name), points.get(name))

    groups, placed = [], {*VELOCITY_SIGNALS, SCORE_ATTRIBUTE}
    for key, label, names in SIGNAL_GROUPS:
        groups.append(SignalGroup(key, label, [row(name) for name in names if name in signals]))
        placed.update(names)
    others = [row(name) for name in sorted(signals) if name not in placed]
    if others:
        groups.append(SignalGroup("other", _("Other"), others))
    return [group for group in groups if group.rows]


@dataclass
class VelocityRow:
    meaning: str
    counts: list[object]  # per window, None when the key is unknown (no IP, no card)


def velocity_rows(order_risk: OrderRisk) -> list[VelocityRow]:
    signals = order_risk.signals or {}
    return [
        VelocityRow(_(meaning), [signals.get(f"{count}_{window}") for window in VELOCITY_WINDOWS])
        for count, meaning in VELOCITY_COUNTS.items()
    ]


@dataclass
class RuleRow:
    rule_id: int | None
    name: str
    source: str
    fired: bool
    undecided: bool
    values: list[tuple[str, object]] = field(default_factory=list)


def rule_rows(order_risk: OrderRisk, *, payment_details: bool) -> list[RuleRow]:
    """The rules evaluated on the order, in order, with the values each one looked at (one
    query for their current names)."""
    outcomes = order_risk.rule_outcomes or []
    names = dict(
        RiskRule.objects.filter(pk__in={o.get("rule") for o in outcomes}).values_list("pk", "name")
    )
    rows = []
    for outcome in outcomes:
        values = visible_signals(outcome.get("values") or {}, payment_details=payment_details)
        rows.append(
            RuleRow(
                outcome.get("rule"),
                names.get(outcome.get("rule"), _("(deleted rule)")),
                outcome.get("source", ""),
                bool(outcome.get("fired")),
                bool(outcome.get("undecided")),
                sorted(values.items()),
            )
        )
    return rows


def top_reasons(order_risk: OrderRisk, limit: int = TOP_REASONS) -> list[dict]:
    return [reason for reason in (order_risk.score_reasons or []) if reason["points"] > 0][:limit]


def decisions_of(order_risk: OrderRisk) -> list[RiskDecision]:
    """The review's timeline, oldest first."""
    return list(
        RiskDecision.objects.filter(order_risk=order_risk)
        .select_related("actor")
        .order_by("created_at", "pk")
    )


VERIFICATION_ANSWERS_SHOWN = 10


def verification_answers(decisions: list[RiskDecision]) -> list:
    """What the customer wrote back on the tickets verification requests went out on, since
    the first request (their answer, shown on the review): one query, none without a request."""
    requests = [
        decision
        for decision in decisions
        if decision.kind == RiskDecision.Kind.CONTACT and decision.details.get("ticket_id")
    ]
    if not requests or not apps.is_installed("storedesk.desk"):
        return []
    message_model = apps.get_model("desk", "Message")
    return list(
        message_model.objects.filter(
            ticket_id__in={decision.details["ticket_id"] for decision in requests},
            kind=message_model.Kind.INBOUND,
            created_at__gte=min(decision.created_at for decision in requests),
        )
        .select_related("ticket")
        .order_by("created_at", "pk")[:VERIFICATION_ANSWERS_SHOWN]
    )


@dataclass
class CustomerHistory:
    orders: list[Order]
    orders_count: int
    refunded_orders: int
    refunded_total: Decimal
    disputes_count: int
    by_email: bool  # a guest checkout: history matched on the email instead of the customer


def _same_buyer(order: Order) -> Q | None:
    if order.customer_id:
        return Q(customer_id=order.customer_id)
    if order.email:
        return Q(email=order.email.lower())
    return None


def customer_history(order: Order) -> CustomerHistory:
    """The buyer's other orders (newest first) with their refunds and disputes: 3 queries."""
    same = _same_buyer(order)
    if same is None:
        return CustomerHistory([], 0, 0, Decimal("0"), 0, by_email=False)
    from storedesk.disputes.models import Dispute

    others = Order.objects.filter(same).exclude(pk=order.pk)
    disputes = (
        Dispute.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(count=Count("id"))
        .values("count")
    )
    recent = list(
        others.annotate(disputes_count=Coalesce(Subquery(disputes), 0)).order_by(
            "-created_at", "-pk"
        )[:CUSTOMER_ORDERS_SHOWN]
    )
    totals = others.aggregate(
        count=Count("id"),
        refunded_orders=Count("id", filter=Q(total_refunded__gt=0)),
        refunded=Sum("total_refunded"),
    )
    dispute_filter = (
        Q(order__customer_id=order.customer_id)
        if order.customer_id
        else Q(order__email=order.email.lower())
    )
    return CustomerHistory(
        orders=recent,
        orders_count=totals["count"],
        refunded_orders=totals["refunded_orders"],
        refunded_total=totals["refunded"] or Decimal("0"),
        disputes_count=Dispute.objects.filter(dispute_filter).exclude(order=order).count(),
        by_email=not order.customer_id,
    )


def early_fraud_warnings(order: Order) -> list:
    """The card issuers' early fraud warnings about this order, newest first: 1 query."""
    from storedesk.disputes.models import EarlyFraudWarning

    return list(
        EarlyFraudWarning.objects.filter(order=order)
        .select_related("payment")
        .order_by("-warned_at", "-pk")
    )


def open_tickets(order: Order) -> list:
    """Open tickets about this order or from this customer (when the desk is installed)."""
    if not apps.is_installed("storedesk.desk"):
        return []
    ticket_model = apps.get_model("desk", "Ticket")
    about = Q(orders=order)
    if order.customer_id:
        about |= Q(customer_id=order.customer_id)
    return list(
        ticket_model.objects.filter(about, status__in=ticket_model.OPEN_STATUSES)
        .distinct()
        .order_by("-created_at")[:OPEN_TICKETS_SHOWN]
    )


def order_risk_of(order_id: int) -> OrderRisk:
    """An order's assessment with its order; OrderRisk.DoesNotExist when it was never scored."""
    return OrderRisk.objects.select_related("order", "decided_by_rule").get(order_id=order_id)


# --- Rules and lists ------------------------------------------------------------------------------

FIRED_WINDOW = timedelta(days=30)


def fire_counts(since: datetime, rule_ids: list[int]) -> dict[int, int]:
    """How many orders scored since `since` each rule decided, in one grouped query (through
    the index on decided_by_rule, so it reads only orders these rules decided)."""
    rows = (
        OrderRisk.objects.filter(scored_at__gte=since, decided_by_rule__in=rule_ids)
        .values("decided_by_rule")
        .annotate(orders=Count("id"))
        .order_by()
        .values_list("decided_by_rule", "orders")
    )
    return dict(rows)


def rules_in_order() -> QuerySet[RiskRule]:
    """Rules in the order they are evaluated, each with who changed it last and when."""
    latest = RiskRuleVersion.objects.filter(rule=OuterRef("pk")).order_by("-version")
    return RiskRule.objects.order_by("priority", "pk").annotate(
        changed_at=Subquery(latest.values("changed_at")[:1]),
        changed_by_username=Subquery(latest.values("changed_by__username")[:1]),
        changed_by_first=Subquery(latest.values("changed_by__first_name")[:1]),
        changed_by_last=Subquery(latest.values("changed_by__last_name")[:1]),
    )


def with_fire_counts(rules: list[RiskRule]) -> list[RiskRule]:
    """How often each rule decided an order in the last 30 days, in one query for the page."""
    counts = fire_counts(timezone.now() - FIRED_WINDOW, [rule.pk for rule in rules])
    for rule in rules:
        rule.fired_30d = counts.get(rule.pk, 0)
        full_name = f"{rule.changed_by_first or ''} {rule.changed_by_last or ''}".strip()
        rule.changed_by_name = full_name or rule.changed_by_username or ""
    return rules


def mark_broken(rules: list[RiskRule]) -> list[RiskRule]:
    """Flag rules that no longer check (a signal or list was renamed): scoring skips them."""
    attributes, lists = rule_attributes(), list_types()
    for rule in rules:
        try:
            check(parse_rule(rule.source), attributes, lists)
            rule.problem = ""
        except RuleError as error:
            rule.problem = str(error)
    return rules


def versions_of(rule: RiskRule) -> QuerySet[RiskRuleVersion]:
    return rule.versions.select_related("changed_by").order_by("-version")


@dataclass(frozen=True)
class DiffPart:
    kind: str  # "same", "added" or "removed"
    text: str


_WORDS = re.compile(r"\s+|[^\s]+")


def source_diff(before: str, after: str) -> list[DiffPart]:
    """Word by word, so a changed threshold in a long rule stands out."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    parts = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(DiffPart("same", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            parts.append(DiffPart("removed", "".join(old[i1:i2])))
        if j2 > j1:
            parts.append(DiffPart("added", "".join(new[j1:j2])))
    return parts


def with_diffs(versions: list[RiskRuleVersion], rule: RiskRule) -> list[RiskRuleVersion]:
    """Attach to each version the diff from the version before it; the oldest version on a
    page needs its predecessor, read in one more query."""
    if not versions:
        return versions
    oldest = versions[-1]
    previous = (
        RiskRuleVersion.objects.filter(rule=rule, version__lt=oldest.version)
        .order_by("-version")
        .first()
    )
    for index, version in enumerate(versions):
        before = versions[index + 1] if index + 1 < len(versions) else previous
        version.previous = before
        version.diff = source_diff(before.source, version.source) if before else []
        version.source_changed = before is not None and before.source != version.source
    return versions


@dataclass(frozen=True)
class AttributeDoc:
    name: str
    type: str
    description: str


def attribute_docs() -> list[AttributeDoc]:
    """Every attribute a rule may read, with its type and meaning, for the editor."""
    docs = [AttributeDoc(spec.name, spec.type, spec.label) for spec in SIGNALS.values()]
    docs.append(
        AttributeDoc(
            SCORE_ATTRIBUTE,
            rule_attributes()[SCORE_ATTRIBUTE],
            gettext("the order's risk score, 0 to 100 (the store's model, or default weights)"),
        )
    )
    return sorted(docs, key=lambda doc: doc.name)


def lists_with_counts() -> QuerySet[RiskList]:
    return RiskList.objects.annotate(entry_count=Count("entries")).order_by("name")


def entries_of(risk_list: RiskList, query: str) -> QuerySet[RiskListEntry]:
    """A list's entries in value order (the (list, value) unique index), optionally only those
    starting with `query` (values are stored lower-cased)."""
    entries = risk_list.entries.select_related("added_by").order_by("value")
    query = query.strip().lower()
    return entries.filter(value__startswith=query) if query else entries


def orders_by_id(order_ids: list[int]) -> list[Order]:
    """The sample of a backtest, in the sample's order, with their review status."""
    orders = Order.objects.filter(pk__in=order_ids).select_related("risk")
    by_id = {order.pk: order for order in orders}
    return [by_id[pk] for pk in order_ids if pk in by_id]


# --- Checking a rule against today's signals and lists ---------------------------------------


def rule_attributes() -> dict[str, ValueType]:
    return signal_types() | {SCORE_ATTRIBUTE: ValueType.NUMBER}


def list_types() -> dict[str, ValueType]:
    return dict(RiskList.objects.values_list("name", "value_type"))


def validate_rule(source: str) -> Rule:
    """Parse and check a rule against today's signals and lists; RuleError says what is wrong."""
    return check(parse_rule(source), rule_attributes(), list_types())


def list_values() -> dict[str, frozenset]:
    values: dict[str, set] = {
        name: set() for name in RiskList.objects.values_list("name", flat=True)
    }
    for name, value in RiskListEntry.objects.values_list("risk_list__name", "value"):
        values[name].add(value)
    return {name: frozenset(members) for name, members in values.items()}


# --- Single rows for the views and the API ---------------------------------------------------


def rule_ids_in_order() -> list[int]:
    """Every rule's id in the order of evaluation (priority, then id)."""
    return list(RiskRule.objects.order_by("priority", "pk").values_list("pk", flat=True))


def order_for_verification(order_pk: int) -> Order | None:
    """The order a verification message is written for, with what the message names."""
    return (
        Order.objects.select_related("store", "customer")
        .prefetch_related("payments")
        .filter(pk=order_pk)
        .first()
    )


def review_for_api(order_id: int) -> OrderRisk | None:
    """One order's assessment with everything the API's detail shows (one query per
    collection), or None when the order is unknown or not scored."""
    return (
        OrderRisk.objects.select_related("order__customer", "decided_by_rule")
        .prefetch_related(
            Prefetch(
                "decisions",
                queryset=RiskDecision.objects.select_related("actor").order_by("created_at", "pk"),
            ),
            Prefetch(
                "order__tasks",
                queryset=OrderTask.objects.filter(status=OrderTask.Status.OPEN).order_by(
                    "created_at"
                ),
                to_attr="open_tasks",
            ),
        )
        .filter(order_id=order_id)
        .first()
    )
