"""The 0-100 risk score and the assessment of a batch of orders.

Until the store has enough labelled history for a trained model (`risk.model`), a transparent
points table carries the score; every point awarded is a reason shown to the reviewer. Either
way a batch is assessed in one pass: signals per order, the score for the whole batch at once
(one vectorised prediction when a model is active), then the rules, which see the score as
`:risk_score:`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_noop

from storedesk.risk.evaluation import RuleSet
from storedesk.risk.fraud_signals import OrderFacts, compute_signals
from storedesk.risk.language import Action, Rule
from storedesk.risk.reference import geoip

SCORE_ATTRIBUTE = "risk_score"

# (signal, test, points, reason) — data, so a lead can read and tune it.
DEFAULT_WEIGHTS: list[tuple[str, object, int, str]] = [
    ("ships_to_freight_forwarder", True, 25, gettext_noop("ships to a freight forwarder")),
    ("is_disposable_email", True, 20, gettext_noop("disposable email address")),
    ("cvc_check", "fail", 20, gettext_noop("CVC check failed")),
    (
        "billing_shipping_country_differs",
        True,
        15,
        gettext_noop("billing and shipping countries differ"),
    ),
    ("ip_country_differs_from_billing", True, 15, gettext_noop("IP country differs from billing")),
    (
        "card_country_differs_from_billing",
        True,
        10,
        gettext_noop("card country differs from billing"),
    ),
    ("ip_is_anonymous", True, 15, gettext_noop("anonymous or hosting IP")),
    ("avs_postal_check", "fail", 10, gettext_noop("ZIP check failed")),
    ("expedited_first_order", True, 10, gettext_noop("expedited shipping on a first order")),
    ("billing_shipping_name_differs", True, 5, gettext_noop("billing and shipping names differ")),
    ("email_name_mismatch", True, 5, gettext_noop("email does not match the buyer's name")),
]
THRESHOLDS: list[tuple[str, Decimal, int, str]] = [
    ("distance_billing_shipping_km", Decimal("800"), 10, gettext_noop("billing far from shipping")),
    ("email_randomness", Decimal("0.6"), 10, gettext_noop("random-looking email")),
    (
        "amount_percentile_store",
        Decimal("95"),
        10,
        gettext_noop("unusually large order for this store"),
    ),
    ("high_risk_items_quantity", Decimal("2"), 10, gettext_noop("several high-value items")),
    ("orders_per_card_24h", Decimal("2"), 10, gettext_noop("card used on several orders today")),
    ("cards_per_email_24h", Decimal("2"), 15, gettext_noop("several cards tried with this email")),
    (
        "declines_per_ip_1h",
        Decimal("3"),
        20,
        gettext_noop("declined payments from this IP in the last hour"),
    ),
    ("declined_attempts", Decimal("2"), 10, gettext_noop("declined attempts before payment")),
]
GATEWAY_LEVEL_POINTS = {"elevated": 15, "highest": 35}
GATEWAY_LEVEL_REASONS = {
    "elevated": gettext_noop("gateway risk elevated"),
    "highest": gettext_noop("gateway risk highest"),
}
LOYAL_CUSTOMER_ORDERS = Decimal("3")


@dataclass(frozen=True)
class Score:
    value: int
    reasons: list[dict]
    model_version: str = "default-weights-1"


def default_score(values: dict) -> Score:
    """Points from the table above, plus the gateway's own score, minus loyalty; 0-100."""
    reasons = []

    def award(points: int, signal: str, reason: str):
        reasons.append(
            {
                "signal": signal,
                "points": points,
                "reason": reason,
                "value": _jsonable(values.get(signal)),
            }
        )

    for signal, expected, points, reason in DEFAULT_WEIGHTS:
        if values.get(signal) == expected:
            award(points, signal, reason)
    for signal, threshold, points, reason in THRESHOLDS:
        value = values.get(signal)
        if value is not None and Decimal(value) >= threshold:
            award(points, signal, reason)
    level = values.get("gateway_risk_level")
    if level in GATEWAY_LEVEL_POINTS:
        award(GATEWAY_LEVEL_POINTS[level], "gateway_risk_level", GATEWAY_LEVEL_REASONS[level])
    if (
        values.get("is_first_order") is False
        and values.get("customer_prior_disputes") == 0
        and Decimal(values.get("customer_orders_count") or 0) >= LOYAL_CUSTOMER_ORDERS
    ):
        award(-20, "customer_orders_count", gettext_noop("returning customer without disputes"))
    total = sum(reason["points"] for reason in reasons)
    reasons.sort(key=lambda reason: -abs(reason["points"]))
    return Score(max(0, min(100, total)), reasons)


def _jsonable(value):
    return str(value) if isinstance(value, Decimal) else value


# --- Assessing a batch ---------------------------------------------------------------------------


@dataclass(slots=True)
class Assessment:
    """What scoring concluded about one order, before it is stored."""

    order_id: int
    signals: dict  # as the rules saw them (Decimals)
    stored: dict  # as stored in OrderRisk.signals (JSON)
    score: Score
    action: Action
    rule: object | None  # the RiskRule that fired
    outcomes: list[dict]
    amount_usd: Decimal


def assess(
    facts: Mapping[int, OrderFacts],
    rules: Sequence[tuple[object, Rule]],
    lists: Mapping[str, frozenset],
    model=None,
) -> list[Assessment]:
    """Signals, score (the model's when one is active, else the points table) and the first
    matching rule for each order, in the order of `facts`."""
    reader = geoip()
    order_ids = list(facts)
    values = [compute_signals(facts[order_id], reader) for order_id in order_ids]
    scores = model.score_rows(values) if model is not None else [default_score(v) for v in values]
    rule_set = RuleSet([rule for _, rule in rules])
    described = [
        (stored_rule, stored_rule.pk, rule.source, names)
        for (stored_rule, rule), names in zip(rules, rule_set.names, strict=True)
    ]
    result = []
    for order_id, signals, score in zip(order_ids, values, scores, strict=True):
        signals[SCORE_ATTRIBUTE] = score.value
        answers = rule_set.answers(signals, lists)
        fired = answers and answers[-1] is True
        stored = jsonable_values(signals)
        result.append(
            Assessment(
                order_id=order_id,
                signals=signals,
                stored=stored,
                score=score,
                action=Action(rule_set.rules[len(answers) - 1].action) if fired else Action.ALLOW,
                rule=described[len(answers) - 1][0] if fired else None,
                outcomes=[
                    {
                        "rule": pk,
                        "source": source,
                        "fired": answer is True,
                        "undecided": answer is None,
                        "values": {name: stored.get(name) for name in names},
                    }
                    for (_, pk, source, names), answer in zip(described, answers, strict=False)
                ],
                amount_usd=facts[order_id].amount_usd or Decimal(0),
            )
        )
    return result


def jsonable_values(values: dict) -> dict:
    """Signal values as stored in JSON: Decimals as exact strings."""
    return {
        name: (str(value) if type(value) is Decimal else value)  # quicker than isinstance
        for name, value in values.items()
    }
