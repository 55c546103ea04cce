"""The priority score: points from what the message says and what is at stake, with reasons.

Weights are data: the built-in defaults below, the deploy's settings `TRIAGE_PRIORITY_WEIGHTS`
over them, and over both the newest version leads saved in the desk (`PriorityWeights`,
validated whole, audited). A new version applies to tickets scored from then on;
`do_rescore_open_tickets` re-scores the open ones set-based (button, command, task). Every
point comes with the reason shown on the ticket. The score maps to the desk's priority levels;
a priority an agent set by hand is never overridden.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import batched

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from storedesk.audit.services import SYSTEM_ACTOR, record_audit, record_audit_bulk
from storedesk.core.events import handles, record_event
from storedesk.core.models import Counter, DomainEvent
from storedesk.desk.models import Ticket, TicketEvent
from storedesk.desk.services import do_set_priority
from storedesk.triage.facts import facts_for, facts_for_tickets, tickets_for_facts
from storedesk.triage.intents import Intent, Mood, Threat
from storedesk.triage.workflow_models import PriorityWeights, TicketPriority

DEFAULT_WEIGHTS: dict = {
    "intent": {
        "payment_problem": 25,
        "delivered_not_received": 20,
        "not_received": 15,
        "damaged": 15,
        "wrong_item": 15,
        "cancel_change": 15,
        "refund_request": 10,
        "tracking_stalled": 10,
        "wrong_size": 5,
        "return_exchange": 5,
        "warranty": 5,
        "order_status": 5,
        "compliment": -10,
    },
    "mood": {"angry": 20, "frustrated": 8},
    "anger": 10,  # times the 0–1 anger level
    "threat": {"chargeback": 35, "legal": 30, "bad_review": 20, "never_again": 10},
    "order_value": [[500, 15], [200, 8]],  # USD at or above: points (first that fits)
    "vip": 15,
    "lifetime_spend": [[2000, 10], [1000, 5]],
    "open_dispute": 40,
    "early_fraud_warning": 35,
    "payment_in_review": 20,
    "shipment_stuck": 15,  # the carrier has not scanned the parcel for its threshold
    "delivered_said_missing": 15,  # delivered per the carrier, the customer says not
    "age_points_per_hour": Decimal("0.5"),
    "age_max": 10,
    "sla_breached": 20,
    "sla_close": 10,  # next due time within the hour
    "levels": [[70, 4], [40, 3], [10, 2], [-1000, 1]],  # score at or above: desk priority
}

# What a lead may type: points of one signal, band thresholds, level thresholds.
POINTS_RANGE = (-100, 100)
ANGER_RANGE = (0, 100)
AGE_RATE_RANGE = (Decimal(0), Decimal(10))
THRESHOLD_RANGE = (0, 10_000_000)
LEVEL_RANGE = (-1000, 1000)
MAX_BANDS = 6
LEVEL_KEYS = {"urgent": 4, "high": 3, "normal": 2}
# The weights that are one number each (the rest are per-name tables and bands).
SCALAR_WEIGHTS = (
    "anger",
    "vip",
    "open_dispute",
    "early_fraud_warning",
    "payment_in_review",
    "shipment_stuck",
    "delivered_said_missing",
    "age_points_per_hour",
    "age_max",
    "sla_breached",
    "sla_close",
)
LOWEST_LEVEL = 1


class WeightsError(ValidationError):
    """A weight a lead typed that cannot be used; `field` names it (e.g. `threat.legal`)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _number(value, name: str, low, high, *, whole: bool = True) -> int | Decimal:
    if isinstance(value, bool):
        value = None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite():
        raise WeightsError(
            _("%(field)s must be a number, not “%(value)s”.") % {"field": name, "value": value},
            name,
        )
    if whole and number != number.to_integral_value():
        raise WeightsError(_("%(field)s must be a whole number.") % {"field": name}, name)
    if not low <= number <= high:
        raise WeightsError(
            _("%(field)s must be between %(low)s and %(high)s; %(value)s is out of range.")
            % {"field": name, "low": low, "high": high, "value": number},
            name,
        )
    return int(number) if whole else number.normalize()


def _points_map(value, name: str, allowed) -> dict[str, int]:
    if not isinstance(value, dict):
        raise WeightsError(_("%(field)s must map names to points.") % {"field": name}, name)
    result = {}
    for key, points in value.items():
        if key not in allowed:
            raise WeightsError(
                _("%(field)s: “%(key)s” is not one of %(allowed)s.")
                % {"field": name, "key": key, "allowed": ", ".join(allowed)},
                f"{name}.{key}",
            )
        points = _number(points, f"{name}.{key}", *POINTS_RANGE)
        if points:
            result[key] = points
    return result


def _bands(value, name: str) -> list[list[int]]:
    if not isinstance(value, list | tuple) or len(value) > MAX_BANDS:
        raise WeightsError(
            _("%(field)s is a list of at most %(count)s [threshold, points] pairs.")
            % {"field": name, "count": MAX_BANDS},
            name,
        )
    bands = {}
    for pair in value:
        if not isinstance(pair, list | tuple) or len(pair) != 2:  # noqa: PLR2004
            raise WeightsError(
                _("%(field)s: each band is a threshold and its points.") % {"field": name}, name
            )
        threshold = _number(pair[0], f"{name} threshold", *THRESHOLD_RANGE)
        if threshold in bands:
            raise WeightsError(
                _("%(field)s: the threshold %(value)s appears twice.")
                % {"field": name, "value": threshold},
                name,
            )
        bands[threshold] = _number(pair[1], f"{name} points", *POINTS_RANGE)
    return [[threshold, bands[threshold]] for threshold in sorted(bands, reverse=True)]


def _levels(value, name: str = "levels") -> list[list[int]]:
    """{urgent, high, normal: score at or above} or the stored [[score, level], …] form."""
    if isinstance(value, list | tuple):
        named = {level: threshold for threshold, level in value if level != LOWEST_LEVEL}
        value = {key: named.get(level) for key, level in LEVEL_KEYS.items()}
    if not isinstance(value, dict) or set(value) != set(LEVEL_KEYS):
        raise WeightsError(
            _("levels needs the scores at which a ticket becomes urgent, high and normal."), name
        )
    thresholds = {key: _number(value[key], f"{name}.{key}", *LEVEL_RANGE) for key in LEVEL_KEYS}
    if not thresholds["urgent"] > thresholds["high"] > thresholds["normal"]:
        raise WeightsError(
            _("The level scores must fall: urgent above high, high above normal."), name
        )
    return [
        *([thresholds[key], level] for key, level in LEVEL_KEYS.items()),
        [LEVEL_RANGE[0], LOWEST_LEVEL],
    ]


def validate_weights(data) -> dict:
    """Check a whole set of weights and return it in its stored form. A key left out takes
    the built-in default; inside `intent`, `mood` and `threat` a name left out scores 0."""
    if not isinstance(data, dict):
        raise WeightsError(_("The weights are an object of named values."), "")
    unknown = sorted(set(data) - set(DEFAULT_WEIGHTS))
    if unknown:
        raise WeightsError(
            _("Unknown weight: %(names)s.") % {"names": ", ".join(unknown)}, unknown[0]
        )
    merged = DEFAULT_WEIGHTS | data
    checked = {
        "intent": _points_map(merged["intent"], "intent", Intent.values),
        "mood": _points_map(merged["mood"], "mood", Mood.values),
        "threat": _points_map(merged["threat"], "threat", Threat.values),
        "anger": _number(merged["anger"], "anger", *ANGER_RANGE),
        "order_value": _bands(merged["order_value"], "order_value"),
        "lifetime_spend": _bands(merged["lifetime_spend"], "lifetime_spend"),
        "age_points_per_hour": str(
            _number(
                merged["age_points_per_hour"], "age_points_per_hour", *AGE_RATE_RANGE, whole=False
            )
        ),
        "age_max": _number(merged["age_max"], "age_max", 0, POINTS_RANGE[1]),
        "levels": _levels(merged["levels"]),
    }
    for name in (
        "vip",
        "open_dispute",
        "early_fraud_warning",
        "payment_in_review",
        "shipment_stuck",
        "delivered_said_missing",
    ):
        checked[name] = _number(merged[name], name, *POINTS_RANGE)
    for name in ("sla_breached", "sla_close"):
        checked[name] = _number(merged[name], name, *POINTS_RANGE)
    return {key: checked[key] for key in DEFAULT_WEIGHTS}


def bands_text(bands) -> str:
    """[[500, 15], [200, 8]] as a lead types it: `500:15, 200:8`."""
    return ", ".join(f"{threshold}:{points}" for threshold, points in bands)


def _bands_from_text(text: str, name: str) -> list[list[str]]:
    bands = []
    for part in (text or "").replace(";", ",").split(","):
        if not part.strip():
            continue
        threshold, colon, points = part.partition(":")
        if not colon:
            raise WeightsError(
                _("%(field)s: write each band as amount:points, e.g. 500:15, 200:8.")
                % {"field": name},
                name,
            )
        bands.append([threshold.strip(), points.strip()])
    return bands


def weights_from_form(data) -> dict:
    """The weights page's fields (`intent.refund_request`, `order_value` as `500:15, 200:8`,
    `levels.urgent` …) as the dict `validate_weights` checks. An empty field is 0 points."""

    def value(name: str):
        return (data.get(name) or "").strip() or "0"

    return {
        "intent": {intent: value(f"intent.{intent}") for intent in Intent.values},
        "mood": {mood: value(f"mood.{mood}") for mood in Mood.values},
        "threat": {threat: value(f"threat.{threat}") for threat in Threat.values},
        "order_value": _bands_from_text(data.get("order_value", ""), "order_value"),
        "lifetime_spend": _bands_from_text(data.get("lifetime_spend", ""), "lifetime_spend"),
        "levels": {key: value(f"levels.{key}") for key in LEVEL_KEYS},
        **{name: value(name) for name in SCALAR_WEIGHTS},
    }


def level_thresholds(w: dict) -> dict[str, int]:
    by_level = {level: threshold for threshold, level in w["levels"]}
    return {key: by_level.get(level) for key, level in LEVEL_KEYS.items()}


def latest_weights() -> PriorityWeights | None:
    return PriorityWeights.objects.select_related("changed_by").order_by("-version").first()


def weights_of(version: PriorityWeights | None) -> dict:
    """Defaults, then the deploy's settings, then the saved version (when there is one)."""
    base = DEFAULT_WEIGHTS | getattr(settings, "TRIAGE_PRIORITY_WEIGHTS", {})
    return base | (version.weights if version is not None else {})


def weights() -> dict:
    """The weights that apply now (one query: the newest saved version)."""
    return weights_of(latest_weights())


WEIGHTS_LOCK = "triage.priority_weights"


@transaction.atomic
def do_save_priority_weights(data: dict, *, actor, note: str = "") -> PriorityWeights:
    """Validate the whole set, then store it as a new version with an audit entry. Nothing is
    saved when a value is wrong; an unchanged set writes no version (returns the current one).
    Tickets scored from now on use it; open tickets keep their score until re-scored."""
    checked = validate_weights(data)
    # One lock row, there even before the first version: concurrent saves queue up behind it
    # (locking the newest version left two first saves both writing version 1).
    Counter.objects.select_for_update().get_or_create(name=WEIGHTS_LOCK)
    current = PriorityWeights.objects.order_by("-version").first()
    before = validate_weights(weights_of(current))
    if current is not None and checked == before:
        return current
    changed = {key: [before[key], checked[key]] for key in checked if checked[key] != before[key]}
    saved = PriorityWeights.objects.create(
        version=(current.version if current else 0) + 1,
        weights=checked,
        note=(note or "").strip()[:200],
        changed_by=actor if getattr(actor, "pk", None) else None,
        changed_at=timezone.now(),
    )
    record_audit(
        actor=actor,
        action="triage.priority_weights_saved",
        obj=saved,
        changes={"version": saved.version, "changed": changed, "note": saved.note},
    )
    return saved


@dataclass
class PriorityScore:
    score: int
    level: int
    reasons: list[dict]


def _band(value, bands) -> int:
    if value is None:
        return 0
    for threshold, points in bands:
        if Decimal(value) >= Decimal(threshold):
            return int(points)
    return 0


def score_facts(facts: dict, w: dict | None = None) -> PriorityScore:
    """Score one ticket's facts; the same facts always give the same score."""
    w = w or weights()
    reasons: list[dict] = []

    def add(points, reason: str) -> None:
        points = int(round(points))
        if points:
            reasons.append({"reason": reason, "points": points})

    if facts.get("intent"):
        add(w["intent"].get(facts["intent"], 0), f"intent: {facts['intent']}")
    if facts.get("second_intent"):
        add(w["intent"].get(facts["second_intent"], 0) / 2, f"also: {facts['second_intent']}")
    if facts.get("mood"):
        add(w["mood"].get(facts["mood"], 0), f"mood: {facts['mood']}")
    if facts.get("anger"):
        add(float(facts["anger"]) * w["anger"], gettext_noop("anger level"))
    for threat, points in w["threat"].items():
        if facts.get(f"threat_{threat}"):
            add(points, f"threat: {threat}")
    add(_band(facts.get("order_value"), w["order_value"]), gettext_noop("order value"))
    if facts.get("customer_vip"):
        add(w["vip"], gettext_noop("VIP customer"))
    add(_band(facts.get("lifetime_spend"), w["lifetime_spend"]), gettext_noop("lifetime spend"))
    if facts.get("open_dispute"):
        add(w["open_dispute"], gettext_noop("open dispute on the order"))
    if facts.get("early_fraud_warning"):
        add(w.get("early_fraud_warning", 0), gettext_noop("early fraud warning on the payment"))
    if facts.get("payment_in_review"):
        add(w["payment_in_review"], gettext_noop("payment in risk review"))
    if facts.get("shipment_stuck"):
        add(w.get("shipment_stuck", 0), gettext_noop("parcel stuck: no carrier scan"))
    if facts.get("delivered_said_missing"):
        add(
            w.get("delivered_said_missing", 0),
            gettext_noop("delivered per the carrier, the customer says not"),
        )
    age = facts.get("age_hours") or 0
    rate = Decimal(str(w["age_points_per_hour"]))
    add(min(Decimal(age) * rate, Decimal(w["age_max"])), gettext_noop("waiting time"))
    if facts.get("sla_breached"):
        add(w["sla_breached"], gettext_noop("SLA breached"))
    elif facts.get("sla_minutes_left") is not None and facts["sla_minutes_left"] <= 60:  # noqa: PLR2004
        add(w["sla_close"], gettext_noop("SLA due within the hour"))
    reasons.sort(key=lambda item: -abs(item["points"]))
    score = sum(item["points"] for item in reasons)
    level = next((int(lv) for threshold, lv in w["levels"] if score >= threshold), LOWEST_LEVEL)
    return PriorityScore(score=score, level=level, reasons=reasons)


def _version_number(version: PriorityWeights | None) -> int | None:
    return version.version if version is not None else None


def set_by_hand(ticket: Ticket) -> bool:
    return TicketEvent.objects.filter(ticket=ticket, kind="priority", actor__isnull=False).exists()


@transaction.atomic
def do_score_priority(ticket: Ticket, *, now: datetime | None = None) -> PriorityScore:
    """Score the ticket, store the reasons, and set the desk priority unless a person did."""
    now = now or timezone.now()
    version = latest_weights()
    result = score_facts(facts_for(ticket, now), weights_of(version))
    TicketPriority.objects.update_or_create(
        ticket=ticket,
        defaults={
            "score": result.score,
            "level": result.level,
            "reasons": result.reasons,
            "weights_version": _version_number(version),
            "computed_at": now,
        },
    )
    if not set_by_hand(ticket):
        top = ", ".join(item["reason"] for item in result.reasons[:3])
        do_set_priority(ticket, result.level, actor=None, reason=f"score {result.score}: {top}")
    return result


# --- re-scoring the open tickets ---------------------------------------------------------------

RESCORE_BATCH = 500


@dataclass
class RescoreResult:
    scored: int = 0
    changed: int = 0
    weights_version: int | None = None
    levels: dict[int, int] = field(default_factory=dict)


def _rescore_batch(
    ids: tuple[int, ...], w: dict, version: int | None, now: datetime, result: RescoreResult
) -> None:
    """One batch in one transaction and a fixed number of queries, whatever its size."""
    tickets = list(tickets_for_facts(ids))
    facts = facts_for_tickets(tickets, now)
    scores = {ticket.pk: score_facts(facts[ticket.pk], w) for ticket in tickets}
    TicketPriority.objects.bulk_create(
        [
            TicketPriority(
                ticket_id=pk,
                score=score.score,
                level=score.level,
                reasons=score.reasons,
                weights_version=version,
                computed_at=now,
            )
            for pk, score in scores.items()
        ],
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=["score", "level", "reasons", "weights_version", "computed_at"],
    )
    by_hand = set(
        TicketEvent.objects.filter(ticket_id__in=ids, kind="priority", actor__isnull=False)
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    changed = [
        ticket
        for ticket in tickets
        if ticket.pk not in by_hand and ticket.priority != scores[ticket.pk].level
    ]
    by_level: dict[int, list[int]] = defaultdict(list)
    for ticket in changed:
        by_level[scores[ticket.pk].level].append(ticket.pk)
    for level, pks in by_level.items():
        Ticket.objects.filter(pk__in=pks).update(priority=level, updated_at=now)
        result.levels[level] = result.levels.get(level, 0) + len(pks)
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket_id=ticket.pk,
            kind="priority",
            actor_label=SYSTEM_ACTOR,
            data={
                "old": ticket.priority,
                "new": scores[ticket.pk].level,
                "reason": f"re-scored with weights v{version or 0}: score "
                f"{scores[ticket.pk].score}",
            },
            created_at=now,
        )
        for ticket in changed
    )
    if changed:
        new_levels = {ticket.pk: scores[ticket.pk].level for ticket in changed}
        record_audit_bulk(
            actor_label=SYSTEM_ACTOR,
            action="desk.priority_changed",
            objects=changed,
            changes_for=lambda ticket: {"old": ticket.priority, "new": new_levels[ticket.pk]},
        )
        # SLA policies go by priority: the clocks of these tickets follow after commit.
        record_event("ticket_priority_changed", ticket_ids=[ticket.pk for ticket in changed])
    result.scored += len(tickets)
    result.changed += len(changed)


def _rescore(ids, *, now: datetime | None, batch_size: int) -> RescoreResult:
    now = now or timezone.now()
    version = latest_weights()
    w = weights_of(version)
    result = RescoreResult(weights_version=_version_number(version))
    for batch in batched(ids, batch_size):
        with transaction.atomic():
            _rescore_batch(batch, w, result.weights_version, now, result)
    return result


def _open_tickets():
    return Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES, merged_into__isnull=True)


def do_rescore_open_tickets(
    *, now: datetime | None = None, batch_size: int = RESCORE_BATCH
) -> RescoreResult:
    """Score every open ticket again with the weights that apply now: set-based, a fixed
    number of queries per batch of `batch_size` tickets, one transaction per batch. Priorities
    a person set stay; changed ones get a timeline event and an audit entry."""
    open_ids = _open_tickets().order_by("pk").values_list("pk", flat=True)
    return _rescore(open_ids.iterator(chunk_size=batch_size * 4), now=now, batch_size=batch_size)


def do_rescore_tickets_of_orders(order_ids, *, now: datetime | None = None) -> RescoreResult:
    """Re-score the open tickets about these orders (a dispute or an early fraud warning
    arrived: the dispute risk of their customers' messages changed)."""
    order_ids = [order_id for order_id in order_ids or () if order_id]
    if not order_ids:
        return RescoreResult()
    ids = list(
        _open_tickets()
        .filter(orders__in=order_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    if not ids:  # most disputes are about orders nobody wrote to us about
        return RescoreResult()
    return _rescore(ids, now=now, batch_size=RESCORE_BATCH)


@handles("ticket_orders_linked")
def rescore_after_orders_linked(event: DomainEvent) -> None:
    """An order linked (by hand, by a rule or by a merge) brings its value and dispute risk."""
    ids = list(
        _open_tickets().filter(pk=event.payload.get("ticket_id")).values_list("pk", flat=True)
    )
    if ids:
        _rescore(ids, now=None, batch_size=RESCORE_BATCH)


@handles("disputes_opened")
def rescore_after_disputes(event: DomainEvent) -> None:
    do_rescore_tickets_of_orders(event.payload.get("order_ids") or [])


@handles("early_fraud_warning_recorded")
def rescore_after_early_fraud_warning(event: DomainEvent) -> None:
    do_rescore_tickets_of_orders([event.payload.get("order_id")])


@handles("early_fraud_warning_updated")
def rescore_after_early_fraud_warning_linked(event: DomainEvent) -> None:
    """A warning stored before its charge was known counts once its order is found."""
    if {"order_id", "actionable"} & set(event.payload.get("changed") or ()):
        do_rescore_tickets_of_orders([event.payload.get("order_id")])


@handles("order_risk_approved")
@handles("order_risk_cancelled")
@handles("order_risk_closed")
@handles("order_flagged")
def rescore_after_risk_review_changed(event: DomainEvent) -> None:
    """A review decided, closed or (re)opened: "payment in risk review" must follow it on
    the tickets about that order."""
    do_rescore_tickets_of_orders([event.payload.get("order_id")])


@handles("order_facts_changed")
def rescore_after_order_update(event: DomainEvent) -> None:
    """Paid, refunded, shipped or cancelled: the tickets about the order weigh differently."""
    do_rescore_tickets_of_orders([event.payload.get("order_id")])
