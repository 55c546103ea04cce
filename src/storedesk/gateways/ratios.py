"""The ratios card networks watch, per store, month, gateway and card network.

Three aggregate queries whatever the store's size: card transactions of the month and the month
before (one pass, split by conditional counts), the month's chargebacks (all and fraud-family,
with those whose payment also drew an early fraud warning, so VAMP counts that pair once), and
the month's early fraud warnings (the gateway's view of the issuers' TC40 fraud reports). Each
program's rule (MonitoringThreshold, the version in force on the month's first day) turns them
into a ratio, a projection to the month's end, and a warning level.

Months are the store's calendar months (Store.timezone).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, OuterRef, Q

from storedesk.commerce.models import Payment, Store
from storedesk.disputes.models import Dispute, EarlyFraudWarning
from storedesk.gateways.models import MonitoringThreshold

# Fraud family: the gateways' own reasons and the networks' fraud codes (Visa 10.x, Mastercard
# 4837/4840/4849/4863/4870/4871).
FRAUD_REASONS = ("fraudulent", "unrecognized", "UNAUTHORISED", "UNAUTHORIZED")
MASTERCARD_FRAUD_CODES = ("4837", "4840", "4849", "4863", "4870", "4871")
FRAUD_FAMILY = (
    Q(reason__in=FRAUD_REASONS)
    | Q(network_reason_code__startswith="10.")
    | Q(network_reason_code__in=MASTERCARD_FRAUD_CODES)
)
RATIO_PLACES = Decimal("0.00001")
COUNT_PLACES = Decimal("0.1")


class Level:
    NONE = "none"
    EARLY_WARNING = "early_warning"  # the projection crosses the early-warning ratio
    EXCESSIVE = "excessive"  # the projection crosses the threshold with enough cases


class MonthError(ValueError):
    """A month the ratios cannot be computed for, with a message for the person who asked."""


def parse_month(text: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        if not 2000 <= year <= 2100 or len(text) != 7:
            raise ValueError
        return date(year, month, 1)
    except ValueError:
        raise MonthError(f"{text!r} is not a month: write YYYY-MM, e.g. 2026-03.") from None


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_bounds(month: date, zone_name: str) -> tuple[datetime, datetime]:
    zone = zoneinfo.ZoneInfo(zone_name)
    start = datetime.combine(month, time.min, tzinfo=zone)
    return start, datetime.combine(next_month(month), time.min, tzinfo=zone)


def ratio(count: Decimal | int, total: Decimal | int) -> Decimal | None:
    """count / total to five places; None when there were no transactions to divide by."""
    if not total:
        return None
    return (Decimal(count) / Decimal(total)).quantize(RATIO_PLACES, ROUND_HALF_UP)


@dataclass
class ProgramRatio:
    program: str
    label: str
    measure: str
    count: int
    projected_count: Decimal
    transactions: int
    projected_transactions: Decimal
    ratio: Decimal | None
    projected_ratio: Decimal | None
    early_warning: Decimal
    threshold: Decimal
    min_count: int
    level: str
    source: str
    effective_from: date


@dataclass
class RatioRow:
    gateway: str
    network: str
    transactions: int = 0
    previous_month_transactions: int = 0
    disputes: int = 0
    fraud_disputes: int = 0
    disputes_with_warning: int = 0
    fraud_disputes_with_warning: int = 0
    early_fraud_warnings: int = 0
    dispute_ratio: Decimal | None = None
    fraud_ratio: Decimal | None = None
    programs: list[ProgramRatio] = field(default_factory=list)


@dataclass
class MonthRatios:
    store: Store
    month: date
    as_of: datetime
    elapsed: Decimal  # the share of the month gone by at as_of (1 for a past month)
    rows: list[RatioRow]

    @property
    def warnings(self) -> list[tuple[RatioRow, ProgramRatio]]:
        return [
            (row, program)
            for row in self.rows
            for program in row.programs
            if program.level != Level.NONE
        ]


def _elapsed(start: datetime, end: datetime, now: datetime) -> Decimal:
    if now >= end:
        return Decimal(1)
    if now <= start:
        return Decimal(0)
    gone = Decimal((now - start).total_seconds()) / Decimal((end - start).total_seconds())
    return gone.quantize(Decimal("0.000001"))


def _project(value: int, elapsed: Decimal) -> Decimal:
    """The month's total if the rest of it goes like the part gone by."""
    if not elapsed:
        return Decimal(value)
    return (Decimal(value) / elapsed).quantize(COUNT_PLACES, ROUND_HALF_UP)


def thresholds_in_force(on: date) -> list[MonitoringThreshold]:
    """Each program's latest version effective on `on` (one query)."""
    current: dict[str, MonitoringThreshold] = {}
    for version in MonitoringThreshold.objects.filter(effective_from__lte=on).order_by(
        "effective_from", "id"
    ):
        current[version.program] = version
    return list(current.values())


def _program(row: RatioRow, rule: MonitoringThreshold, elapsed: Decimal) -> ProgramRatio:
    if rule.measure == MonitoringThreshold.Measure.DISPUTES:
        count = row.disputes
    elif rule.measure == MonitoringThreshold.Measure.FRAUD_DISPUTES:
        count = row.fraud_disputes
    else:  # VAMP: fraud reports and disputes, a transaction with both counted once
        count = row.early_fraud_warnings + row.disputes - row.disputes_with_warning
    projected_count = _project(count, elapsed)
    if rule.denominator == MonitoringThreshold.Denominator.PREVIOUS_MONTH:
        transactions = row.previous_month_transactions
        projected_transactions = Decimal(transactions)  # a closed month: nothing to project
    else:
        transactions = row.transactions
        projected_transactions = _project(transactions, elapsed)
    projected = ratio(projected_count, projected_transactions)
    level = Level.NONE
    if projected is not None and projected >= rule.early_warning:
        level = Level.EARLY_WARNING
        if projected >= rule.threshold and projected_count >= rule.min_count:
            level = Level.EXCESSIVE
    return ProgramRatio(
        program=rule.program,
        label=rule.get_program_display(),
        measure=rule.measure,
        count=count,
        projected_count=projected_count,
        transactions=transactions,
        projected_transactions=projected_transactions,
        ratio=ratio(count, transactions),
        projected_ratio=projected,
        early_warning=rule.early_warning,
        threshold=rule.threshold,
        min_count=rule.min_count,
        level=level,
        source=rule.source,
        effective_from=rule.effective_from,
    )


def month_ratios(store: Store, month: date, *, now: datetime) -> MonthRatios:
    """The store's ratios for `month` as of `now`: four queries, set-based."""
    start, end = month_bounds(month, store.timezone)
    previous_start, _ = month_bounds(previous_month(month), store.timezone)
    rows: dict[tuple[str, str], RatioRow] = {}

    def row(gateway: str, network: str) -> RatioRow:
        key = (gateway, network or "")
        if key not in rows:
            rows[key] = RatioRow(gateway=gateway, network=network or "")
        return rows[key]

    # Payment.store (denormalised) and payment_store_ratio_idx: an index-only range scan.
    card_payments = Payment.objects.filter(
        store=store,
        method=Payment.Method.CARD,
        status=Payment.Status.SUCCEEDED,
        created_at__gte=previous_start,
        created_at__lt=end,
    )
    for counted in (
        card_payments.values("gateway", "card_brand")
        .annotate(
            this_month=Count("id", filter=Q(created_at__gte=start)),
            last_month=Count("id", filter=Q(created_at__lt=start)),
        )
        .order_by()
    ):
        target = row(counted["gateway"], counted["card_brand"])
        target.transactions = counted["this_month"]
        target.previous_month_transactions = counted["last_month"]

    warned = EarlyFraudWarning.objects.filter(payment=OuterRef("payment_id"))
    disputes = Dispute.objects.filter(
        order__store=store,
        kind=Dispute.Kind.CHARGEBACK,
        opened_at__gte=start,
        opened_at__lt=end,
    )
    for counted in (
        disputes.annotate(warned=Exists(warned))
        .values("gateway", "payment__card_brand")
        .annotate(
            total=Count("id"),
            fraud=Count("id", filter=FRAUD_FAMILY),
            with_warning=Count("id", filter=Q(warned=True)),
            fraud_with_warning=Count("id", filter=Q(warned=True) & FRAUD_FAMILY),
        )
        .order_by()
    ):
        target = row(counted["gateway"], counted["payment__card_brand"])
        target.disputes = counted["total"]
        target.fraud_disputes = counted["fraud"]
        target.disputes_with_warning = counted["with_warning"]
        target.fraud_disputes_with_warning = counted["fraud_with_warning"]

    for counted in (
        EarlyFraudWarning.objects.filter(
            order__store=store, warned_at__gte=start, warned_at__lt=end, payment__isnull=False
        )
        .values("gateway", "payment__card_brand")
        .annotate(total=Count("id"))
        .order_by()
    ):
        row(counted["gateway"], counted["payment__card_brand"]).early_fraud_warnings = counted[
            "total"
        ]

    elapsed = _elapsed(start, end, now)
    rules = thresholds_in_force(month)
    for target in rows.values():
        target.dispute_ratio = ratio(target.disputes, target.transactions)
        target.fraud_ratio = ratio(
            target.fraud_disputes
            + target.early_fraud_warnings
            - target.fraud_disputes_with_warning,
            target.transactions,
        )
        target.programs = [
            _program(target, rule, elapsed) for rule in rules if rule.network == target.network
        ]
    ordered = sorted(rows.values(), key=lambda r: (r.gateway, r.network))
    return MonthRatios(store=store, month=month, as_of=now, elapsed=elapsed, rows=ordered)
