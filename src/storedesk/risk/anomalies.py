"""Anomalies of one store day, measured against the store's own trailing baseline.

Two questions, each answered set-based (two queries for the whole window, then Polars):

- *A sudden rise*: did one country, card (brand + issuing country), IP range or email domain
  bring far more orders today than its trailing daily mean? Each key's count is tested with
  the Poisson tail P(X >= observed) against its 28-day mean (scaled up when the whole store is
  busier than usual, and never below one order per baseline period, so a key never seen before
  is not infinitely surprising), with a minimum count and a minimum ratio.
- *A card-testing burst*: did one IP or one card fingerprint produce many declined payments,
  or many orders, within one hour? The busiest hour of each key is tested the same way
  against its own hourly history, with a floor for keys with none.

p-values are Bonferroni-corrected for the number of keys tested (times 24 hourly windows for
bursts), so a store with thousands of IP ranges does not flag one by chance every day.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

import polars as pl
from django.db import connection
from django.db.models import F
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Order, Payment, Store
from storedesk.commerce.queries import day_bounds
from storedesk.risk.reference import geoip

BASELINE_DAYS = 28
MIN_HISTORY_DAYS = 7
MIN_DAILY_COUNT = 5
MIN_RATIO = 2.0
ALPHA = 0.001
BURST_WINDOW = timedelta(hours=1)
BURST_MIN_COUNT = 5
BURST_FLOOR_PER_HOUR = 0.1
WINDOWS_PER_DAY = 24


class Dimension(StrEnum):
    IP_COUNTRY = "ip_country"
    BILLING_COUNTRY = "billing_country"
    CARD = "card"
    IP_RANGE = "ip_range"
    EMAIL_DOMAIN = "email_domain"
    DECLINES = "declines"
    DECLINE_BURST_IP = "decline_burst_ip"
    DECLINE_BURST_CARD = "decline_burst_card"
    ORDER_BURST_IP = "order_burst_ip"
    ORDER_BURST_CARD = "order_burst_card"


DIMENSION_LABELS = {
    Dimension.IP_COUNTRY: _("Orders from one IP country"),
    Dimension.BILLING_COUNTRY: _("Orders from one billing country"),
    Dimension.CARD: _("Card payments of one brand and issuing country"),
    Dimension.IP_RANGE: _("Orders from one IP range"),
    Dimension.EMAIL_DOMAIN: _("Orders from one email domain"),
    Dimension.DECLINES: _("Declined payments, whole store"),
    Dimension.DECLINE_BURST_IP: _("Card testing: declined payments from one IP"),
    Dimension.DECLINE_BURST_CARD: _("Card testing: declined payments on one card"),
    Dimension.ORDER_BURST_IP: _("Burst of orders from one IP"),
    Dimension.ORDER_BURST_CARD: _("Burst of orders on one card"),
}
BURSTS = {
    Dimension.DECLINE_BURST_IP,
    Dimension.DECLINE_BURST_CARD,
    Dimension.ORDER_BURST_IP,
    Dimension.ORDER_BURST_CARD,
}
ORDER_KEYED = {
    Dimension.IP_COUNTRY,
    Dimension.BILLING_COUNTRY,
    Dimension.IP_RANGE,
    Dimension.EMAIL_DOMAIN,
    Dimension.ORDER_BURST_IP,
}
CARD_KEYED = {Dimension.DECLINE_BURST_CARD, Dimension.ORDER_BURST_CARD}


def poisson_log10_tail(observed: int, expected: float) -> float:
    """log10 P(X >= observed) for X ~ Poisson(expected), exact for tails far below 1e-300."""
    if observed <= 0:
        return 0.0
    if expected <= 0:
        return -math.inf
    if observed <= expected:
        head, term = 0.0, math.exp(-expected)
        for k in range(observed):
            head += term
            term *= expected / (k + 1)
        return math.log10(max(1.0 - head, 1e-300)) if head < 1 else 0.0
    log_first = -expected + observed * math.log(expected) - math.lgamma(observed + 1)
    total, term, k = 0.0, 1.0, observed
    while term > 1e-17 * total or total == 0.0:
        total += term
        k += 1
        term *= expected / k
    return (log_first + math.log(total)) / math.log(10)


@dataclass(frozen=True)
class Anomaly:
    """One key that stood out, with the figures that made it stand out."""

    dimension: Dimension
    key: str
    observed: int
    expected: float
    baseline: float  # the key's own trailing mean per day (per hour for bursts)
    log10_p: float
    tests: int
    window_start: datetime | None = None
    window_end: datetime | None = None
    order_ids: tuple[int, ...] = ()
    amount_usd: Decimal | None = None  # the USD value of the orders involved

    @property
    def label(self) -> str:
        return str(DIMENSION_LABELS[self.dimension])

    @property
    def is_burst(self) -> bool:
        return self.dimension in BURSTS

    @property
    def log10_p_adjusted(self) -> float:
        return min(0.0, self.log10_p + math.log10(max(self.tests, 1)))

    @property
    def p_adjusted(self) -> float:
        return 10**self.log10_p_adjusted

    @property
    def p_display(self) -> str:
        """The corrected p-value as people read it: 3e-14, or < 1e-300."""
        if self.log10_p_adjusted < -300:
            return "< 1e-300"
        return f"{self.p_adjusted:.1g}"

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else math.inf

    @property
    def display_key(self) -> str:
        """Card fingerprints are shortened: the digest is emailed, the fingerprint is not."""
        if self.dimension in CARD_KEYED:
            return f"…{self.key[-6:]}"
        if self.dimension == Dimension.DECLINES:
            return str(_("all payments"))
        if self.dimension == Dimension.CARD:
            brand, _sep, country = self.key.partition(":")
            return f"{brand or '?'} · {country or '?'}"
        return self.key


@dataclass
class AnomalyReport:
    anomalies: list[Anomaly]
    history_days: int
    country_dimension: Dimension
    skipped: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def ip_range(ip: str | None) -> str | None:
    """The /24 an IPv4 address belongs to, or the /48 of an IPv6 address."""
    if not ip:
        return None
    if ":" not in ip:
        prefix, dot, _last = ip.rpartition(".")
        return f"{prefix}.0/24" if dot else None
    try:
        address = ipaddress.IPv6Address(ip)
    except ValueError:
        return None
    if address.ipv4_mapped is not None:
        return ip_range(str(address.ipv4_mapped))
    return str(ipaddress.IPv6Network(f"{address}/48", strict=False))


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rpartition("@")[2].strip().lower() or None


def card_key(brand: str | None, country: str | None) -> str | None:
    if not brand and not country:
        return None
    return f"{(brand or '').lower()}:{(country or '').upper()}"


def ip_ranges(ips: pl.Expr, frame: pl.DataFrame, source: str) -> pl.Expr:
    """`ip_range` for a whole column: IPv4 with string operations, the few IPv6 addresses (which
    need their compressed forms expanded) through `ip_range` once per distinct address."""
    ipv6 = frame.filter(pl.col(source).str.contains(":", literal=True)).get_column(source)
    mapping = {value: ip_range(value) for value in ipv6.unique().to_list()}
    return (
        pl.when(ips.str.contains(":", literal=True))
        .then(ips.replace_strict(mapping, default=None, return_dtype=pl.String))
        .when(ips.str.contains(".", literal=True))
        .then(ips.str.replace(r"\.[^.]*$", ".0/24"))
        .otherwise(None)
    )


def email_domains(emails: pl.Expr) -> pl.Expr:
    """`email_domain` for a whole column."""
    domain = emails.str.extract(r"@([^@]*)$", 1).str.strip_chars().str.to_lowercase()
    return pl.when(domain != "").then(domain)


_TIMESTAMP = "%Y-%m-%d %H:%M:%S%.f"


def _fetch(queryset, columns: dict[str, object]) -> pl.DataFrame:
    """Run the queryset's SQL and build the frame from the raw rows: on a busy store Django's
    per-value converters cost more than the query itself. Timestamps are UTC datetimes, or UTC
    text where the driver does not convert them."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    series = []
    for (name, dtype), column in zip(columns.items(), values, strict=True):
        if dtype == pl.Datetime and any(isinstance(value, str) for value in column[:1]):
            text = pl.Series(name, column, dtype=pl.String)
            series.append(text.str.to_datetime(_TIMESTAMP, time_zone="UTC", time_unit="us"))
        elif dtype == pl.Datetime:
            series.append(pl.Series(name, column, dtype=pl.Datetime("us", "UTC")))
        elif dtype == pl.Int64:
            series.append(pl.Series(name, column, dtype=pl.Int64))
        else:
            series.append(pl.Series(name, column, dtype=pl.String, strict=False).replace("", None))
    return pl.DataFrame(series)


def order_frame(store: Store, start: datetime, end: datetime, *, ip_country: bool) -> pl.DataFrame:
    """The window's orders in one query; the IP country is the one stored when it was scored."""
    orders = Order.objects.filter(store=store, created_at__gte=start, created_at__lt=end)
    fields = ["id", "created_at", "billing_country", "browser_ip", "email"]
    if ip_country:
        orders = orders.annotate(ip_country=KeyTextTransform("ip_country", "risk__signals"))
        fields.append("ip_country")
    columns = {
        "order_id": pl.Int64,
        "created_at": pl.Datetime,
        "billing_country": pl.String,
        "ip": pl.String,
        "email": pl.String,
        "ip_country": pl.String,
    }
    frame = _fetch(orders.values_list(*fields), dict(list(columns.items())[: len(fields)]))
    return frame if ip_country else frame.with_columns(ip_country=pl.lit(None, pl.String))


def payment_frame(store: Store, start: datetime, end: datetime) -> pl.DataFrame:
    """The window's payment attempts (succeeded and declined) with their order's IP. The store
    condition is kept off the index (`+ 0`) so SQLite walks the payments' time index instead of
    every order of the store."""
    payments = (
        Payment.objects.alias(store_key=F("order__store_id") + 0)
        .filter(
            store_key=store.pk,
            created_at__gte=start,
            created_at__lt=end,
            status__in=[Payment.Status.SUCCEEDED, Payment.Status.FAILED],
        )
        .values_list(
            "order_id",
            "created_at",
            "status",
            "card_brand",
            "card_country",
            "card_fingerprint",
            "order__browser_ip",
        )
    )
    columns = {
        "order_id": pl.Int64,
        "created_at": pl.Datetime,
        "status": pl.String,
        "brand": pl.String,
        "card_country": pl.String,
        "fingerprint": pl.String,
        "ip": pl.String,
    }
    return _fetch(payments, columns)


def _daily(
    dimension: Dimension,
    frame: pl.DataFrame,
    *,
    day_start: datetime,
    baseline_days: int,
    scale: float,
) -> list[Anomaly]:
    """Each key's count today against its trailing daily mean (Poisson tail, corrected)."""
    keyed = frame.filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
    today = pl.col("created_at") >= day_start
    counts = keyed.group_by("key").agg(
        today=today.sum(),
        base=(~today).sum(),
        orders=pl.col("order_id").filter(today).unique(),
    )
    tested = counts.filter(pl.col("today") > 0).height
    found = []
    for row in counts.filter(pl.col("today") >= MIN_DAILY_COUNT).iter_rows(named=True):
        baseline = row["base"] / baseline_days
        expected = max(baseline, 1 / baseline_days) * scale
        if row["today"] < MIN_RATIO * expected:
            continue
        anomaly = Anomaly(
            dimension=dimension,
            key=row["key"],
            observed=row["today"],
            expected=expected,
            baseline=baseline,
            log10_p=poisson_log10_tail(row["today"], expected),
            tests=tested,
            order_ids=tuple(sorted(row["orders"])),
        )
        if anomaly.log10_p_adjusted < math.log10(ALPHA):
            found.append(anomaly)
    return found


def _volume_scale(frame: pl.DataFrame, day_start: datetime, baseline_days: int) -> float:
    """How much busier than its trailing mean the store is today (never below 1)."""
    today = frame.filter(pl.col("created_at") >= day_start).height
    mean = (frame.height - today) / baseline_days
    return max(1.0, today / mean) if mean > 0 else 1.0


def _bursts(
    dimension: Dimension, events: pl.DataFrame, *, day_start: datetime, baseline_hours: float
) -> list[Anomaly]:
    """Each key's busiest hour today against its own hourly history (with a floor)."""
    keyed = events.filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
    today = keyed.filter(pl.col("created_at") >= day_start).sort("key", "created_at")
    if today.is_empty():
        return []
    windows = today.rolling(index_column="created_at", period="1h", group_by="key").agg(
        count=pl.len(), start=pl.col("created_at").min(), orders=pl.col("order_id").unique()
    )
    busiest = (
        windows.sort(["key", "count", "created_at"], descending=[False, True, False])
        .group_by("key", maintain_order=True)
        .first()
        .filter(pl.col("count") >= BURST_MIN_COUNT)
    )
    if busiest.is_empty():
        return []
    history = keyed.filter(pl.col("created_at") < day_start).group_by("key").agg(base=pl.len())
    busiest = busiest.join(history, on="key", how="left").with_columns(pl.col("base").fill_null(0))
    tested = today.get_column("key").n_unique() * WINDOWS_PER_DAY
    found = []
    for row in busiest.iter_rows(named=True):
        baseline = row["base"] / baseline_hours
        expected = max(baseline, BURST_FLOOR_PER_HOUR)
        if row["count"] < MIN_RATIO * expected:
            continue
        anomaly = Anomaly(
            dimension=dimension,
            key=row["key"],
            observed=row["count"],
            expected=expected,
            baseline=baseline,
            log10_p=poisson_log10_tail(row["count"], expected),
            tests=tested,
            window_start=row["start"],
            window_end=row["created_at"],
            order_ids=tuple(sorted(row["orders"])),
        )
        if anomaly.log10_p_adjusted < math.log10(ALPHA):
            found.append(anomaly)
    return found


def keyed_orders(orders: pl.DataFrame, dimension: Dimension) -> pl.DataFrame:
    """The order frame with the dimension's key in a `key` column."""
    if dimension == Dimension.IP_COUNTRY:
        return orders.with_columns(key=pl.col("ip_country"))
    if dimension == Dimension.BILLING_COUNTRY:
        return orders.with_columns(key=pl.col("billing_country").str.to_uppercase())
    if dimension == Dimension.IP_RANGE:
        return orders.with_columns(key=ip_ranges(pl.col("ip"), orders, "ip"))
    if dimension == Dimension.EMAIL_DOMAIN:
        return orders.with_columns(key=email_domains(pl.col("email")))
    if dimension == Dimension.ORDER_BURST_IP:
        return orders.with_columns(key=pl.col("ip"))
    raise ValueError(dimension)


def keyed_payments(payments: pl.DataFrame, dimension: Dimension) -> pl.DataFrame:
    """Payment attempts of the dimension (succeeded cards, or declines) with their `key`."""
    succeeded = pl.col("status") == Payment.Status.SUCCEEDED
    declined = pl.col("status") == Payment.Status.FAILED
    if dimension == Dimension.CARD:
        frame = payments.filter(succeeded)
        return frame.with_columns(
            key=pl.when(pl.col("brand").is_not_null() | pl.col("card_country").is_not_null())
            .then(
                pl.concat_str(
                    pl.col("brand").fill_null("").str.to_lowercase(),
                    pl.lit(":"),
                    pl.col("card_country").fill_null("").str.to_uppercase(),
                )
            )
            .otherwise(None)
        )
    if dimension == Dimension.DECLINES:
        return payments.filter(declined).with_columns(key=pl.lit("all"))
    if dimension == Dimension.DECLINE_BURST_IP:
        return payments.filter(declined).with_columns(key=pl.col("ip"))
    if dimension == Dimension.DECLINE_BURST_CARD:
        return payments.filter(declined).with_columns(key=pl.col("fingerprint"))
    raise ValueError(dimension)


def orders_by_card(orders: pl.DataFrame, payments: pl.DataFrame) -> pl.DataFrame:
    """Orders keyed by the fingerprint of the card that paid them."""
    cards = (
        payments.filter(
            (pl.col("status") == Payment.Status.SUCCEEDED) & pl.col("fingerprint").is_not_null()
        )
        .group_by("order_id")
        .agg(key=pl.col("fingerprint").last())
    )
    return orders.join(cards, on="order_id", how="inner")


def history_days_before(store: Store, day: date) -> int:
    """Whole store days of order history before `day`, capped at the baseline length."""
    first = (
        Order.objects.filter(store=store)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if first is None:
        return 0
    first_day = first.astimezone(ZoneInfo(store.timezone)).date()
    return max(0, min(BASELINE_DAYS, (day - first_day).days))


def _utc_bounds(store: Store, day: date) -> tuple[datetime, datetime]:
    """The store day's bounds in UTC, the zone Polars holds the timestamps in."""
    return tuple(moment.astimezone(UTC) for moment in day_bounds(day, store.timezone))


def country_dimension() -> Dimension:
    """IP countries need a GeoIP database; without one the billing country stands in."""
    return Dimension.IP_COUNTRY if geoip().available else Dimension.BILLING_COUNTRY


def find_anomalies(store: Store, day: date, *, history_days: int | None = None) -> AnomalyReport:
    """Every anomaly of the store day, most significant first."""
    started = time.perf_counter()
    if history_days is None:
        history_days = history_days_before(store, day)
    countries = country_dimension()
    report = AnomalyReport([], history_days, countries)
    if history_days < MIN_HISTORY_DAYS:
        report.skipped = str(
            _(
                "Anomalies need at least %(needed)d days of order history before the day; "
                "the store has %(days)d."
            )
            % {"needed": MIN_HISTORY_DAYS, "days": history_days}
        )
        return report
    day_start, day_end = _utc_bounds(store, day)
    window_start = _utc_bounds(store, day - timedelta(days=history_days))[0]
    orders = order_frame(store, window_start, day_end, ip_country=countries == Dimension.IP_COUNTRY)
    payments = payment_frame(store, window_start, day_end)
    daily = {"day_start": day_start, "baseline_days": history_days}
    order_scale = _volume_scale(orders, day_start, history_days)
    found = []
    for dimension in (countries, Dimension.IP_RANGE, Dimension.EMAIL_DOMAIN):
        found += _daily(dimension, keyed_orders(orders, dimension), scale=order_scale, **daily)
    paid = payments.filter(pl.col("status") == Payment.Status.SUCCEEDED)
    found += _daily(
        Dimension.CARD,
        keyed_payments(payments, Dimension.CARD),
        scale=_volume_scale(paid, day_start, history_days),
        **daily,
    )
    found += _daily(
        Dimension.DECLINES,
        keyed_payments(payments, Dimension.DECLINES),
        scale=_volume_scale(payments, day_start, history_days),
        **daily,
    )
    hourly = {"day_start": day_start, "baseline_hours": (day_start - window_start) / BURST_WINDOW}
    for dimension in (Dimension.DECLINE_BURST_IP, Dimension.DECLINE_BURST_CARD):
        found += _bursts(dimension, keyed_payments(payments, dimension), **hourly)
    found += _bursts(
        Dimension.ORDER_BURST_IP, keyed_orders(orders, Dimension.ORDER_BURST_IP), **hourly
    )
    found += _bursts(Dimension.ORDER_BURST_CARD, orders_by_card(orders, payments), **hourly)
    found.sort(key=lambda anomaly: (anomaly.log10_p_adjusted, -anomaly.observed, anomaly.key))
    report.anomalies = _with_amounts(found)
    report.seconds = time.perf_counter() - started
    return report


def _with_amounts(found: list[Anomaly]) -> list[Anomaly]:
    """Add the USD value of each anomaly's orders, read in one query for all of them."""
    ids = {order_id for anomaly in found for order_id in anomaly.order_ids}
    if not ids:
        return found
    totals = dict(Order.objects.filter(pk__in=ids, currency="USD").values_list("pk", "total_price"))
    return [
        replace(
            anomaly,
            amount_usd=sum((totals.get(i, Decimal(0)) for i in anomaly.order_ids), Decimal(0)),
        )
        for anomaly in found
    ]


def anomaly_order_ids(store: Store, day: date, dimension: Dimension, key: str) -> list[int]:
    """The day's orders an anomaly counted, found with the same keys it was counted by."""
    day_start, day_end = _utc_bounds(store, day)
    orders = order_frame(store, day_start, day_end, ip_country=dimension == Dimension.IP_COUNTRY)
    if dimension in ORDER_KEYED:
        frame = keyed_orders(orders, dimension)
    else:
        payments = payment_frame(store, day_start, day_end)
        if dimension == Dimension.ORDER_BURST_CARD:
            frame = orders_by_card(orders, payments)
        else:
            frame = keyed_payments(payments, dimension)
    return frame.filter(pl.col("key") == key).get_column("order_id").unique().sort().to_list()
