"""The priority score: points from what the message says and what is at stake, with reasons.

Weights are data: the built-in defaults below, the deploy's settings `TRIAGE_PRIORITY_WEIGHTS`
over them, and over both the newest version leads saved in the desk (`PriorityWeights`,
validated whole, audited). A new version applies to tickets scored from then on;
`do_rescore_open_tickets` re-scores the open ones set-based (button, command, task). Every
point comes with the reason shown on the ticket. The score maps to the desk's priority levels;
a priority an agent set by hand is never overridden.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from storedesk.desk.models import Ticket, TicketEvent
from storedesk.triage.intents import Intent, Mood, Threat
from storedesk.triage.models import PriorityWeights

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
        if not isinstance(pair, list | tuple) or len(pair) != 2:
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


def level_thresholds(w: dict) -> dict[str, int]:
    by_level = {level: threshold for threshold, level in w["levels"]}
    return {key: by_level.get(level) for key, level in LEVEL_KEYS.items()}


def latest_weights() -> PriorityWeights | None:
    return PriorityWeights.newest()


def weights_of(version: PriorityWeights | None) -> dict:
    """Defaults, then the deploy's settings, then the saved version (when there is one)."""
    base = DEFAULT_WEIGHTS | settings.TRIAGE_PRIORITY_WEIGHTS
    return base | (version.weights if version is not None else {})


def weights() -> dict:
    """The weights that apply now (one query: the newest saved version)."""
    return weights_of(latest_weights())


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
    elif facts.get("sla_minutes_left") is not None and facts["sla_minutes_left"] <= 60:
        add(w["sla_close"], gettext_noop("SLA due within the hour"))
    reasons.sort(key=lambda item: -abs(item["points"]))
    score = sum(item["points"] for item in reasons)
    level = next((int(lv) for threshold, lv in w["levels"] if score >= threshold), LOWEST_LEVEL)
    return PriorityScore(score=score, level=level, reasons=reasons)


def version_number(version: PriorityWeights | None) -> int | None:
    return version.version if version is not None else None


def set_by_hand(ticket: Ticket) -> bool:
    return TicketEvent.objects.filter(ticket=ticket, kind="priority", actor__isnull=False).exists()


# --- re-scoring the open tickets ---------------------------------------------------------------
