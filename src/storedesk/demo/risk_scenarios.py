"""The risk part of the demo store: every order scored as it arrives (in batches, in time
order), the payments team's past review decisions, and a score model trained on that history.

Like the store's own team, this scenario sees only what the store recorded (orders, payments,
shipments, cancellations, disputes), never `demo.GroundTruth`. Whatever the default rules put
in review before the last week is closed the way the store's records say it went: an order
that shipped was approved, one cancelled as fraud was cancelled as fraud. The last week's
reviews stay open: the queue a reviewer finds when opening `make run`.
"""

from __future__ import annotations

import time
from datetime import timedelta
from itertools import batched

from django.db.models import Min

from storedesk.accounts.models import User
from storedesk.commerce.models import Order, Shipment
from storedesk.demo.scenarios import DemoContext, OrderPlan, Scenario, scenario
from storedesk.risk.facts import StoreTotals
from storedesk.risk.model import NotEnoughLabels
from storedesk.risk.models import OrderIdentity, OrderRisk, RiskDecision
from storedesk.risk.services import (
    PARALLEL_FROM_ORDERS,
    PastDecision,
    ScoringRun,
    do_import_review_decisions,
    do_install_defaults,
    do_rescore_open_orders,
)
from storedesk.risk.tasks import train_risk_model
from storedesk.risk.training import do_train_model

REVIEWER = "payments"  # the demo's payments specialist decided the past reviews
APPROVED_BEFORE_SHIPPING = timedelta(minutes=40)
OPEN_DAYS = 7  # the last week's reviews are still waiting for the team


@scenario("risk", order=95)
class RiskScenario(Scenario):
    """Scores every order as its batch is stored, then closes past reviews and trains."""

    def setup(self, ctx: DemoContext) -> None:
        do_install_defaults()
        ctx.shared["risk:run"] = ScoringRun(
            actor="demo",
            dispatch_events=False,
            parallel=ctx.orders_wanted >= PARALLEL_FROM_ORDERS,
        )
        ctx.shared["risk:store_totals"] = StoreTotals(ctx.store.pk)

    def after_batch(self, ctx: DemoContext, plans: list[OrderPlan]) -> None:
        stored = sorted(
            (plan.created_at, ctx.order_ids[plan.number_key])
            for plan in plans
            if plan.number_key in ctx.order_ids
        )
        totals = ctx.shared["risk:store_totals"].current()
        ctx.shared["risk:run"].add([order_id for _, order_id in stored], {ctx.store.pk: totals})

    def finish(self, ctx: DemoContext) -> None:
        mark = time.perf_counter()
        ctx.count("risk:scored", ctx.shared.pop("risk:run").close())
        mark = _timed(ctx, "risk: last batches", mark)
        reviewer = User.objects.filter(username=REVIEWER).first()
        ctx.count("risk:reviews_closed", do_import_review_decisions(past(ctx), actor=reviewer))
        mark = _timed(ctx, "risk: past reviews", mark)
        if ctx.train_in_worker:
            ctx.queue(train_risk_model, as_of=ctx.now.isoformat(), force=True)
            ctx.count("risk:model_training_queued")
        else:
            self.train(ctx, reviewer, mark)
        ctx.count(
            "risk:in_review",
            OrderRisk.objects.filter(
                order__store=ctx.store, status=OrderRisk.Status.IN_REVIEW
            ).count(),
        )

    def train(self, ctx: DemoContext, reviewer, mark: float) -> None:
        """The model on the store's history as of the demo's last day; the last days
        re-scored with it."""
        try:
            report = do_train_model(actor=reviewer, as_of=ctx.now, force=True, rescore=False)
        except NotEnoughLabels:
            ctx.count("risk:model_refused")  # a small demo: the points table scores
        else:
            ctx.shared["risk_model"] = report.risk_model
            ctx.count("risk:model_trained")
            mark = _timed(ctx, "risk: train model", mark)
            ctx.count(
                "risk:rescored",
                do_rescore_open_orders(as_of=ctx.now, actor="demo", dispatch_events=False),
            )
            _timed(ctx, "risk: re-score last days", mark)

    def reset(self, store) -> None:
        for queryset in (
            RiskDecision.objects.filter(order_risk__order__store=store),
            OrderRisk.objects.filter(order__store=store),
            OrderIdentity.objects.filter(store=store),
        ):
            queryset._raw_delete(queryset.db)


def past(ctx: DemoContext) -> list[PastDecision]:
    """What the team did with each order the rules sent to review before the last week, read
    from the store's records: shipped means approved (just before it shipped), cancelled
    means cancelled."""
    # The reviews first (by the status index), then their orders: joined the other way round,
    # SQLite walked every order of the year to find the few in review.
    in_review = OrderRisk.objects.filter(status=OrderRisk.Status.IN_REVIEW).values_list(
        "order_id", flat=True
    )
    reviews = {}
    for ids in batched(sorted(in_review), 5000):
        orders = Order.objects.filter(
            pk__in=ids, store=ctx.store, created_at__lt=ctx.now - timedelta(days=OPEN_DAYS)
        ).values_list("pk", "cancelled_at", "cancel_reason")
        reviews.update((pk, (cancelled_at, reason)) for pk, cancelled_at, reason in orders)
    shipped = dict(
        Shipment.objects.filter(order_id__in=list(reviews), shipped_at__isnull=False)
        .values("order_id")
        .annotate(first=Min("shipped_at"))
        .values_list("order_id", "first")
    )
    decisions = []
    for order_id, (cancelled_at, reason) in reviews.items():
        if cancelled_at is not None and cancelled_at <= ctx.now:
            fraud = reason == "fraud"
            decisions.append(
                PastDecision(
                    order_id,
                    RiskDecision.Kind.CANCEL_FRAUD if fraud else RiskDecision.Kind.CANCEL,
                    cancelled_at,
                    "Cancelled as fraud." if fraud else "Cancelled at the customer's request.",
                )
            )
        elif order_id in shipped:
            decisions.append(
                PastDecision(
                    order_id,
                    RiskDecision.Kind.APPROVE,
                    shipped[order_id] - APPROVED_BEFORE_SHIPPING,
                    "Checked the order and the customer; released for shipping.",
                )
            )
    return decisions


def _timed(ctx: DemoContext, key: str, started: float) -> float:
    now = time.perf_counter()
    ctx.timings[key] = ctx.timings.get(key, 0.0) + now - started
    return now
