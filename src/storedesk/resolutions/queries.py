"""Reads for resolutions: what an action would cost and leave refundable (the preview every
action panel shows before confirming), the rules an order meets, the lists, the care budget."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.commerce.models import Order, Payment, Refund
from storedesk.commerce.services import LIVE_REFUND_STATUSES, cancel_check
from storedesk.core.money import quantize
from storedesk.disputes.models import Dispute, EarlyFraudWarning
from storedesk.resolutions.gateways import DEMO_LABEL, gateway_name_for
from storedesk.resolutions.limits import Usage, action_of, current_limits, evaluate, roles_of
from storedesk.resolutions.models import (
    DEMO_GATEWAY,
    MONEY_KINDS,
    Approval,
    CareBudget,
    Kind,
    Resolution,
)
from storedesk.risk.models import OrderRisk

ZERO = Decimal("0.00")
# Fee schedules (percent, fixed) used to estimate the gateway fee a refund does not return.
# Stripe and PayPal keep their processing fee on a refund; figures are US list prices.
DEFAULT_COSTS = {
    "gateway_fees": {
        "stripe": ["0.029", "0.30"],
        "paypal": ["0.0349", "0.49"],
        "shopify_payments": ["0.029", "0.30"],
    },
    "goods_cost_share": "0.35",  # cost of goods as a share of the selling price
    "reship_shipping": "7.50",  # a replacement's postage when the order paid none
    "coupon_redemption": "0.60",  # share of coupons that are used
    "store_credit_redemption": "0.90",
}
# Dispute statuses (Stripe's and PayPal's) after which the money is no longer held by the bank.
CLOSED_DISPUTE_STATUSES = (
    "won",
    "lost",
    "warning_closed",
    "prevented",
    "charge_refunded",
    "RESOLVED",
)
BUDGET_CATEGORIES = {
    Kind.REFUND: "refunds",
    Kind.PARTIAL_REFUND: "refunds",
    Kind.CANCEL: "refunds",
    Kind.RESHIP: "reships",
    Kind.COUPON: "coupons",
    Kind.STORE_CREDIT: "gifts",
}
WARN_AT = (Decimal("0.8"), Decimal("1.0"))
# Resolutions that count against limits and the budget: done, or on their way.
LIVE_STATUSES = (Resolution.Status.PROCESSING, Resolution.Status.DONE)


def costs() -> dict:
    return DEFAULT_COSTS | getattr(settings, "RESOLUTIONS_COSTS", {})


# --- Money on an order ---------------------------------------------------------------------


@dataclass(frozen=True)
class OrderMoney:
    captured: Decimal
    refunded: Decimal  # live: pending and succeeded refunds
    refundable: Decimal
    currency: str
    payment: Payment | None  # the captured payment a refund goes back to


def order_money(order: Order) -> OrderMoney:
    """Captured, refunded (live) and still refundable on an order; 2 queries."""
    payments = [
        payment
        for payment in Payment.objects.filter(order_id=order.pk).order_by("-created_at", "-pk")
        if payment.status == Payment.Status.SUCCEEDED and payment.captured
    ]
    captured = sum((payment.amount for payment in payments), ZERO)
    refunded = (
        Refund.objects.filter(order_id=order.pk, status__in=LIVE_REFUND_STATUSES).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    return OrderMoney(
        captured=quantize(captured, order.currency),
        refunded=quantize(refunded, order.currency),
        refundable=quantize(max(captured - refunded, ZERO), order.currency),
        currency=order.currency,
        payment=payments[0] if payments else None,
    )


def open_chargeback(order: Order) -> Dispute | None:
    """A chargeback the bank has not settled: the money is already taken back."""
    return (
        Dispute.objects.filter(order_id=order.pk, kind=Dispute.Kind.CHARGEBACK, closed_at=None)
        .exclude(status__in=CLOSED_DISPUTE_STATUSES)
        .order_by("-opened_at")
        .first()
    )


def dispute_url(dispute: Dispute) -> str:
    for name in ("disputes:detail", "disputes:dispute"):
        try:
            return reverse(name, args=[dispute.pk])
        except NoReverseMatch:
            continue
    return ""


def is_flagged(order: Order) -> bool:
    """Disputed (any dispute), warned of fraud, or held in risk review: payments decides."""
    if Dispute.objects.filter(order_id=order.pk).exists():
        return True
    if EarlyFraudWarning.objects.filter(order_id=order.pk).exists():
        return True
    return OrderRisk.objects.filter(order_id=order.pk, status=OrderRisk.Status.IN_REVIEW).exists()


def usage_for(order: Order, kind: str, *, now: datetime | None = None) -> Usage:
    """What this action already did on the order and for its customer (last 90 days)."""
    now = now or timezone.now()
    action = action_of(kind)
    kinds = [Kind.REFUND, Kind.PARTIAL_REFUND] if action == "refund" else [kind]
    on_order = Resolution.objects.filter(order_id=order.pk, status__in=LIVE_STATUSES).aggregate(
        amount=Sum("amount", filter=Q(kind__in=kinds)),
        reships=Count("pk", filter=Q(kind=Kind.RESHIP)),
    )
    for_customer = ZERO
    if order.customer_id:
        for_customer = (
            Resolution.objects.filter(
                customer_id=order.customer_id,
                kind__in=kinds,
                status__in=LIVE_STATUSES,
                created_at__gte=now - timedelta(days=90),
            ).aggregate(total=Sum("amount"))["total"]
            or ZERO
        )
    return Usage(
        on_order=on_order["amount"] or ZERO,
        for_customer_90d=for_customer,
        reships_on_order=on_order["reships"] or 0,
    )


# --- Cost to the business ------------------------------------------------------------------


def gateway_fee_not_returned(
    payment: Payment | None, amount: Decimal, captured: Decimal
) -> Decimal:
    """The share of the payment's processing fee that this refund loses (gateways keep it)."""
    if payment is None or captured <= 0 or amount <= 0:
        return ZERO
    percent, fixed = costs()["gateway_fees"].get(payment.gateway, ["0", "0"])
    fee = payment.amount * Decimal(percent) + Decimal(fixed)
    return quantize(fee * min(amount, captured) / captured, payment.currency)


def lines_value(order: Order, lines) -> Decimal:
    """The selling value of chosen lines ({"line_item": id, "quantity": n}; {"shipping": true})."""
    items = {item.pk: item for item in order.line_items.all()}
    total = ZERO
    for line in lines or ():
        if line.get("shipping"):
            total += order.total_shipping
            continue
        item = items.get(line.get("line_item"))
        if item is None:
            continue
        quantity = int(line.get("quantity") or item.quantity)
        share = (item.price * item.quantity - item.total_discount) / item.quantity
        total += share * quantity
    return quantize(total, order.currency)


def estimate_cost(
    order: Order, kind: str, amount: Decimal, lines=(), *, money: OrderMoney | None = None
) -> tuple[Decimal, dict]:
    """What an action costs the business, with its parts (each a string amount)."""
    rates = costs()
    money = money or order_money(order)
    parts: dict[str, Decimal] = {}
    if kind in MONEY_KINDS:
        parts["refund"] = amount
        parts["gateway_fee_not_returned"] = gateway_fee_not_returned(
            money.payment, amount, money.captured
        )
    elif kind == Kind.RESHIP:
        chosen = lines or [{"line_item": item.pk} for item in order.line_items.all()]
        goods = lines_value(order, [line for line in chosen if not line.get("shipping")])
        parts["goods_at_cost"] = quantize(
            goods * Decimal(rates["goods_cost_share"]), order.currency
        )
        shipping = (
            order.total_shipping if order.total_shipping > 0 else Decimal(rates["reship_shipping"])
        )
        parts["shipping"] = quantize(shipping, order.currency)
    elif kind == Kind.COUPON:
        parts["coupon_likely_cost"] = quantize(
            amount * Decimal(rates["coupon_redemption"]), order.currency
        )
    elif kind == Kind.STORE_CREDIT:
        parts["store_credit_likely_cost"] = quantize(
            amount * Decimal(rates["store_credit_redemption"]), order.currency
        )
    total = quantize(sum(parts.values(), ZERO), order.currency)
    return total, {name: str(value) for name, value in parts.items()}


@dataclass
class ResolutionPreview:
    """What the action panel shows before confirming."""

    kind: str
    amount: Decimal
    currency: str
    cost: Decimal
    cost_breakdown: dict
    captured: Decimal
    refunded: Decimal
    refundable_before: Decimal
    refundable_after: Decimal
    gateway: str
    gateway_label: str
    is_demo: bool
    refused: str = ""  # a rule refuses it outright (open chargeback, shipped, cancelled …)
    refused_code: str = ""
    dispute_url: str = ""
    needs_approval: bool = False
    approval_reasons: list[str] = field(default_factory=list)
    approver_role: str = ""
    allowed: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def default_amount(order: Order, kind: str, amount: Decimal | None, lines, money: OrderMoney):
    """The amount a kind implies when none is given: the rest for a full refund or a cancel,
    the chosen lines for a partial refund, the lines' value for a reship, else zero."""
    if kind in (Kind.REFUND, Kind.CANCEL):
        return money.refundable if amount is None else amount
    if amount is not None:
        return amount
    if kind == Kind.PARTIAL_REFUND and lines:
        return lines_value(order, lines)
    return ZERO


def rule_refusal(
    order: Order, kind: str, amount: Decimal, money: OrderMoney
) -> tuple[str, str, str]:
    """(code, message, dispute link) of a rule that refuses the action; empty when none does."""
    if kind in MONEY_KINDS:
        dispute = open_chargeback(order)
        if dispute is not None:
            return (
                "open_chargeback",
                _(
                    "Order %(number)s has an open chargeback (%(dispute)s): the bank already "
                    "took the money back, so a refund would pay it twice. Answer the dispute."
                )
                % {"number": order.number, "dispute": dispute.provider_id},
                dispute_url(dispute),
            )
    if kind in (Kind.CANCEL, Kind.RESHIP) and order.cancelled_at is not None:
        return (
            "already_cancelled",
            _("Order %(number)s was already cancelled.") % {"number": order.number},
            "",
        )
    if kind == Kind.CANCEL:
        check = cancel_check(order)
        if check.refused:
            return ("shipped", check.refused, "")
    if kind in (Kind.REFUND, Kind.PARTIAL_REFUND) and money.refundable <= 0:
        return (
            "over_refund",
            _("Order %(number)s was already refunded in full (%(captured)s %(currency)s).")
            % {"number": order.number, "captured": money.captured, "currency": money.currency},
            "",
        )
    if kind in MONEY_KINDS and amount > money.refundable:
        return (
            "over_refund",
            _(
                "Only %(refundable)s %(currency)s of order %(number)s is left to refund "
                "(%(refunded)s of %(captured)s already refunded)."
            )
            % {
                "refundable": money.refundable,
                "currency": money.currency,
                "number": order.number,
                "refunded": money.refunded,
                "captured": money.captured,
            },
            "",
        )
    return ("", "", "")


def preview_resolution(
    *, actor, order: Order, kind: str, amount: Decimal | None = None, lines=()
) -> ResolutionPreview:
    """The cost, what stays refundable, the rule that refuses it and whether it needs an
    approval, for `actor` — without writing anything."""
    money = order_money(order)
    amount = default_amount(order, kind, amount, lines, money)
    cost, breakdown = estimate_cost(order, kind, amount, lines, money=money)
    code, refused, link = rule_refusal(order, kind, amount, money)
    gateway = gateway_name_for(order.store, money.payment) if kind in MONEY_KINDS else ""
    verdict = evaluate(
        current_limits(),
        roles_of(actor),
        kind,
        amount if kind != Kind.RESHIP else cost,
        order_total=order.total_price,
        usage=usage_for(order, kind),
        flagged=kind in MONEY_KINDS and is_flagged(order),
    )
    after = money.refundable - amount if kind in MONEY_KINDS else money.refundable
    return ResolutionPreview(
        kind=kind,
        amount=amount,
        currency=order.currency,
        cost=cost,
        cost_breakdown=breakdown,
        captured=money.captured,
        refunded=money.refunded,
        refundable_before=money.refundable,
        refundable_after=max(after, ZERO),
        gateway=gateway,
        gateway_label=str(DEMO_LABEL) if gateway == DEMO_GATEWAY else gateway,
        is_demo=gateway == DEMO_GATEWAY,
        refused=refused,
        refused_code=code,
        dispute_url=link,
        needs_approval=verdict.allowed and not verdict.within,
        approval_reasons=[str(reason) for reason in verdict.over],
        approver_role=verdict.approver_role,
        allowed=verdict.allowed,
    )


# --- Lists -----------------------------------------------------------------------------------


def order_resolutions(order: Order):
    """An order's resolutions, newest first, with their approval and people (3 queries)."""
    return (
        Resolution.objects.filter(order_id=order.pk)
        .select_related("actor", "approval", "approval__approver", "approval__requested_by")
        .order_by("-created_at", "-pk")
    )


def approvals(status: str | None = Approval.Status.PENDING):
    """The approvals queue (oldest waiting first), with what a decider needs on one row."""
    rows = Approval.objects.select_related(
        "resolution",
        "resolution__order",
        "resolution__ticket",
        "resolution__customer",
        "requested_by",
        "approver",
    )
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("created_at", "pk")


def pending_approval_count() -> int:
    return Approval.objects.filter(
        status=Approval.Status.PENDING, expires_at__gt=timezone.now()
    ).count()


def home_counts(store=None) -> dict[str, int]:
    """Refunds waiting (at the gateway), approvals waiting, failed gateway calls."""
    rows = Resolution.objects.all() if store is None else Resolution.objects.filter(store=store)
    counts = rows.aggregate(
        refunds_waiting=Count(
            "pk", filter=Q(status=Resolution.Status.PROCESSING, kind__in=MONEY_KINDS)
        ),
        failed=Count("pk", filter=Q(status=Resolution.Status.FAILED)),
    )
    counts["approvals_waiting"] = pending_approval_count()
    return counts


# --- Care budget ----------------------------------------------------------------------------


def month_start(value: date) -> date:
    return value.replace(day=1)


def next_month(value: date) -> date:
    return (value.replace(day=28) + timedelta(days=4)).replace(day=1)


def budget_report(store, month: date) -> dict:
    """Spend of one month by category (live from done resolutions), by reason, by agent, by
    product, against the plan, with warnings at 80% and 100%."""
    start = month_start(month)
    end = next_month(start)
    zone = timezone.get_current_timezone()
    lower = timezone.make_aware(datetime.combine(start, datetime.min.time()), zone)
    upper = timezone.make_aware(datetime.combine(end, datetime.min.time()), zone)
    done = Resolution.objects.filter(
        store=store, status=Resolution.Status.DONE, done_at__gte=lower, done_at__lt=upper
    )
    plan = CareBudget.objects.filter(store=store, month=start).first()
    currency = plan.currency if plan else store.currency
    by_kind = dict(done.values_list("kind").annotate(total=Sum("cost")).order_by())
    categories = []
    for category in ("refunds", "reships", "coupons", "gifts"):
        spent = sum(
            (total for kind, total in by_kind.items() if BUDGET_CATEGORIES.get(kind) == category),
            ZERO,
        )
        planned = getattr(plan, category) if plan else ZERO
        used = (spent / planned) if planned > 0 else None
        warning = ""
        if used is not None and used >= WARN_AT[1]:
            warning = "over"
        elif used is not None and used >= WARN_AT[0]:
            warning = "near"
        categories.append(
            {
                "category": category,
                "spent": quantize(spent, currency),
                "plan": quantize(planned, currency),
                "left": quantize(planned - spent, currency),
                "used_share": str(quantize(used, "USD")) if used is not None else None,
                "warning": warning,
            }
        )
    by_reason = list(
        done.values("reason").annotate(total=Sum("cost"), count=Count("pk")).order_by("-total")
    )
    by_agent = list(
        done.values("actor_label").annotate(total=Sum("cost"), count=Count("pk")).order_by("-total")
    )
    return {
        "month": start.strftime("%Y-%m"),
        "currency": currency,
        "has_plan": plan is not None,
        "categories": categories,
        "total_spent": quantize(sum((c["spent"] for c in categories), ZERO), currency),
        "total_plan": quantize(sum((c["plan"] for c in categories), ZERO), currency),
        "by_reason": by_reason,
        "by_agent": by_agent,
        "by_product": _spend_by_product(done),
    }


def _spend_by_product(done) -> list[dict]:
    """Cost per product title: a resolution's cost spread over its order's line items by value
    (one query for the rows, one for their line items)."""
    from storedesk.commerce.models import LineItem

    rows = list(done.values_list("order_id", "cost"))
    order_ids = {order_id for order_id, _ in rows}
    items: dict[int, list[tuple[str, Decimal]]] = {}
    for order_id, title, price, quantity in LineItem.objects.filter(
        order_id__in=order_ids
    ).values_list("order_id", "title", "price", "quantity"):
        items.setdefault(order_id, []).append((title, price * quantity))
    totals: dict[str, Decimal] = {}
    for order_id, cost in rows:
        lines = items.get(order_id) or [("—", Decimal(1))]
        value = sum((v for _, v in lines), ZERO) or Decimal(1)
        for title, line_value in lines:
            totals[title] = totals.get(title, ZERO) + cost * line_value / value
    ranked = sorted(totals.items(), key=lambda pair: -pair[1])[:20]
    return [{"product": title, "total": quantize(total, "USD")} for title, total in ranked]
