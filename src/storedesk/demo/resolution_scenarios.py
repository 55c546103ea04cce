"""The demo's resolutions: what the team gave customers with a problem, asked for through the
real path (`resolutions.services.do_request_resolution`) by the demo's agent and lead, so the
limits, approvals, the demo gateway and the care budget all show real rows: refunds and
reships done, a few requests above the agent's limits waiting for the lead, refusals (an order
under chargeback) recorded with their reason.

The request path stamps the real time, so resolutions are made only for a demo whose window
ends now (the default): in a demo of a past window they would come after everything else, and
a reload with the same seed would no longer give the same store.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, F
from django.utils import timezone

from storedesk.accounts.models import User
from storedesk.commerce.models import Order
from storedesk.demo.scenarios import DemoContext, Scenario, scenario
from storedesk.desk.models import Ticket
from storedesk.resolutions.models import Approval, CareBudget, Kind, Reason, Resolution
from storedesk.resolutions.services import ResolutionError, do_request_resolution, do_set_budget

# The tickets of the last weeks whose problem calls for a resolution, the most recent first.
RECENT_DAYS = 45
MAX_RESOLUTIONS = 60
LIVE_WINDOW = timedelta(hours=1)
CENT = Decimal("0.01")

# Per situation (the demo ticket's tag): (kind, reason, share of the order for a partial
# refund or a coupon).
CHOICES = {
    "damaged": [
        (Kind.PARTIAL_REFUND, Reason.DAMAGED, Decimal("0.30")),
        (Kind.RESHIP, Reason.DAMAGED, None),
    ],
    "wrong-item": [(Kind.RESHIP, Reason.WRONG_ITEM, None)],
    "wrong-size": [
        (Kind.COUPON, Reason.WRONG_SIZE, Decimal("0.10")),
        (Kind.RESHIP, Reason.WRONG_SIZE, None),
    ],
    "not-received": [
        (Kind.RESHIP, Reason.NOT_RECEIVED, None),
        (Kind.REFUND, Reason.NOT_RECEIVED, None),
    ],
    "delivered-not-received": [(Kind.REFUND, Reason.DELIVERED_NOT_RECEIVED, None)],
    "tracking-not-updating": [(Kind.COUPON, Reason.LATE, Decimal("0.10"))],
    "refund-request": [(Kind.PARTIAL_REFUND, Reason.QUALITY, Decimal("0.20"))],
    "bad-review-threat": [(Kind.COUPON, Reason.GOODWILL, Decimal("0.15"))],
}

# The month's plan, in the store's currency, so the budget page compares spend with it.
MONTHLY_BUDGET = {
    "refunds": Decimal("1500"),
    "reships": Decimal("600"),
    "coupons": Decimal("250"),
    "gifts": Decimal("150"),
}


@scenario("resolutions", order=120)
class ResolutionScenario(Scenario):
    def finish(self, ctx: DemoContext) -> None:
        if abs(timezone.now() - ctx.now) > LIVE_WINDOW:
            return
        agent = User.objects.filter(username="agent").first()
        lead = User.objects.filter(username="lead").first()
        if agent is None or lead is None:
            return
        rng = ctx.random_for("resolutions")
        month = ctx.now.date().replace(day=1)
        for planned in (month, (month - timedelta(days=1)).replace(day=1)):
            do_set_budget(actor=lead, store=ctx.store, month=planned, **MONTHLY_BUDGET)
        for ticket, situation, order in _candidates(ctx):
            kind, reason, share = rng.choice(CHOICES[situation])
            # Most are asked by the agent (some go above the agent's limits and wait for the
            # lead's approval); a few by the lead, who may do more.
            actor = lead if rng.random() < 0.2 else agent
            amount = (
                None if share is None else (order.total_price * share).quantize(Decimal("0.01"))
            )
            try:
                do_request_resolution(
                    actor=actor,
                    order=order,
                    kind=kind,
                    amount=amount,
                    currency=order.currency,
                    reason=reason,
                    note="",
                    ticket=ticket,
                    idempotency_key=f"demo-resolution-{order.number}-{situation}",
                )
            except ResolutionError:
                ctx.count("resolutions:refused")  # kept as a refused row, with its reason
        for status, count in _counts(ctx.store).items():
            ctx.count(f"resolutions:{status}", count)

    def reset(self, store) -> None:
        for model in (Approval, Resolution, CareBudget):
            queryset = model.objects.filter(store=store)
            queryset._raw_delete(queryset.db)


def _candidates(ctx: DemoContext):
    """(ticket, situation, order) of recent tickets about one order, newest first."""
    tickets = (
        Ticket.objects.filter(
            store=ctx.store,
            created_at__gte=ctx.now - timedelta(RECENT_DAYS),
            tags__name__in=list(CHOICES),
        )
        .annotate(situation=F("tags__name"))
        .order_by("-created_at", "pk")
    )
    found, seen = [], set()
    for ticket in tickets[: MAX_RESOLUTIONS * 3]:
        order = Order.objects.filter(tickets=ticket).first()
        if ticket.pk not in seen and order is not None and order.total_price > 0:
            seen.add(ticket.pk)
            found.append((ticket, ticket.situation, order))
        if len(found) >= MAX_RESOLUTIONS:
            break
    return found


def _counts(store) -> dict[str, int]:
    rows = Resolution.objects.filter(store=store).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}
