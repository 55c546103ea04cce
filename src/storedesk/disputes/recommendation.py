"""Fight or accept: an expected-value recommendation from the amount, the pack's completeness,
the gateway's fees and the past outcomes of the same reason family at the same gateway.

The chance of winning starts from the pack (a complete pack of the right evidence wins far
more often than an empty one) and moves toward the store's own record as closed disputes
accumulate (a Beta prior of PRIOR_WEIGHT pseudo-disputes). Fighting pays when the expected
recovery beats the expected extra fee plus the specialist's time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q
from django.utils.translation import gettext

from storedesk.disputes.models import Dispute, Outcome

# Fees per dispute in USD (verify: they change). Stripe US: a $15 dispute fee, and a further
# $15 when evidence is submitted and the dispute is lost
# (docs.stripe.com/disputes/how-disputes-work, 2024). PayPal US: a $20 fee on card
# chargebacks; no fee on PayPal claims
# that are responded to.
FEES = {
    "stripe": {"dispute": Decimal("15.00"), "counter_if_lost": Decimal("15.00")},
    "paypal": {"dispute": Decimal("20.00"), "counter_if_lost": Decimal("0.00")},
    "shopify_payments": {"dispute": Decimal("15.00"), "counter_if_lost": Decimal("0.00")},
}
HANDLING_COST = Decimal("5.00")  # the specialist's time to check and send a prepared pack
PRIOR_WEIGHT = 4
BASE_WIN, PACK_WIN = 0.10, 0.60  # empty pack ~10%, complete pack ~70%


@dataclass
class Recommendation:
    action: str  # "fight" or "accept"
    win_chance: float
    expected_gain: Decimal
    reasons: list[str] = field(default_factory=list)


def past_outcomes(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(family, gateway) -> (won, lost) over closed disputes, in one query."""
    if not pairs:
        return {}
    rows = (
        Dispute.objects.filter(
            outcome__in=[Outcome.WON, Outcome.LOST],
            family__in={f for f, _ in pairs},
            gateway__in={g for _, g in pairs},
        )
        .values("family", "gateway")
        .annotate(
            won=Count("pk", filter=Q(outcome=Outcome.WON)),
            lost=Count("pk", filter=Q(outcome=Outcome.LOST)),
        )
    )
    return {(r["family"], r["gateway"]): (r["won"], r["lost"]) for r in rows}


def recommend(
    *, amount: Decimal, gateway: str, family: str, completeness: int, record: tuple[int, int]
) -> Recommendation:
    fees = FEES.get(gateway, FEES["stripe"])
    pack_chance = BASE_WIN + PACK_WIN * completeness / 100
    won, lost = record
    chance = (won + PRIOR_WEIGHT * pack_chance) / (won + lost + PRIOR_WEIGHT)
    chance_d = Decimal(str(round(chance, 4)))
    gain = (chance_d * amount - (1 - chance_d) * fees["counter_if_lost"] - HANDLING_COST).quantize(
        Decimal("0.01")
    )
    action = "fight" if gain > 0 else "accept"
    reasons = [
        gettext("Pack %(percent)s%% complete for this reason.") % {"percent": completeness},
        gettext("Past %(family)s disputes at this gateway: %(won)s won, %(lost)s lost.")
        % {"family": family, "won": won, "lost": lost},
        gettext("Chance of winning about %(chance)s%%.") % {"chance": round(chance * 100)},
        gettext(
            "Expected result of fighting: %(gain)s (amount %(amount)s, extra fee if lost "
            "%(fee)s, handling %(handling)s)."
        )
        % {
            "gain": gain,
            "amount": amount,
            "fee": fees["counter_if_lost"],
            "handling": HANDLING_COST,
        },
    ]
    return Recommendation(action, chance, gain, reasons)


def recommend_for(dispute: Dispute, completeness: int) -> Recommendation:
    record = past_outcomes({(dispute.family, dispute.gateway)}).get(
        (dispute.family, dispute.gateway), (0, 0)
    )
    return recommend(
        amount=dispute.amount,
        gateway=dispute.gateway,
        family=dispute.family,
        completeness=completeness,
        record=record,
    )


def hit_rate() -> dict:
    """How often the recommendation matched the outcome on closed disputes we fought or
    accepted: fight → won, accept → lost or accepted. Each dispute is judged with the record
    of the others (leave-one-out), so its own outcome does not vote for itself."""
    closed = list(
        Dispute.objects.filter(outcome__in=[Outcome.WON, Outcome.LOST, Outcome.ACCEPTED])
        .select_related("pack")
        .only("amount", "gateway", "family", "outcome", "pack__completeness")
    )
    records = past_outcomes({(d.family, d.gateway) for d in closed})
    hits = 0
    for dispute in closed:
        won, lost = records.get((dispute.family, dispute.gateway), (0, 0))
        if dispute.outcome == Outcome.WON:
            won -= 1
        elif dispute.outcome == Outcome.LOST:
            lost -= 1
        pack = getattr(dispute, "pack", None)
        advice = recommend(
            amount=dispute.amount,
            gateway=dispute.gateway,
            family=dispute.family,
            completeness=pack.completeness if pack else 0,
            record=(max(won, 0), max(lost, 0)),
        )
        hits += (advice.action == "fight") == (dispute.outcome == Outcome.WON)
    total = len(closed)
    return {"closed": total, "hits": hits, "rate": round(hits / total, 3) if total else None}
