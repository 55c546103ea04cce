"""Payment risk services: the only writers of risk state (scores, rules, lists)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from storedesk.audit.services import record_audit, record_audit_bulk
from storedesk.core.events import handles, record_event
from storedesk.risk.evaluation import first_match
from storedesk.risk.facts import facts_for_orders
from storedesk.risk.language import Action, Rule, RuleError, ValueType, check, parse_rule
from storedesk.risk.models import OrderRisk, RiskList, RiskListEntry, RiskRule, RiskRuleVersion
from storedesk.risk.scoring import default_score
from storedesk.risk.signals import compute_signals, signal_types

BATCH = 1000
SCORE_ATTRIBUTE = "risk_score"

DEFAULT_LISTS = {
    "blocked_emails": "emails reported as fraud",
    "blocked_cards": "card fingerprints reported as fraud",
    "blocked_ips": "IP addresses reported as fraud",
    "blocked_addresses": "shipping address keys reported as fraud",
    "freight_forwarders": "shipping address keys of known freight forwarders and reshippers",
}
DEFAULT_RULES = [
    ("Blocked email", "cancel_and_refund if :email: in @blocked_emails"),
    ("Blocked card", "cancel_and_refund if :card_fingerprint: in @blocked_cards"),
    ("Gateway says highest risk", "review if :gateway_risk_level: = 'highest'"),
    ("High score", "review if :risk_score: >= 60"),
    ("Forwarder on a first order", "review if :ships_to_freight_forwarder: and :is_first_order:"),
    ("Disposable email, real money", "review if :is_disposable_email: and :amount_usd: > 150"),
    ("Card testing from one IP", "review if :declines_per_ip_1h: >= 3"),
    ("Failed CVC", "hold_fulfillment if :cvc_check: = 'fail'"),
    (
        "Big first order, far from billing",
        "review if :is_first_order: and :amount_usd: > 300 "
        "and :distance_billing_shipping_km: > 1500",
    ),
    ("Express on a big first order", "review if :expedited_first_order: and :amount_usd: > 400"),
]


def rule_attributes() -> dict[str, ValueType]:
    return signal_types() | {SCORE_ATTRIBUTE: ValueType.NUMBER}


def list_types() -> dict[str, ValueType]:
    return dict(RiskList.objects.values_list("name", "value_type"))


def validate_rule(source: str) -> Rule:
    """Parse and check a rule against today's signals and lists; RuleError says what is wrong."""
    return check(parse_rule(source), rule_attributes(), list_types())


@transaction.atomic
def do_save_rule(
    source: str,
    *,
    actor,
    name: str = "",
    priority: int = 100,
    is_enabled: bool = True,
    rule: RiskRule | None = None,
    note: str = "",
) -> RiskRule:
    """Create a rule or write a new version of one (the old text stays in its versions)."""
    parsed = validate_rule(source)
    before = None
    if rule is None:
        rule = RiskRule(name=name or source[:120], version=1)
    else:
        rule = RiskRule.objects.select_for_update().get(pk=rule.pk)
        before = {"source": rule.source, "priority": rule.priority, "enabled": rule.is_enabled}
        rule.version += 1
        rule.name = name or rule.name
    rule.source, rule.action = source.strip(), parsed.action.value
    rule.priority, rule.is_enabled = priority, is_enabled
    rule.save()
    RiskRuleVersion.objects.create(
        rule=rule,
        version=rule.version,
        source=rule.source,
        priority=priority,
        is_enabled=is_enabled,
        changed_by=actor,
        changed_at=timezone.now(),
        note=note,
    )
    after = {"source": rule.source, "priority": priority, "enabled": is_enabled}
    record_audit(
        actor=actor, action="risk.rule_saved", obj=rule, changes={"before": before, "after": after}
    )
    return rule


@transaction.atomic
def do_install_defaults(actor=None) -> None:
    """The default lists and rules, once (a store can edit or disable them afterwards)."""
    for name, description in DEFAULT_LISTS.items():
        RiskList.objects.get_or_create(name=name, defaults={"description": description})
    if not RiskRule.objects.exists():
        for priority, (name, source) in enumerate(DEFAULT_RULES, start=1):
            do_save_rule(
                source, actor=actor, name=name, priority=priority * 10, note="default rule"
            )


@transaction.atomic
def do_add_to_list(list_name: str, values: Sequence[str], *, actor, note: str = "") -> int:
    risk_list = RiskList.objects.get(name=list_name)
    entries = [
        RiskListEntry(risk_list=risk_list, value=value.strip().lower(), note=note, added_by=actor)
        for value in values
        if value and value.strip()
    ]
    created = RiskListEntry.objects.bulk_create(entries, ignore_conflicts=True)
    record_audit(
        actor=actor,
        action="risk.list_extended",
        obj=risk_list,
        changes={"added": [entry.value for entry in entries], "note": note},
    )
    return len(created)


def active_rules() -> list[tuple[RiskRule, Rule]]:
    """Enabled rules in priority order, parsed; a rule that no longer checks (a signal was
    renamed) is skipped rather than crashing scoring, and shows up in `broken_rules`."""
    parsed = []
    attributes, lists = rule_attributes(), list_types()
    for rule in RiskRule.objects.filter(is_enabled=True).order_by("priority", "pk"):
        try:
            parsed.append((rule, check(parse_rule(rule.source), attributes, lists)))
        except RuleError:
            continue
    return parsed


def list_values() -> dict[str, frozenset]:
    values: dict[str, set] = {
        name: set() for name in RiskList.objects.values_list("name", flat=True)
    }
    for name, value in RiskListEntry.objects.values_list("risk_list__name", "value"):
        values[name].add(value)
    return {name: frozenset(members) for name, members in values.items()}


def _jsonable(values: dict) -> dict:
    return {
        name: (str(value) if isinstance(value, Decimal) else value)
        for name, value in values.items()
    }


def do_score_orders(order_ids: Sequence[int], *, actor=None) -> int:
    """Compute signals, score and rule decision for orders, in batches; re-scoring replaces the
    assessment but never reopens a review a person has already decided."""
    rules, lists = active_rules(), list_values()
    scored = 0
    for start in range(0, len(order_ids), BATCH):
        with transaction.atomic():
            scored += _score_batch(order_ids[start : start + BATCH], rules, lists, actor)
    return scored


def _score_batch(order_ids, rules, lists, actor) -> int:
    facts = facts_for_orders(order_ids)
    if not facts:
        return 0
    decided = dict(
        OrderRisk.objects.filter(
            order_id__in=facts, status__in=[OrderRisk.Status.APPROVED, OrderRisk.Status.CANCELLED]
        ).values_list("order_id", "status")
    )
    now, rows, flagged = timezone.now(), [], []
    parsed_rules = [parsed for _, parsed in rules]
    model_of = {id(parsed): rule for rule, parsed in rules}
    for order_id, order_facts in facts.items():
        values = compute_signals(order_facts)
        score = default_score(values)
        values[SCORE_ATTRIBUTE] = score.value
        fired, outcomes = first_match(parsed_rules, values, lists)
        action = Action(fired.action) if fired else Action.ALLOW
        status = decided.get(order_id) or (
            OrderRisk.Status.CLEAR if action == Action.ALLOW else OrderRisk.Status.IN_REVIEW
        )
        rows.append(
            OrderRisk(
                order_id=order_id,
                signals=_jsonable(values),
                score=score.value,
                score_reasons=score.reasons,
                model_version=score.model_version,
                action=action,
                decided_by_rule=model_of[id(fired)] if fired else None,
                rule_outcomes=[
                    {
                        "rule": model_of[id(o.rule)].pk,
                        "source": o.rule.source,
                        "fired": o.fired,
                        "undecided": o.undecided,
                        "values": _jsonable(o.values),
                    }
                    for o in outcomes
                ],
                status=status,
                stage=OrderRisk.Stage.CHECK if status == "in_review" else "detect",
                fulfillment_held=action in (Action.HOLD_FULFILLMENT, Action.CANCEL_AND_REFUND),
                amount_usd=order_facts.amount_usd or 0,
                scored_at=now,
            )
        )
        if status == OrderRisk.Status.IN_REVIEW and order_id not in decided:
            flagged.append(order_id)
    OrderRisk.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["order"],
        update_fields=[
            "signals",
            "score",
            "score_reasons",
            "model_version",
            "action",
            "decided_by_rule",
            "rule_outcomes",
            "status",
            "stage",
            "fulfillment_held",
            "amount_usd",
            "scored_at",
        ],
    )
    record_audit_bulk(
        actor_label=str(actor) if actor else "system",
        action="risk.order_scored",
        objects=rows,
        changes_for=lambda row: {"score": row.score, "action": str(row.action)},
    )
    for order_id in flagged:
        record_event("order_flagged", order_id=order_id)
    return len(rows)


@handles("order_created")
def score_new_order(event) -> None:
    """Every order is scored as it arrives."""
    do_score_orders([event.payload["order_id"]])
