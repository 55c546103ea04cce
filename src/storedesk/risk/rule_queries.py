"""Reads for the rule editor and the lists pages (the rule and list services are the writers)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext

from storedesk.commerce.models import Order
from storedesk.risk.language import RuleError, check, parse_rule
from storedesk.risk.models import OrderRisk, RiskList, RiskListEntry, RiskRule, RiskRuleVersion
from storedesk.risk.services import SCORE_ATTRIBUTE, list_types, rule_attributes
from storedesk.risk.signals import SIGNALS

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
