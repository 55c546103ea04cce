"""Reads the resolution pages need (the panel, the approvals queue, the lists Home links to,
the budget page), each a fixed number of indexed queries whatever the number of rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import LineItem, Order, Store
from storedesk.commerce.queries import day_bounds
from storedesk.resolutions.models import Approval, CareBudget, Kind, Resolution

ORDER_HISTORY_SHOWN = 10
CUSTOMER_HISTORY_SHOWN = 5
WARN_SHARE = Decimal("0.8")

# Which budget line each kind of resolution is spent from.
BUDGET_CATEGORIES = {
    "refunds": (Kind.REFUND, Kind.PARTIAL_REFUND, Kind.CANCEL),
    "reships": (Kind.RESHIP,),
    "coupons": (Kind.COUPON,),
    "gifts": (Kind.STORE_CREDIT,),
}
CATEGORY_LABELS = {
    "refunds": _("Refunds"),
    "reships": _("Reships at cost"),
    "coupons": _("Coupons"),
    "gifts": _("Store credit and gifts"),
}
MONEY_KINDS = BUDGET_CATEGORIES["refunds"]

# The lists Home links to: each name is a filter of the resolutions list.
LIST_FILTERS = {
    "refunds_waiting": (
        _("Refunds waiting"),
        Q(kind__in=MONEY_KINDS, status=Resolution.Status.PROCESSING),
    ),
    "failed": (_("Failed gateway calls"), Q(status=Resolution.Status.FAILED)),
    "all": (_("All resolutions"), Q()),
}


def order_for_panel(pk: int) -> Order:
    """The order the Resolve panel works on, with its line items. Raises Order.DoesNotExist."""
    return Order.objects.select_related("store").prefetch_related("line_items").get(pk=pk)


def resolutions_of_order(order: Order, limit: int = ORDER_HISTORY_SHOWN) -> list[Resolution]:
    return list(Resolution.objects.filter(order=order).order_by("-created_at", "-pk")[:limit])


def resolution_for_page(pk: int) -> Resolution | None:
    return Resolution.objects.select_related("order", "ticket", "approval").filter(pk=pk).first()


def resolution_list(store: Store, show: str) -> QuerySet[Resolution]:
    """One of the lists Home counts, newest first, with what each row shows."""
    _label, condition = LIST_FILTERS[show]
    return (
        Resolution.objects.filter(condition, store=store)
        .select_related("order", "ticket", "actor")
        .order_by("-created_at", "-pk")
    )


def count_of(store: Store, show: str) -> int:
    _label, condition = LIST_FILTERS[show]
    return Resolution.objects.filter(condition, store=store).count()


def pending_approvals(store: Store) -> QuerySet[Approval]:
    """The approvals queue: pending requests, oldest first (they expire), with the request's
    order, ticket, customer and the order's risk in the same query."""
    return (
        _pending(store)
        .select_related(
            "requested_by",
            "resolution__order__risk",
            "resolution__order__customer",
            "resolution__ticket",
        )
        .order_by("created_at", "pk")
    )


def _pending(store: Store) -> QuerySet[Approval]:
    """Pending and not yet expired (the expiry sweep runs every few minutes; one past its
    time can no longer be approved, so it is not shown as waiting)."""
    return Approval.objects.filter(
        store=store, status=Approval.Status.PENDING, expires_at__gt=timezone.now()
    )


def pending_approvals_count(store: Store | None) -> int:
    return 0 if store is None else _pending(store).count()


def attach_customer_histories(approvals: list[Approval]) -> list[Approval]:
    """Each approval's customer's earlier resolutions (`earlier`, newest first, at most
    `CUSTOMER_HISTORY_SHOWN`) in one query for the whole page."""
    customer_ids = {
        approval.resolution.customer_id for approval in approvals if approval.resolution.customer_id
    }
    shown = {approval.resolution_id for approval in approvals}
    by_customer: dict[int, list[Resolution]] = defaultdict(list)
    if customer_ids:
        earlier = (
            Resolution.objects.filter(customer_id__in=customer_ids)
            .exclude(pk__in=shown)
            .select_related("order")
            .order_by("-created_at", "-pk")[: CUSTOMER_HISTORY_SHOWN * len(customer_ids) * 4]
        )
        for resolution in earlier:
            if len(by_customer[resolution.customer_id]) < CUSTOMER_HISTORY_SHOWN:
                by_customer[resolution.customer_id].append(resolution)
    for approval in approvals:
        approval.earlier = by_customer.get(approval.resolution.customer_id, [])
    return approvals


@dataclass
class BudgetLine:
    key: str
    label: str
    plan: Decimal
    spent: Decimal

    @property
    def left(self) -> Decimal:
        return self.plan - self.spent

    @property
    def share(self) -> Decimal | None:
        return (self.spent / self.plan) if self.plan else None

    @property
    def percent(self) -> int | None:
        return None if self.share is None else int(self.share * 100)

    @property
    def level(self) -> str:
        """'over' at 100% of the plan, 'warn' from 80%, else 'ok' (no plan: 'ok')."""
        if self.share is None:
            return "ok"
        if self.share >= 1:
            return "over"
        return "warn" if self.share >= WARN_SHARE else "ok"


@dataclass
class BudgetMonth:
    month: date
    currency: str
    plan: CareBudget | None
    lines: list[BudgetLine]
    by_reason: list[dict] = field(default_factory=list)
    by_agent: list[dict] = field(default_factory=list)
    by_product: list[dict] = field(default_factory=list)

    @property
    def total(self) -> BudgetLine:
        return BudgetLine(
            "total",
            str(_("Total")),
            sum((line.plan for line in self.lines), Decimal(0)),
            sum((line.spent for line in self.lines), Decimal(0)),
        )

    @property
    def level(self) -> str:
        """The worst level of any line: the desk warns when one category runs out."""
        levels = {line.level for line in [*self.lines, self.total]}
        return "over" if "over" in levels else "warn" if "warn" in levels else "ok"


def month_bounds(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


def _done_in(store: Store, month: date) -> QuerySet[Resolution]:
    """Resolutions done in the month on the store's clock (the partial index on done_at)."""
    first, after = month_bounds(month)
    start, _ = day_bounds(first, store.timezone)
    end, _ = day_bounds(after, store.timezone)
    return Resolution.objects.filter(
        store=store, status=Resolution.Status.DONE, done_at__gte=start, done_at__lt=end
    )


def budget_month(store: Store, month: date, *, details: bool = False) -> BudgetMonth:
    """The month's plan and spend per category, spend read live from done resolutions (two
    queries); with `details`, spend by reason, by agent and by product (three more)."""
    start, _end = month_bounds(month)
    plan = CareBudget.objects.select_related("updated_by").filter(store=store, month=start).first()
    done = _done_in(store, month)
    spend = done.aggregate(
        **{
            key: Sum("cost", filter=Q(kind__in=kinds), default=Decimal(0))
            for key, kinds in BUDGET_CATEGORIES.items()
        }
    )
    lines = [
        BudgetLine(
            key, str(CATEGORY_LABELS[key]), getattr(plan, key) if plan else Decimal(0), spend[key]
        )
        for key in BUDGET_CATEGORIES
    ]
    result = BudgetMonth(start, plan.currency if plan else store.currency, plan, lines)
    if details:
        reasons = dict(Resolution._meta.get_field("reason").choices)
        result.by_reason = [
            {**row, "label": reasons.get(row["reason"], row["reason"])}
            for row in done.values("reason")
            .annotate(count=Count("id"), cost=Sum("cost"))
            .order_by("-cost", "reason")
        ]
        result.by_agent = list(
            done.values("actor_id", "actor__first_name", "actor__last_name", "actor__username")
            .annotate(count=Count("id"), cost=Sum("cost"))
            .order_by("-cost", "actor_id")
        )
        result.by_product = list(
            LineItem.objects.filter(order__resolutions__in=done)
            .values("title")
            .annotate(
                count=Count("order__resolutions", distinct=True),
                cost=Sum("order__resolutions__cost"),
            )
            .order_by("-count", "title")[:20]
        )
    return result


@dataclass
class HomeFigures:
    """The care team's resolution tiles on Home; each count is the row count of its list."""

    refunds_waiting: int
    failed: int
    approvals_waiting: int | None  # None: the viewer does not decide approvals
    budget: BudgetMonth | None  # None: the viewer does not see the budget


def home_figures(store: Store, month: date, *, approvals: bool, budget: bool) -> HomeFigures:
    """One query for both resolution counts, one for approvals, two for the budget."""
    counts = Resolution.objects.filter(store=store).aggregate(
        refunds_waiting=Count("id", filter=LIST_FILTERS["refunds_waiting"][1]),
        failed=Count("id", filter=LIST_FILTERS["failed"][1]),
    )
    return HomeFigures(
        refunds_waiting=counts["refunds_waiting"],
        failed=counts["failed"],
        approvals_waiting=pending_approvals_count(store) if approvals else None,
        budget=budget_month(store, month) if budget else None,
    )
