"""Reason knowledge as data: what each gateway reason and card network code means for the desk.

Seeded from `data/reason_rules.json` (facts of payments.md, each row with its source and
effective date) by a data migration; admins edit a rule by saving a new version, so a dispute
keeps reading the rule that was in force when it opened.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_noop

from storedesk.audit.services import record_audit
from storedesk.core.errors import ServiceError
from storedesk.disputes.models import Dispute, Family, ReasonRule, Stage

DATA_FILE = Path(__file__).with_name("data") / "reason_rules.json"

# Every item a checklist may name, with what satisfies it (see evidence.checklist_status).
CHECKLIST_ITEMS = {
    "order_receipt": gettext_noop("Order and receipt"),
    "authorization": gettext_noop("Authorization results (AVS, CVC, 3-D Secure)"),
    "purchase_ip_device": gettext_noop("Purchase IP address and device"),
    "shipping_tracking": gettext_noop("Carrier and tracking number"),
    "delivery_proof": gettext_noop("Delivery date and tracking events"),
    "delivery_signature": gettext_noop("Delivery signature"),
    "customer_communication": gettext_noop("Customer conversation"),
    "refund_policy": gettext_noop("Refund and return policy shown at purchase"),
    "shipping_policy": gettext_noop("Shipping policy shown at purchase"),
    "product_description": gettext_noop("Product description"),
    "prior_undisputed_orders": gettext_noop(
        "Earlier undisputed orders with the same IP, address or device (Visa CE 3.0)"
    ),
    "refunds_given": gettext_noop("Refunds already given"),
    "other_orders": gettext_noop("The customer's other orders and payments"),
    "rebuttal": gettext_noop("Rebuttal letter"),
}
ACTIONS = ("submit", "accept", "offer", "escalate")
ACTION_LABELS = {
    "submit": gettext_noop("Submit evidence"),
    "accept": gettext_noop("Accept"),
    "offer": gettext_noop("Make an offer"),
    "escalate": gettext_noop("Escalate"),
}


class ReasonRuleRefused(ServiceError):
    """The edited rule is not valid; the message says what to fix."""

    code = "invalid_reason_rule"
    status = 422


def seed_rows() -> list[dict]:
    """The shipped rules (used by the data migration and by tests)."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))["rules"]


def seed_reason_rules(model=None) -> None:
    """Create the shipped rules that are missing, as version 1. `model` is the migration's
    historical model, or the app's own (tests whose database was flushed)."""
    model = model or ReasonRule
    for row in seed_rows():
        model.objects.get_or_create(
            gateway=row["gateway"],
            reason=row["reason"],
            network_code=row["network_code"],
            version=1,
            defaults={
                key: row[key]
                for key in ("family", "response_days", "checklist", "actions", "source")
            }
            | {"effective_from": row["effective_from"]},
        )


@cache
def _seed_families() -> dict[tuple[str, str], str]:
    return {(row["gateway"], row["reason"]): row["family"] for row in seed_rows()}


def families_for(keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(gateway, reason) -> family from the current rules, in one query; a reason no rule
    names is `other` (it is shown humanised and can be given a rule later)."""
    found = {}
    if keys:
        rows = (
            ReasonRule.objects.filter(network_code="", reason__in={reason for _, reason in keys})
            .order_by("gateway", "reason", "effective_from", "version")
            .values_list("gateway", "reason", "family")
        )
        found = {(gateway, reason): family for gateway, reason, family in rows}
    return {key: found.get(key, _seed_families().get(key, Family.OTHER)) for key in keys}


def rule_for(dispute: Dispute, rules: list[ReasonRule] | None = None) -> ReasonRule | None:
    """The rule in force when the dispute opened: its network code's rule, else its reason's."""
    if rules is None:
        rules = list(
            ReasonRule.objects.filter(gateway=dispute.gateway, reason=dispute.reason).filter(
                network_code__in={"", dispute.network_reason_code}
            )
        )
    opened = dispute.opened_at.date()
    in_force = [rule for rule in rules if rule.effective_from <= opened] or rules
    for code in (dispute.network_reason_code, ""):
        matching = [rule for rule in in_force if rule.network_code == code]
        if matching:
            return max(matching, key=lambda rule: (rule.effective_from, rule.version))
    return None


def actions_allowed(rule: ReasonRule | None, stage: str) -> list[str]:
    if rule is None:
        return ["submit", "accept"]
    return [action for action in rule.actions.get(stage, []) if action in ACTIONS]


def _validate(fields: dict) -> None:
    if fields["family"] not in Family.values:
        raise ReasonRuleRefused(f"unknown reason family {fields['family']!r}")
    unknown = [item for item in fields["checklist"] if item not in CHECKLIST_ITEMS]
    if unknown:
        raise ReasonRuleRefused(f"unknown checklist items: {', '.join(unknown)}")
    for stage, actions in fields["actions"].items():
        if stage not in Stage.values:
            raise ReasonRuleRefused(f"unknown stage {stage!r}")
        bad = [action for action in actions if action not in ACTIONS]
        if bad:
            raise ReasonRuleRefused(f"unknown actions for {stage}: {', '.join(bad)}")


@transaction.atomic
def do_save_reason_rule(
    base: ReasonRule,
    *,
    actor,
    family: str,
    response_days: int,
    checklist: list[str],
    actions: dict[str, list[str]],
    source: str,
    effective_from: date | datetime,
) -> ReasonRule:
    """Save an edit as the next version of the rule (the old version stays, for disputes
    opened while it was in force)."""
    fields = {
        "family": family,
        "response_days": response_days,
        "checklist": list(checklist),
        "actions": dict(actions),
        "source": source.strip(),
        "effective_from": effective_from,
    }
    _validate(fields)
    if not fields["source"]:
        raise ReasonRuleRefused("say where the rule comes from (source)")
    key = {"gateway": base.gateway, "reason": base.reason, "network_code": base.network_code}
    latest = (
        ReasonRule.objects.select_for_update().filter(**key).aggregate(v=Max("version"))["v"] or 0
    )
    rule = ReasonRule.objects.create(**key, **fields, version=latest + 1, created_by=actor)
    record_audit(
        actor=actor,
        action="dispute.reason_rule_saved",
        obj=rule,
        changes={"version": rule.version, "family": family, "checklist": list(checklist)},
    )
    return rule


def current_rules():
    """The newest version of every rule, for the admin list."""
    rules = ReasonRule.objects.order_by("gateway", "reason", "network_code", "-version")
    seen, newest = set(), []
    for rule in rules:
        key = (rule.gateway, rule.reason, rule.network_code)
        if key not in seen:
            seen.add(key)
            newest.append(rule)
    return newest
