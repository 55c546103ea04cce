"""The daily payment digest: one store day beside the store's trailing 7- and 28-day averages.

A day is the store's own calendar day (Store.timezone). Each section is one aggregate query over
the 28 days before the day and the day itself, split by conditional aggregates, so the page and
the email cost the same dozen queries on a quiet store and on a busy one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Order, Payment, Refund, Store
from storedesk.commerce.queries import day_bounds
from storedesk.core.money import quantize
from storedesk.disputes.labels import reason_label
from storedesk.disputes.models import Dispute, EarlyFraudWarning
from storedesk.gateways.ratios import Level, month_ratios
from storedesk.risk.anomalies import (
    DIMENSION_LABELS,
    AnomalyReport,
    Dimension,
    anomaly_order_ids,
    find_anomalies,
    history_days_before,
)
from storedesk.risk.extensions import digest_warnings
from storedesk.risk.language import Action
from storedesk.risk.models import OrderRisk, RiskDecision
from storedesk.risk.reference import geoip

USD = "USD"
CENT, TENTH = Decimal("0.01"), Decimal("0.1")
TOP_SHOWN = 8
EARLIEST_DAY = date(2000, 1, 1)
ACTION_LABELS = {
    Action.REVIEW: _("Sent to review"),
    Action.HOLD_FULFILLMENT: _("Fulfillment held"),
    Action.REQUEST_VERIFICATION: _("Verification requested"),
    Action.CANCEL_AND_REFUND: _("Cancel and refund"),
}
FLAGGING_ACTIONS = list(ACTION_LABELS)
FINAL_DECISIONS = [
    RiskDecision.Kind.APPROVE,
    RiskDecision.Kind.CANCEL,
    RiskDecision.Kind.CANCEL_FRAUD,
]
ISSUED_REFUNDS = [Refund.Status.SUCCEEDED, Refund.Status.PENDING]
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DigestDayError(ValueError):
    """A day the digest cannot be made for, with a message for the person who asked."""


def parse_day(text: str, today: date) -> date:
    """A digest day typed as YYYY-MM-DD, not after the store's today."""
    text = (text or "").strip()
    try:
        if not _ISO_DAY.match(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise DigestDayError(
            _("“%(value)s” is not a date. Use the form YYYY-MM-DD, for example %(example)s.")
            % {"value": text[:40], "example": (today - timedelta(days=1)).isoformat()}
        ) from None
    if day > today:
        raise DigestDayError(
            _("%(day)s has not happened yet: today is %(today)s in the store's time zone.")
            % {"day": day.isoformat(), "today": today.isoformat()}
        )
    if day < EARLIEST_DAY:
        raise DigestDayError(_("Digests start on %(day)s.") % {"day": EARLIEST_DAY.isoformat()})
    return day


@dataclass(frozen=True)
class Trend:
    """A day's figure beside the store's trailing daily averages (None: no history yet)."""

    value: Decimal
    avg7: Decimal | None
    avg28: Decimal | None

    @property
    def change(self) -> Decimal | None:
        """Percent above (+) or below (-) the 28-day average."""
        if not self.avg28:
            return None
        return ((self.value - self.avg28) * 100 / self.avg28).quantize(Decimal(1), ROUND_HALF_UP)


@dataclass(frozen=True)
class Row:
    """One line of a breakdown: what was counted, how many, and its amount when it has one."""

    key: str
    label: str
    count: int
    amount: Decimal | None = None
    currency: str = ""
    extra: int = 0


@dataclass(frozen=True)
class RatioWarning:
    """A card network program whose ratio, projected to the month's end, reaches its early
    warning: which gateway and network, how far, and why (the counts behind the projection)."""

    gateway: str
    network: str
    program: str
    level: str
    projected_ratio: Decimal
    early_warning: Decimal
    threshold: Decimal
    reason: str

    @property
    def excessive(self) -> bool:
        return self.level == Level.EXCESSIVE

    @property
    def projected_percent(self) -> str:
        return _percent(self.projected_ratio)


def _percent(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)} %"


def _ratio_warnings(store: Store, day: date, end: datetime, now: datetime) -> list[RatioWarning]:
    """The month of `day` as of the day's end (or now, for today): each program whose projected
    ratio reaches its early warning, worst first (four queries, see gateways.ratios)."""
    result = month_ratios(store, day.replace(day=1), now=min(now, end))
    gateways = dict(Payment.Gateway.choices)
    found = []
    for row, program in result.warnings:
        reason = _(
            "%(count)s counted so far on %(transactions)s transactions (%(ratio)s); at this pace "
            "%(projected_count)s on %(projected_transactions)s by the month's end, %(projected)s "
            "against the early warning at %(early)s and the threshold at %(threshold)s "
            "(%(minimum)s cases at least)."
        ) % {
            "count": program.count,
            "transactions": program.transactions,
            "ratio": _percent(program.ratio) if program.ratio is not None else "–",
            "projected_count": program.projected_count,
            "projected_transactions": program.projected_transactions,
            "projected": _percent(program.projected_ratio),
            "early": _percent(program.early_warning),
            "threshold": _percent(program.threshold),
            "minimum": program.min_count,
        }
        found.append(
            RatioWarning(
                gateway=str(gateways.get(row.gateway, row.gateway)),
                network=row.network,
                program=program.label,
                level=program.level,
                projected_ratio=program.projected_ratio,
                early_warning=program.early_warning,
                threshold=program.threshold,
                reason=str(reason),
            )
        )
    return sorted(found, key=lambda w: (not w.excessive, -w.projected_ratio, w.gateway, w.network))


@dataclass
class DailyDigest:
    store: Store
    day: date
    start: datetime
    end: datetime
    is_partial: bool
    history_days: int
    orders: Trend
    orders_usd: Trend
    orders_other_currency: int
    payments: list[Row]
    payments_count: Trend
    payments_usd: Trend
    declined: Trend
    unconverted: list[Row]
    scored: int
    flagged: Trend
    flagged_by_action: list[Row]
    held: int
    in_review_now: int
    decisions: list[Row]
    reviewed: Trend
    refunds: list[Row]
    refunds_count: Trend
    refunds_usd: Trend
    refunds_pending: int
    disputes: list[Row]
    disputes_count: Trend
    top_reasons: list[Row]
    top_rules: list[Row]
    anomalies: AnomalyReport
    early_fraud_warnings: int = 0  # warned on the day, about this store's orders
    early_fraud_warnings_unmatched: int = 0  # warned on the day, charge not known here yet
    notes: list[str] = field(default_factory=list)
    ratio_warnings: list[RatioWarning] = field(default_factory=list)
    budget_warnings: list[str] = field(default_factory=list)  # the month's care budget
    dispute_reasons_hidden: bool = False  # the reader's role may not see disputes

    @property
    def has_activity(self) -> bool:
        return bool(
            self.orders.value
            or self.payments_count.value
            or self.declined.value
            or self.decisions
            or self.refunds
            or self.disputes_count.value
            or self.early_fraud_warnings
        )

    @property
    def previous_day(self) -> date:
        return self.day - timedelta(days=1)


@dataclass(frozen=True)
class _Windows:
    """The day and its two trailing windows, as UTC instants and as lengths in days."""

    day_start: datetime
    day_end: datetime
    start7: datetime
    start28: datetime
    days7: int
    days28: int

    def day(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.day_start})

    def last7(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.start7, f"{field_name}__lt": self.day_start})

    def last28(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__lt": self.day_start})

    def counts(self, name: str, field_name: str, expression: str = "id", condition=None) -> dict:
        """Count over the day, the 7 and the 28 days before, with an optional condition."""
        extra = condition if condition is not None else Q()
        return {
            f"{name}_day": Count(expression, filter=self.day(field_name) & extra),
            f"{name}_7": Count(expression, filter=self.last7(field_name) & extra),
            f"{name}_28": Count(expression, filter=self.last28(field_name) & extra),
        }

    def sums(self, name: str, field_name: str, amount: str, condition=None) -> dict:
        extra = condition if condition is not None else Q()
        return {
            f"{name}_day": Sum(amount, filter=self.day(field_name) & extra),
            f"{name}_7": Sum(amount, filter=self.last7(field_name) & extra),
            f"{name}_28": Sum(amount, filter=self.last28(field_name) & extra),
        }

    def trend(self, totals: dict, name: str, *, money: bool = False) -> Trend:
        places = CENT if money else TENTH

        def average(total, days):
            if not days:
                return None
            return (Decimal(total or 0) / days).quantize(places, ROUND_HALF_UP)

        value = Decimal(totals.get(f"{name}_day") or 0)
        return Trend(
            value.quantize(CENT, ROUND_HALF_UP) if money else value,
            average(totals.get(f"{name}_7"), self.days7),
            average(totals.get(f"{name}_28"), self.days28),
        )


def _windows(store: Store, day: date, history_days: int) -> _Windows:
    day_start, day_end = day_bounds(day, store.timezone)
    return _Windows(
        day_start=day_start,
        day_end=day_end,
        start7=day_bounds(day - timedelta(days=7), store.timezone)[0],
        start28=day_bounds(day - timedelta(days=28), store.timezone)[0],
        days7=min(7, history_days),
        days28=min(28, history_days),
    )


def _summed(rows: list[dict], name: str) -> dict:
    """Add up one figure over grouped rows (gateways, reasons) for the store totals."""
    return {
        key: sum((row[key] or 0 for row in rows), 0)
        for key in (f"{name}_day", f"{name}_7", f"{name}_28")
    }


def _of_store(queryset, path: str, store: Store):
    """`<path> + 0 = store`: the store condition without its index, so the database walks the
    table's own time index for the window instead of every order of the store (SQLite picks
    the equality index otherwise; PostgreSQL plans the same either way)."""
    return queryset.alias(store_key=F(path) + 0).filter(store_key=store.pk)


def _order_section(store: Store, w: _Windows) -> dict:
    """Orders, their USD value and how risk assessed them, in one query (risk left-joined)."""
    day = w.day("created_at")
    flagged = Q(risk__action__in=FLAGGING_ACTIONS)
    totals = Order.objects.filter(
        store=store, created_at__gte=w.start28, created_at__lt=w.day_end
    ).aggregate(
        **w.counts("orders", "created_at"),
        **w.sums("usd", "created_at", "total_price", Q(currency=USD)),
        **w.counts("flagged", "created_at", "risk", flagged),
        other_currency=Count("id", filter=day & ~Q(currency=USD)),
        scored=Count("risk", filter=day),
        held=Count("risk", filter=day & Q(risk__fulfillment_held=True)),
        in_review=Count("risk", filter=day & Q(risk__status=OrderRisk.Status.IN_REVIEW)),
        **{
            f"action_{action}": Count("risk", filter=day & Q(risk__action=action))
            for action in FLAGGING_ACTIONS
        },
    )
    return {
        "orders": w.trend(totals, "orders"),
        "orders_usd": w.trend(totals, "usd", money=True),
        "orders_other_currency": totals["other_currency"],
        "scored": totals["scored"],
        "flagged": w.trend(totals, "flagged"),
        "flagged_by_action": [
            Row(action, str(ACTION_LABELS[action]), totals[f"action_{action}"])
            for action in FLAGGING_ACTIONS
            if totals[f"action_{action}"]
        ],
        "held": totals["held"],
        "in_review_now": totals["in_review"],
    }


def _payment_section(store: Store, w: _Windows) -> dict:
    """Payments by gateway and currency; only US dollars are summed across currencies."""
    succeeded = Q(status=Payment.Status.SUCCEEDED)
    rows = list(
        _of_store(Payment.objects, "order__store_id", store)
        .filter(created_at__gte=w.start28, created_at__lt=w.day_end)
        .values("gateway", "currency")
        .annotate(
            **w.counts("paid", "created_at", condition=succeeded),
            **w.sums("amount", "created_at", "amount", succeeded),
            **w.counts("declined", "created_at", condition=Q(status=Payment.Status.FAILED)),
        )
        .order_by("gateway", "currency")
    )
    gateways = dict(Payment.Gateway.choices)
    breakdown = [
        Row(
            row["gateway"],
            str(gateways.get(row["gateway"], row["gateway"])),
            row["paid_day"],
            quantize(row["amount_day"] or Decimal(0), row["currency"]),
            row["currency"],
            extra=row["declined_day"],
        )
        for row in rows
        if row["paid_day"] or row["declined_day"]
    ]
    usd = [row for row in rows if row["currency"] == USD]
    return {
        "payments": breakdown,
        "payments_count": w.trend(_summed(rows, "paid"), "paid"),
        "payments_usd": w.trend(_summed(usd, "amount"), "amount", money=True),
        "declined": w.trend(_summed(rows, "declined"), "declined"),
        "unconverted": [row for row in breakdown if row.currency != USD and row.count],
    }


def _decision_section(store: Store, w: _Windows) -> dict:
    """Review decisions taken on the day, by kind, and how many orders were decided."""
    final = Q(kind__in=FINAL_DECISIONS)
    totals = (
        _of_store(RiskDecision.objects, "order_risk__order__store_id", store)
        .filter(created_at__gte=w.start28, created_at__lt=w.day_end)
        .aggregate(
            **{
                f"kind_{kind}": Count("id", filter=w.day("created_at") & Q(kind=kind))
                for kind in RiskDecision.Kind.values
            },
            reviewed_day=Count("order_risk", distinct=True, filter=w.day("created_at") & final),
            reviewed_7=Count("order_risk", distinct=True, filter=w.last7("created_at") & final),
            reviewed_28=Count("order_risk", distinct=True, filter=w.last28("created_at") & final),
        )
    )
    return {
        "decisions": [
            Row(kind, str(label), totals[f"kind_{kind}"])
            for kind, label in RiskDecision.Kind.choices
            if totals[f"kind_{kind}"]
        ],
        "reviewed": w.trend(totals, "reviewed"),
    }


def _refund_section(store: Store, w: _Windows) -> dict:
    """Refunds issued (succeeded or still pending at the gateway) by reason and currency."""
    rows = list(
        _of_store(Refund.objects, "order__store_id", store)
        .filter(created_at__gte=w.start28, created_at__lt=w.day_end, status__in=ISSUED_REFUNDS)
        .values("reason", "currency")
        .annotate(
            **w.counts("refunds", "created_at"),
            **w.sums("amount", "created_at", "amount"),
            pending=Count("id", filter=w.day("created_at") & Q(status=Refund.Status.PENDING)),
        )
        .order_by("reason", "currency")
    )
    reasons = dict(Refund.Reason.choices)
    usd = [row for row in rows if row["currency"] == USD]
    return {
        "refunds": sorted(
            (
                Row(
                    row["reason"],
                    str(reasons.get(row["reason"], row["reason"])),
                    row["refunds_day"],
                    quantize(row["amount_day"] or Decimal(0), row["currency"]),
                    row["currency"],
                )
                for row in rows
                if row["refunds_day"]
            ),
            key=lambda row: (-row.count, row.key),
        ),
        "refunds_count": w.trend(_summed(rows, "refunds"), "refunds"),
        "refunds_usd": w.trend(_summed(usd, "amount"), "amount", money=True),
        "refunds_pending": sum(row["pending"] for row in rows),
    }


def _dispute_section(store: Store, w: _Windows) -> dict:
    """Disputes the gateways opened on the day, by their own reason."""
    rows = list(
        _of_store(Dispute.objects, "order__store_id", store)
        .filter(opened_at__gte=w.start28, opened_at__lt=w.day_end)
        .values("reason", "currency")
        .annotate(
            **w.counts("disputes", "opened_at"),
            amount_day=Sum("amount", filter=w.day("opened_at")),
        )
        .order_by("reason", "currency")
    )
    return {
        "disputes": sorted(
            (
                Row(
                    row["reason"],
                    reason_label(row["reason"]),
                    row["disputes_day"],
                    quantize(row["amount_day"] or Decimal(0), row["currency"]),
                    row["currency"],
                )
                for row in rows
                if row["disputes_day"]
            ),
            key=lambda row: (-row.count, row.key),
        ),
        "disputes_count": w.trend(_summed(rows, "disputes"), "disputes"),
    }


def _early_fraud_warning_section(store: Store, w: _Windows) -> dict:
    """Early fraud warnings the card issuers sent on the day: about this store's orders, and
    those whose charge is not known here yet (so they belong to no store)."""
    counts = EarlyFraudWarning.objects.filter(
        Q(order__store_id=store.pk) | Q(order__isnull=True),
        warned_at__gte=w.day_start,
        warned_at__lt=w.day_end,
    ).aggregate(
        mine=Count("id", filter=Q(order__isnull=False)),
        unmatched=Count("id", filter=Q(order__isnull=True)),
    )
    return {
        "early_fraud_warnings": counts["mine"],
        "early_fraud_warnings_unmatched": counts["unmatched"],
    }


def _flag_reasons(store: Store, w: _Windows) -> dict:
    """What made the day's flagged orders risky: score reasons and the rules that fired."""
    rows = OrderRisk.objects.filter(
        order__store=store,
        order__created_at__gte=w.day_start,
        order__created_at__lt=w.day_end,
        action__in=FLAGGING_ACTIONS,
    ).values_list("score_reasons", "decided_by_rule_id", "decided_by_rule__name")
    reasons: Counter = Counter()
    texts: dict[str, str] = {}
    rules: Counter = Counter()
    for score_reasons, rule_id, rule_name in rows:
        for reason in score_reasons or []:
            if isinstance(reason, dict) and (reason.get("points") or 0) > 0:
                signal = str(reason.get("signal", ""))
                reasons[signal] += 1
                texts.setdefault(signal, str(reason.get("reason") or signal))
        if rule_id is not None:
            rules[(rule_id, rule_name)] += 1
    return {
        "top_reasons": [
            Row(signal, texts[signal], count)
            for signal, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[
                :TOP_SHOWN
            ]
        ],
        "top_rules": [
            Row(str(rule_id), name, count)
            for (rule_id, name), count in sorted(
                rules.items(), key=lambda item: (-item[1], item[0][0])
            )[:TOP_SHOWN]
        ],
    }


def build_digest(store: Store, day: date, *, now: datetime) -> DailyDigest:
    """The digest of one store day; `now` says whether the day is over yet."""
    history_days = history_days_before(store, day)
    w = _windows(store, day, history_days)
    sections = {
        **_order_section(store, w),
        **_payment_section(store, w),
        **_decision_section(store, w),
        **_refund_section(store, w),
        **_dispute_section(store, w),
        **_early_fraud_warning_section(store, w),
        **_flag_reasons(store, w),
    }
    anomalies = find_anomalies(store, day, history_days=history_days)
    notes = [
        str(
            _(
                "Payments carry no card BIN yet (brand, issuing country, last 4 and "
                "fingerprint only), so cards are grouped by brand and issuing country."
            )
        ),
    ]
    if anomalies.country_dimension != "ip_country":
        problems = [p for p in geoip().problems if p.startswith("GEOIP_PATH")]
        if problems:  # a file is named but cannot be used: say what is wrong with it
            notes.append(
                str(
                    _(
                        "IP countries are unavailable (%(reason)s), so countries are billing "
                        "countries, not IP countries."
                    )
                )
                % {"reason": problems[0]}
            )
        else:
            notes.append(
                str(
                    _(
                        "No GeoIP database is configured (GEOIP_PATH), so countries are billing "
                        "countries, not IP countries."
                    )
                )
            )
    digest = DailyDigest(
        ratio_warnings=_ratio_warnings(store, day, w.day_end, now),
        budget_warnings=digest_warnings(store, day),
        store=store,
        day=day,
        start=w.day_start,
        end=w.day_end,
        is_partial=now < w.day_end,
        history_days=history_days,
        anomalies=anomalies,
        notes=notes,
        **sections,
    )
    if digest.early_fraud_warnings_unmatched:
        notes.append(
            str(
                _(
                    "%(count)s more early fraud warnings of the day are about charges not known "
                    "here, so they are linked to no order or store."
                )
            )
            % {"count": digest.early_fraud_warnings_unmatched}
        )
    if digest.unconverted or digest.orders_other_currency:
        notes.append(
            str(
                _(
                    "Amounts in other currencies are shown apart and left out of the USD "
                    "totals: no exchange rates are recorded."
                )
            )
        )
    return digest


# Dispute reasons (and the disputed orders behind them) are for the roles that work disputes;
# agents and team leads see the day's dispute count and trend only, on the page, in the order
# lists behind it and in the emailed digest alike.
DISPUTE_REASONS_PERMISSION = "disputes.view_dispute"


def may_see_dispute_reasons(user) -> bool:
    return user.has_perm(DISPUTE_REASONS_PERMISSION)


def digest_for(user, digest: DailyDigest) -> DailyDigest:
    """The digest as this reader may see it: without dispute reasons unless their role works
    disputes."""
    if may_see_dispute_reasons(user):
        return digest
    return replace(digest, disputes=[], dispute_reasons_hidden=True)


class DigestFilterError(ValueError):
    """A drill-down filter that does not exist or a value it cannot take."""


DRILL_DOWNS = {
    "orders": _("Orders placed"),
    "paid": _("Orders with a payment"),
    "declined": _("Orders with a declined payment"),
    "flagged": _("Orders flagged by risk"),
    "action": _("Orders flagged with one action"),
    "held": _("Orders with fulfillment held"),
    "in_review": _("Orders still in review"),
    "rule": _("Orders decided by one rule"),
    "signal": _("Flagged orders with one reason"),
    "decision": _("Orders decided in review"),
    "refund": _("Orders refunded"),
    "dispute": _("Orders disputed"),
    "anomaly": _("Orders behind an anomaly"),
}


def digest_orders(store: Store, day: date, name: str, value: str = "", key: str = ""):
    """The orders one digest figure counts, newest first, for its drill-down list."""
    if name not in DRILL_DOWNS:
        raise DigestFilterError(_("There is no list called “%(name)s”.") % {"name": name[:40]})
    start, end = day_bounds(day, store.timezone)
    orders = Order.objects.filter(store=store).select_related("customer")
    placed = Q(created_at__gte=start, created_at__lt=end)
    between = {"created_at__gte": start, "created_at__lt": end}
    match name:
        case "orders":
            orders = orders.filter(placed)
        case "paid" | "declined":
            status = Payment.Status.SUCCEEDED if name == "paid" else Payment.Status.FAILED
            payments = Payment.objects.filter(order__store=store, status=status, **between)
            if value:
                payments = payments.filter(gateway=value)
            orders = orders.filter(pk__in=payments.values("order_id"))
        case "flagged":
            orders = orders.filter(placed, risk__action__in=FLAGGING_ACTIONS)
        case "action":
            if value not in FLAGGING_ACTIONS:
                raise DigestFilterError(_("Choose one of the flagging actions."))
            orders = orders.filter(placed, risk__action=value)
        case "held":
            orders = orders.filter(placed, risk__fulfillment_held=True)
        case "in_review":
            orders = orders.filter(placed, risk__status=OrderRisk.Status.IN_REVIEW)
        case "rule":
            if not value.isdigit():
                raise DigestFilterError(_("A rule is named by its number."))
            orders = orders.filter(placed, risk__decided_by_rule_id=int(value))
        case "signal":
            flagged = OrderRisk.objects.filter(
                order__store=store,
                order__created_at__gte=start,
                order__created_at__lt=end,
                action__in=FLAGGING_ACTIONS,
            ).values_list("order_id", "score_reasons")
            ids = [
                order_id
                for order_id, reasons in flagged
                if any(
                    isinstance(reason, dict)
                    and reason.get("signal") == value
                    and (reason.get("points") or 0) > 0
                    for reason in reasons or []
                )
            ]
            orders = orders.filter(pk__in=ids)
        case "decision":
            if value not in RiskDecision.Kind.values:
                raise DigestFilterError(_("Choose one of the review decisions."))
            decided = RiskDecision.objects.filter(
                order_risk__order__store=store, kind=value, **between
            )
            orders = orders.filter(pk__in=decided.values("order_risk__order_id"))
        case "refund":
            refunds = Refund.objects.filter(
                order__store=store, status__in=ISSUED_REFUNDS, reason=value, **between
            )
            orders = orders.filter(pk__in=refunds.values("order_id"))
        case "dispute":
            disputes = Dispute.objects.filter(
                order__store=store, reason=value, opened_at__gte=start, opened_at__lt=end
            )
            orders = orders.filter(pk__in=disputes.values("order_id"))
        case "anomaly":
            try:
                dimension = Dimension(value)
            except ValueError:
                dimension = None
            if dimension is None or not key:
                raise DigestFilterError(_("Name the anomaly by its kind and key."))
            orders = orders.filter(pk__in=anomaly_order_ids(store, day, dimension, key))
            return orders.order_by("-created_at", "-id"), str(DIMENSION_LABELS[dimension])
    return orders.order_by("-created_at", "-id"), str(DRILL_DOWNS[name])
