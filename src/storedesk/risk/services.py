"""Payment risk services: the only writers of risk state (scores, rules, lists)."""

from __future__ import annotations

import gc
import ipaddress
import os
import pickle
import re
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from multiprocessing import get_context
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from storedesk.audit.services import record_audit, record_audit_bulk
from storedesk.commerce.models import Order
from storedesk.core.bulk import bulk_insert
from storedesk.core.events import handles, record_events_bulk
from storedesk.risk import assessor
from storedesk.risk.facts import address_key, among, facts_for_orders, store_amounts
from storedesk.risk.language import Action, Rule, RuleError, check, parse_rule
from storedesk.risk.model import active_model
from storedesk.risk.models import (
    OrderRisk,
    RiskDecision,
    RiskList,
    RiskListEntry,
    RiskRule,
    RiskRuleVersion,
)
from storedesk.risk.queries import (  # also their old import path
    list_types,
    list_values,
    rule_attributes,
    validate_rule,
)
from storedesk.risk.scoring import SCORE_ATTRIBUTE, assess

if TYPE_CHECKING:
    import numpy as np

BATCH = 1000

DEFAULT_LISTS = {
    "blocked_emails": gettext_noop("emails reported as fraud"),
    "blocked_cards": gettext_noop("card fingerprints reported as fraud"),
    "blocked_ips": gettext_noop("IP addresses reported as fraud"),
    "blocked_addresses": gettext_noop("shipping address keys reported as fraud"),
    "freight_forwarders": gettext_noop(
        "shipping address keys of known freight forwarders and reshippers"
    ),
}
DEFAULT_RULES = [
    (gettext_noop("Blocked email"), "cancel_and_refund if :email: in @blocked_emails"),
    (gettext_noop("Blocked card"), "cancel_and_refund if :card_fingerprint: in @blocked_cards"),
    # The issuer says the card holder did not make this payment: most such payments become
    # fraud disputes, so nothing ships before someone looks (a refund may still prevent it).
    (gettext_noop("Early fraud warning"), "hold_fulfillment if :order_early_fraud_warnings: > 0"),
    (gettext_noop("Gateway says highest risk"), "review if :gateway_risk_level: = 'highest'"),
    (gettext_noop("High score"), "review if :risk_score: >= 60"),
    (
        gettext_noop("Forwarder on a first order"),
        "review if :ships_to_freight_forwarder: and :is_first_order:",
    ),
    (
        gettext_noop("Disposable email, real money"),
        "review if :is_disposable_email: and :amount_usd: > 150",
    ),
    (gettext_noop("Card testing from one IP"), "review if :declines_per_ip_1h: >= 3"),
    (gettext_noop("Failed CVC"), "hold_fulfillment if :cvc_check: = 'fail'"),
    (
        gettext_noop("Big first order, far from billing"),
        "review if :is_first_order: and :amount_usd: > 300 "
        "and :distance_billing_shipping_km: > 1500",
    ),
    (
        gettext_noop("Express on a big first order"),
        "review if :expedited_first_order: and :amount_usd: > 400",
    ),
]


def _rule_state(rule: RiskRule) -> dict:
    return {
        "name": rule.name,
        "source": rule.source,
        "priority": rule.priority,
        "enabled": rule.is_enabled,
    }


def _write_version(rule: RiskRule, *, actor, note: str, before: dict | None) -> RiskRule:
    """Save the rule as its next version, with the version row and the audit entry."""
    rule.version = rule.version + 1 if before is not None else 1
    rule.save()
    RiskRuleVersion.objects.create(
        rule=rule,
        version=rule.version,
        source=rule.source,
        priority=rule.priority,
        is_enabled=rule.is_enabled,
        changed_by=actor,
        changed_at=timezone.now(),
        note=note[:200],
    )
    record_audit(
        actor=actor,
        action="risk.rule_saved",
        obj=rule,
        changes={"before": before, "after": _rule_state(rule), "version": rule.version},
    )
    return rule


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
    """Create a rule or write a new version of one (the old text stays in its versions).
    Saving an unchanged rule writes no version. Rules are read afresh for every scoring run,
    so the next order scored already sees the new version."""
    parsed = validate_rule(source)
    before = None
    if rule is None:
        rule = RiskRule(name=(name or source).strip()[:120])
    else:
        rule = RiskRule.objects.select_for_update().get(pk=rule.pk)
        before = _rule_state(rule)
        rule.name = name.strip()[:120] or rule.name
    rule.source, rule.action = source.strip(), parsed.action.value
    rule.priority, rule.is_enabled = priority, is_enabled
    if before is not None and _rule_state(rule) == before:
        return rule
    return _write_version(rule, actor=actor, note=note, before=before)


@transaction.atomic
def do_set_rule_enabled(rule: RiskRule, enabled: bool, *, actor, note: str = "") -> RiskRule:
    """Switch a rule on or off as a new version. Switching on checks the rule again (a signal
    may have been renamed since); switching off never needs to, so a broken rule can always
    be turned off."""
    rule = RiskRule.objects.select_for_update().get(pk=rule.pk)
    if rule.is_enabled == enabled:
        return rule
    if enabled:
        validate_rule(rule.source)
    before = _rule_state(rule)
    rule.is_enabled = enabled
    return _write_version(rule, actor=actor, note=note, before=before)


RULE_PRIORITY_STEP = 10


@transaction.atomic
def do_reorder_rules(rule_ids: Sequence[int], *, actor) -> int:
    """Give the rules priorities 10, 20, 30 … in this order (rules not named keep their place
    after them); each rule whose priority changes gets a new version. Returns how many did."""
    rules = {rule.pk: rule for rule in RiskRule.objects.select_for_update().order_by("pk")}
    wanted = [rules[pk] for pk in dict.fromkeys(rule_ids) if pk in rules]
    rest = sorted(
        (rule for pk, rule in rules.items() if pk not in set(rule_ids)),
        key=lambda rule: (rule.priority, rule.pk),
    )
    changed = 0
    for position, rule in enumerate([*wanted, *rest], start=1):
        if rule.priority != position * RULE_PRIORITY_STEP:
            before = _rule_state(rule)
            rule.priority = position * RULE_PRIORITY_STEP
            _write_version(rule, actor=actor, note="reordered", before=before)
            changed += 1
    return changed


def next_rule_priority() -> int:
    """After the last rule, so a new rule does not jump ahead of the store's rules."""
    last = RiskRule.objects.order_by("-priority").values_list("priority", flat=True).first()
    return (last or 0) + RULE_PRIORITY_STEP


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


# What each default list holds, so entries typed by hand are checked and written the way the
# signals compare them (emails and fingerprints lower-cased, IPs in their canonical form).
LIST_KINDS = {
    "blocked_emails": "email",
    "blocked_cards": "card",
    "blocked_ips": "ip",
    "blocked_addresses": "address",
    "freight_forwarders": "address",
}
LIST_VALUE_MAX_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CARD = re.compile(r"^[a-z0-9_-]{4,64}$")
_ADDRESS_KEY = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ListValueError:
    line: int
    text: str
    message: str


def list_kind(risk_list: RiskList) -> str:
    return LIST_KINDS.get(risk_list.name, "text")


def _clean_list_value(kind: str, text: str) -> tuple[str, str]:
    """One typed value as stored, and a note for it; ValueError says what is wrong."""
    if any(ord(character) < 32 or ord(character) == 127 for character in text):
        raise ValueError(_("control characters are not allowed"))
    if kind == "address" and not _ADDRESS_KEY.match(text.lower()):
        parts = [part.strip() for part in text.split("|")]
        if len(parts) == 3:
            parts.insert(1, "")
        if len(parts) != 4 or not parts[0] or not parts[2] or len(parts[3]) != 2:
            raise ValueError(
                _("write the address as: street | unit (optional) | ZIP | country code")
            )
        address = dict(zip(("address1", "address2", "zip", "country_code"), parts, strict=True))
        return address_key(address), " ".join(part for part in parts if part)[:200]
    value = text.lower()
    if len(value) > LIST_VALUE_MAX_LENGTH:
        raise ValueError(_("longer than %(max)s characters") % {"max": LIST_VALUE_MAX_LENGTH})
    if kind == "email" and not _EMAIL.match(value):
        raise ValueError(_("not an email address"))
    if kind == "card" and not _CARD.match(value):
        raise ValueError(_("not a card fingerprint (letters, digits, - and _)"))
    if kind == "ip":
        try:
            value = str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(_("not an IPv4 or IPv6 address")) from None
    return value, ""


def clean_list_values(
    risk_list: RiskList, lines: Sequence[str]
) -> tuple[dict[str, str], list[ListValueError]]:
    """Values typed one per line, checked for what the list holds: {value: note} and the lines
    that are wrong (blank lines are skipped, repeats kept once)."""
    kind = list_kind(risk_list)
    values: dict[str, str] = {}
    errors = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            value, note = _clean_list_value(kind, text)
        except ValueError as error:
            errors.append(ListValueError(number, text[:120], str(error)))
            continue
        values.setdefault(value, note)
    return values, errors


@transaction.atomic
def do_add_to_list(
    list_name: str,
    values: Sequence[str],
    *,
    actor,
    note: str = "",
    entry_notes: Mapping[str, str] | None = None,
) -> int:
    """Add values (stored lower-cased; already listed ones are left as they are); returns how
    many were new. `entry_notes` adds a note of its own to some values."""
    risk_list = RiskList.objects.select_for_update().get(name=list_name)
    entry_notes = entry_notes or {}
    wanted = list(
        dict.fromkeys(value.strip().lower() for value in values if value and value.strip())
    )
    present = set(risk_list.entries.filter(value__in=wanted).values_list("value", flat=True))
    entries = [
        RiskListEntry(
            risk_list=risk_list,
            value=value,
            note=" · ".join(part for part in (entry_notes.get(value, ""), note) if part)[:200],
            added_by=actor,
        )
        for value in wanted
        if value not in present
    ]
    RiskListEntry.objects.bulk_create(entries, ignore_conflicts=True)
    record_audit(
        actor=actor,
        action="risk.list_extended",
        obj=risk_list,
        changes={"added": [entry.value for entry in entries], "note": note},
    )
    return len(entries)


@transaction.atomic
def do_remove_from_list(list_name: str, values: Sequence[str], *, actor, note: str = "") -> int:
    """Take values off a list; returns how many were on it."""
    risk_list = RiskList.objects.select_for_update().get(name=list_name)
    wanted = {value.strip().lower() for value in values if value and value.strip()}
    removed = sorted(risk_list.entries.filter(value__in=wanted).values_list("value", flat=True))
    if removed:
        risk_list.entries.filter(value__in=removed).delete()
        record_audit(
            actor=actor,
            action="risk.list_reduced",
            obj=risk_list,
            changes={"removed": removed, "note": note},
        )
    return len(removed)


def active_rules() -> list[tuple[RiskRule, Rule]]:
    """Enabled rules in priority order, parsed; a rule that no longer checks (a signal was
    renamed) is skipped rather than crashing scoring, and shows up in `broken_rules`."""
    parsed = []
    lists = list_types()
    for rule in RiskRule.objects.filter(is_enabled=True).order_by("priority", "pk"):
        try:
            parsed.append((rule, _checked(rule.source, frozenset(lists.items()))))
        except RuleError:
            continue
    return parsed


@lru_cache(maxsize=512)
def _checked(source: str, lists: frozenset) -> Rule:
    """A rule's text parsed and checked once per process (scoring reads the rules for every
    order), again when the text or the lists change; an error is not cached."""
    return check(parse_rule(source), rule_attributes(), dict(lists))


# --- Scoring -------------------------------------------------------------------------------------

# A review a person has decided or is working on keeps its status, stage and hold.
WORKED_ON_STAGES = ("contact", "decide", "gateway", "done")
# A decided review stands: re-scoring for any other reason (a ticket, a rule or model change)
# leaves its assessment as the person saw it. Only new facts about the payment refresh it,
# and an approved order they put back in review is reopened on its timeline.
DECIDED_STATUSES = ("approved", "cancelled", "overtaken")
PAYMENT_FACTS = frozenset({"dispute", "early_fraud_warning", "payment_attempt", "address"})
_SCORED_FIELDS = (
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
)


def do_score_orders(
    order_ids: Sequence[int],
    *,
    actor=None,
    dispatch_events: bool = True,
    because: str = "",
    amounts: dict[int, np.ndarray] | None = None,
) -> int:
    """Compute signals, score and rule decision for orders, in batches of `BATCH` (one
    transaction each, set-based reads and writes); re-scoring replaces the assessment but
    never reopens or moves a review a person has worked on. Pass ids in time order when
    back-filling history, so each batch sees the velocity of the ones before it.

    The score is the active model's (`risk.model`, loaded once per version) or, until one is
    trained, the default points table. `dispatch_events=False` leaves the `order_flagged`
    events to the outbox sweep, as bulk loads do. `because` (a re-score after a new fact)
    records with each assessment what changed: score, action, status and signals, old and new.
    `amounts` (store id: sorted order totals) comes from a batch load that keeps them
    (`facts.StoreTotals`); otherwise they are read once per call."""
    amounts = dict(amounts or {})
    if len(order_ids) > 1 and not amounts:  # one read of the totals for every batch of the call
        for store_id in set(
            Order.objects.filter(pk__in=order_ids[:BATCH]).values_list("store_id", flat=True)
        ):
            amounts[store_id] = store_amounts(store_id, exact=True)
    run = ScoringRun(
        actor=actor,
        dispatch_events=dispatch_events,
        because=because,
        parallel=len(order_ids) >= PARALLEL_FROM_ORDERS,
    )
    with run:
        for start in range(0, len(order_ids), BATCH):
            run.add(order_ids[start : start + BATCH], amounts)
    return run.scored


PARALLEL_FROM_ORDERS = 3 * BATCH


class ScoringRun:
    """Scores orders batch by batch with the rules, lists and model read once.

    With `parallel` (a big re-score, a backfill, the demo load) the pure part of each batch
    (signals, score, rules: half the work) runs in a second process while this one writes the
    batch before and reads the facts of the next, so a store's history is scored on two
    cores. The assessments are the same: the same facts go through the same functions. The
    second process is started fresh (spawned), not forked: native thread pools (OpenMP, Polars)
    do not survive a fork, and the scoring model may use them.
    """

    def __init__(self, *, actor=None, dispatch_events=True, because="", parallel=False):
        self.rules, self.lists, self.model = active_rules(), list_values(), active_model()
        self.actor, self.dispatch_events, self.because = actor, dispatch_events, because
        self.scored = 0
        self._pending: deque = deque()
        self._pool = None
        if parallel:
            geoip_settings = {name: getattr(settings, name) for name in GEOIP_SETTINGS}
            self._pool = ProcessPoolExecutor(
                1,
                mp_context=get_context("spawn"),
                initializer=assessor.start,
                initargs=(
                    os.environ.get("DJANGO_SETTINGS_MODULE"),
                    geoip_settings,
                    pickle.dumps((self.rules, self.lists, self.model)),
                ),
            )
            self._pool.submit(assessor.ready)  # starts it while the first facts are read

    def add(self, order_ids: Sequence[int], amounts: dict | None = None) -> None:
        """Score these orders (ids in time order); written now, or with the next batch."""
        if self._pool is None:
            with transaction.atomic(), _cyclic_gc_paused():
                facts = facts_for_orders(order_ids, amounts=amounts)
                assessments = assess(facts, self.rules, self.lists, self.model) if facts else []
                self._store(list(facts), assessments)
            return
        with transaction.atomic(), _cyclic_gc_paused():
            facts = facts_for_orders(order_ids, amounts=amounts)
        self._pending.append((list(facts), self._pool.submit(assessor.assess_batch, facts)))
        while len(self._pending) > 1:
            self._store_next()

    def close(self) -> int:
        """Write what is still being assessed; returns how many orders the run scored."""
        try:
            while self._pending:
                self._store_next()
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
        return self.scored

    def __enter__(self) -> ScoringRun:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            self._pending.clear()  # nothing more is written after a failure
        self.close()

    def _store_next(self) -> None:
        order_ids, result = self._pending.popleft()
        assessments = result.result()
        with transaction.atomic(), _cyclic_gc_paused():
            self._store(order_ids, assessments)

    def _store(self, order_ids: list[int], assessments: list) -> None:
        if not assessments:
            return
        actor, dispatch_events, because = self.actor, self.dispatch_events, self.because
        columns = ["order_id", "status", "stage", "fulfillment_held"]
        if because:
            columns += ["score", "action", "signals"]
        earlier = {
            row[0]: row[1:]
            for row in OrderRisk.objects.filter(among("order_id", order_ids)).values_list(*columns)
        }
        before = {order_id: row[:3] for order_id, row in earlier.items()}
        requested = _requested_reviews(before, assessments)
        now, rows, flagged, reopened = timezone.now(), [], [], []
        new_payment_facts = because in PAYMENT_FACTS
        for assessment in assessments:
            order_id, action = assessment.order_id, assessment.action
            previous = before.get(order_id)
            decided = previous is not None and previous[0] in DECIDED_STATUSES
            if decided and not new_payment_facts:
                continue
            if decided and previous[0] == OrderRisk.Status.APPROVED and action != Action.ALLOW:
                status, stage = OrderRisk.Status.IN_REVIEW, OrderRisk.Stage.CHECK
                held = action in (Action.HOLD_FULFILLMENT, Action.CANCEL_AND_REFUND)
                flagged.append(order_id)
                reopened.append((order_id, assessment))
            elif previous is not None and (
                decided or previous[1] in WORKED_ON_STAGES or order_id in requested
            ):
                status, stage, held = previous
            else:
                status = (
                    OrderRisk.Status.CLEAR if action == Action.ALLOW else OrderRisk.Status.IN_REVIEW
                )
                stage = OrderRisk.Stage.CHECK if status == OrderRisk.Status.IN_REVIEW else "detect"
                held = action in (Action.HOLD_FULFILLMENT, Action.CANCEL_AND_REFUND)
                if status == OrderRisk.Status.IN_REVIEW and (
                    previous is None or previous[0] != OrderRisk.Status.IN_REVIEW
                ):
                    flagged.append(order_id)
            score = assessment.score
            rows.append(
                {
                    "order_id": order_id,
                    "signals": assessment.stored,
                    "score": score.value,
                    "score_reasons": score.reasons,
                    "model_version": score.model_version,
                    "action": str(action),
                    "decided_by_rule_id": assessment.rule.pk if assessment.rule else None,
                    "rule_outcomes": assessment.outcomes,
                    "status": str(status),
                    "stage": str(stage),
                    "fulfillment_held": held,
                    "amount_usd": assessment.amount_usd,
                    "scored_at": now,
                }
            )
        if not rows:
            return
        bulk_insert(OrderRisk, rows, update_fields=_SCORED_FIELDS, unique_fields=("order",))
        ids = dict(
            OrderRisk.objects.filter(among("order_id", order_ids)).values_list("order_id", "pk")
        )
        if because:
            record_audit_bulk(
                actor_label=str(actor) if actor else "system",
                action="risk.order_rescored",
                objects=[_bare_risk(ids[row["order_id"]], row) for row in rows],
                changes_for=lambda risk: _rescore_changes(
                    risk, earlier.get(risk.order_id), because
                ),
            )
        else:
            record_audit_bulk(
                actor_label=str(actor) if actor else "system",
                action="risk.order_scored",
                objects=[_bare_risk(ids[row["order_id"]], row) for row in rows],
                changes_for=lambda risk: {
                    "score": risk.score,
                    "action": risk.action,
                    "status": risk.status,
                    "model_version": risk.model_version,
                },
            )
        if reopened:
            _record_reopened(reopened, ids, actor, because, now)
        record_events_bulk(
            "order_flagged",
            [{"order_id": order_id} for order_id in flagged],
            dispatch=dispatch_events,
        )
        self.scored += len(rows)


def _record_reopened(reopened: list, ids: dict[int, int], actor, because: str, now) -> None:
    """The visible trace of approved reviews that new payment facts reopened: a timeline row
    saying which fact and which rule, and an audit entry on each order."""
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    rows = []
    for order_id, assessment in reopened:
        rule = assessment.rule.name if assessment.rule else ""
        rows.append(
            RiskDecision(
                order_risk_id=ids[order_id],
                kind=RiskDecision.Kind.REOPENED,
                stage=OrderRisk.Stage.CHECK,
                reason=_("Reopened: new payment facts (%(fact)s); rule %(rule)s → %(action)s")
                % {"fact": because, "rule": rule or "—", "action": assessment.action},
                details={
                    "because": because,
                    "rule": rule,
                    "action": str(assessment.action),
                    "score": assessment.score.value,
                },
                actor_id=actor_id,
                created_at=now,
            )
        )
    RiskDecision.objects.bulk_create(rows)
    orders = Order.objects.filter(pk__in=[order_id for order_id, _a in reopened]).only("pk")
    record_audit_bulk(
        actor_label=str(actor) if actor else "system",
        action="risk.reopened",
        objects=list(orders),
        changes_for=lambda order: {"because": because, "status": ["approved", "in_review"]},
    )


@contextmanager
def _cyclic_gc_paused():
    """A batch keeps thousands of small objects alive until it is written, so the cyclic
    collector would run its full collection (every object of the process) again and again
    for nothing: scoring makes no reference cycles. It runs after the batch instead."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


GEOIP_SETTINGS = ("GEOIP_PATH", "GEOIP_ANONYMOUS_PATH", "RISK_ANONYMOUS_NETWORKS_PATH")


def _requested_reviews(before: dict, assessments) -> set[int]:
    """Orders in review because someone asked for it (a triage rule, an agent), which a
    re-score that finds nothing must not clear; read only when a re-score would clear one."""
    clearing = [
        a.order_id
        for a in assessments
        if a.action == Action.ALLOW
        and (before.get(a.order_id) or ("",))[0] == OrderRisk.Status.IN_REVIEW
    ]
    if not clearing:
        return set()
    return set(
        RiskDecision.objects.filter(
            kind=RiskDecision.Kind.OPENED, order_risk__order_id__in=clearing
        ).values_list("order_risk__order_id", flat=True)
    )


def _rescore_changes(risk: OrderRisk, earlier: tuple | None, because: str) -> dict:
    """What a re-score changed: {field: [old, new]} for score, action and status, and the
    signals whose value moved."""
    changes: dict = {"because": because}
    if earlier is None:
        changes.update(score=[None, risk.score], action=[None, risk.action])
        changes["status"] = [None, risk.status]
        return changes
    status, _stage, _held, score, action, signals = earlier
    for name, old, new in (
        ("score", score, risk.score),
        ("action", action, risk.action),
        ("status", status, risk.status),
    ):
        if old != new:
            changes[name] = [old, new]
    signals = signals or {}
    moved = {
        name: [signals.get(name), value]
        for name, value in risk.signals.items()
        if signals.get(name) != value and name != SCORE_ATTRIBUTE
    }
    if moved:
        changes["signals"] = moved
    return changes


def _bare_risk(pk: int, row: dict) -> OrderRisk:
    """An OrderRisk carrying only what its audit entry shows (no per-field __init__)."""
    risk = OrderRisk.__new__(OrderRisk)
    risk.__dict__.update(row, id=pk)
    risk._state = ModelState()
    risk._state.adding = False
    return risk


# --- Review decisions made elsewhere ----------------------------------------------------------


@dataclass(frozen=True)
class PastDecision:
    """A review decision taken outside Storedesk (another tool, before it was installed; the
    demo's simulated history): approve, cancel or cancel_fraud, when, and why."""

    order_id: int
    kind: str
    decided_at: datetime
    reason: str


_IMPORTABLE = {
    RiskDecision.Kind.APPROVE: (OrderRisk.Status.APPROVED, False, "good"),
    RiskDecision.Kind.CANCEL: (OrderRisk.Status.CANCELLED, True, None),
    RiskDecision.Kind.CANCEL_FRAUD: (OrderRisk.Status.CANCELLED, True, "fraud"),
}


@transaction.atomic
def do_import_review_decisions(decisions: Sequence[PastDecision], *, actor=None) -> int:
    """Close open reviews with decisions already taken elsewhere, set-based: status, stage
    done, the timeline row (at its own time, marked imported) and the audit entry. Only
    reviews nobody has worked on here are touched; nothing is sent, refunded or blocked,
    since what followed those decisions already happened where they were taken. Returns how
    many reviews were closed; the fraud/good ones become labels for the score model."""
    for decision in decisions:
        if decision.kind not in _IMPORTABLE:
            raise ValueError(f"cannot import a {decision.kind!r} decision")
    by_order = {decision.order_id: decision for decision in decisions}
    open_reviews = dict(
        OrderRisk.objects.filter(
            order_id__in=list(by_order),
            status=OrderRisk.Status.IN_REVIEW,
            stage__in=[OrderRisk.Stage.DETECT, OrderRisk.Stage.CHECK],
        ).values_list("order_id", "pk")
    )
    closed = [by_order[order_id] for order_id in sorted(open_reviews)]
    for kind, (status, held, _label) in _IMPORTABLE.items():
        ids = [open_reviews[d.order_id] for d in closed if d.kind == kind]
        for start in range(0, len(ids), BATCH):
            OrderRisk.objects.filter(pk__in=ids[start : start + BATCH]).update(
                status=status, stage=OrderRisk.Stage.DONE, fulfillment_held=held
            )
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    bulk_insert(
        RiskDecision,
        [
            {
                "order_risk_id": open_reviews[d.order_id],
                "kind": d.kind,
                "stage": OrderRisk.Stage.DONE,
                "reason": d.reason,
                "details": {"imported": True}
                | ({"label": _IMPORTABLE[d.kind][2]} if _IMPORTABLE[d.kind][2] else {}),
                "actor_id": actor_id,
                "created_at": d.decided_at,
            }
            for d in closed
        ],
    )
    record_audit_bulk(
        actor_label=str(actor) if actor else "system",
        action="risk.review_imported",
        objects=[_bare_risk(open_reviews[d.order_id], {"order_id": d.order_id}) for d in closed],
        changes_for=lambda risk: {
            "kind": by_order[risk.order_id].kind,
            "decided_at": by_order[risk.order_id].decided_at,
        },
    )
    return len(closed)


@handles("order_created")
def score_new_order(event) -> None:
    """Every order is scored as it arrives. An order already assessed is not scored again
    here: bulk loads (imports, the demo) score their orders in batches themselves and leave
    these events to the outbox sweep, which then only confirms them."""
    order_id = event.payload["order_id"]
    if not OrderRisk.objects.filter(order_id=order_id).exists():
        do_score_orders([order_id])


# --- Re-scoring when new facts arrive -----------------------------------------------------------


def do_rescore_orders(order_ids: Sequence[int], *, because: str, actor=None) -> int:
    """Recompute the assessment of orders a new fact is about (a dispute, an early fraud
    warning, a ticket), set-based whatever the count; each stored assessment records what
    changed, and an order that now needs review enters the queue (`order_flagged`). A review
    a person worked on, or one opened on request, keeps its state. Idempotent: the same facts
    give the same assessment."""
    wanted = sorted({int(order_id) for order_id in order_ids if order_id})
    existing = (
        list(
            Order.objects.filter(pk__in=wanted)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)
        )
        if wanted
        else []
    )
    return do_score_orders(existing, actor=actor, because=because) if existing else 0


@handles("disputes_opened")
def rescore_after_disputes(event) -> None:
    """One pass for a whole ingest batch of disputes (its orders arrive in one event)."""
    do_rescore_orders(event.payload.get("order_ids") or [], because="dispute")


@handles("early_fraud_warning_recorded")
def rescore_after_early_fraud_warning(event) -> None:
    order_id = event.payload.get("order_id")
    if order_id:
        do_rescore_orders([order_id], because="early_fraud_warning")


@handles("early_fraud_warning_updated")
def rescore_after_early_fraud_warning_linked(event) -> None:
    """A warning stored before its charge was known counts once its order is found."""
    if "order_id" in (event.payload.get("changed") or ()) and event.payload.get("order_id"):
        do_rescore_orders([event.payload["order_id"]], because="early_fraud_warning")


@handles("ticket_orders_linked")
def rescore_after_ticket(event) -> None:
    do_rescore_orders(event.payload.get("order_ids") or [], because="ticket")


@handles("order_facts_changed")
def rescore_after_order_update(event) -> None:
    """The source reported new facts about an order (a payment, an address, a cancellation,
    a parcel): its assessment follows. A changed address or a new payment counts as a payment
    fact (it may reopen a decided review); the rest only refreshes the score."""
    changed = set(event.payload.get("changed") or ())
    if {"shipping_address", "billing_address"} & changed:
        because = "address"
    elif "payments" in changed:
        because = "payment_attempt"
    else:
        because = "order_update"
    do_rescore_orders([event.payload.get("order_id")], because=because)


# --- Re-scoring after a new model ----------------------------------------------------------

RESCORE_DAYS = 7


def do_rescore_open_orders(
    *, as_of: datetime | None = None, actor=None, days: int = RESCORE_DAYS, dispatch_events=True
) -> int:
    """Re-score the last `days` of orders whose assessment no person has acted on (clear, or
    in review at its first stages) with today's rules, lists and model."""
    as_of = as_of or timezone.now()
    ids = list(
        OrderRisk.objects.filter(
            order__created_at__gte=as_of - timedelta(days=days),
            order__created_at__lte=as_of,
            status__in=[OrderRisk.Status.CLEAR, OrderRisk.Status.IN_REVIEW],
            stage__in=[OrderRisk.Stage.DETECT, OrderRisk.Stage.CHECK],
        )
        .order_by("order__created_at", "order_id")
        .values_list("order_id", flat=True)
    )
    return do_score_orders(ids, actor=actor, dispatch_events=dispatch_events)
