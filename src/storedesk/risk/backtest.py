"""Backtest a rule on the store's history before it is saved: what it would have matched, and
what became of those orders (disputed or early-fraud-warned, refunded, good).

History is a columnar snapshot (Polars) of every scored order's signals as they were when it
was scored, with its outcome; the rule is compiled to one Polars expression, so a rule runs
over a million orders in well under a second instead of row by row.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
from django.db import connection
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from storedesk.commerce.models import Refund
from storedesk.disputes.models import Dispute, EarlyFraudWarning
from storedesk.risk.columnar import polars_expression
from storedesk.risk.language import Action, Rule, ValueType
from storedesk.risk.models import OrderRisk, RiskDecision
from storedesk.risk.queries import list_values, rule_attributes, validate_rule

BROAD_MATCH_WARNING = 0.05  # warn before saving a rule that would act on more than 5% of orders
BACKTEST_DAYS = (30, 90, 180, 365)
MAX_BACKTEST_DAYS = 365
EXAMPLES = 20
FETCH_ROWS = 5000
DECODE_CHUNK = 20_000  # JSON texts decoded at once, to bound memory on big windows
_POLARS_TYPES = {
    ValueType.NUMBER: pl.Float64,
    ValueType.TEXT: pl.String,
    ValueType.BOOLEAN: pl.Boolean,
}
_BOOLEANS = {"true": True, "false": False}
_META_SCHEMA = {
    "order_id": pl.Int64,
    "created_at": pl.Datetime("us", "UTC"),
    "amount": pl.Float64,
    "status": pl.String,
    "disputed": pl.Boolean,
    "refunded": pl.Boolean,
}


def snapshot(since: datetime, order_ids: list[int] | None = None) -> pl.DataFrame:
    """One row per order scored since `since` (or only `order_ids` of them): its signals,
    amount and outcome. The rows are read with a plain cursor and typed by Polars (Django's
    per-value converters took half the time), and the signals' JSON is decoded by Polars."""
    # "disputed" as the card issuers see it: a dispute, or an early fraud warning (which most
    # often becomes a fraud dispute unless the payment is refunded first).
    disputed = ExpressionWrapper(
        Q(Exists(Dispute.objects.filter(order_id=OuterRef("order_id"))))
        | Q(Exists(EarlyFraudWarning.objects.filter(order_id=OuterRef("order_id")))),
        output_field=BooleanField(),
    )
    refunded = Exists(
        Refund.objects.filter(order_id=OuterRef("order_id"), status=Refund.Status.SUCCEEDED)
    )
    history = OrderRisk.objects.filter(order__created_at__gte=since)
    if order_ids is not None:
        history = history.filter(order_id__in=order_ids)
    query = history.annotate(
        disputed=disputed, refunded=refunded, signals_json=Cast("signals", TextField())
    ).values_list(
        "order_id",
        "order__created_at",
        "amount_usd",
        "status",
        "disputed",
        "refunded",
        "signals_json",
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        batches = iter(lambda: cursor.fetchmany(FETCH_ROWS), [])
        return snapshot_from_rows(row for rows in batches for row in rows)


def snapshot_from_rows(rows) -> pl.DataFrame:
    """Rows of (order id, created at, amount, status, disputed, refunded, signals as JSON text
    or dict), as a database driver gives them, to a frame with one typed column per rule
    attribute (null where missing)."""
    types = rule_attributes()
    meta: list[list] = [[] for _ in _META_SCHEMA]
    decoded, signals = [], []
    for *values, signal_values in rows:
        for column, value in zip(meta, values, strict=True):
            column.append(value)
        signals.append(
            signal_values if isinstance(signal_values, str) else json.dumps(signal_values)
        )
        if len(signals) == DECODE_CHUNK:
            decoded.append(_decode(signals, types))
            signals = []
    decoded.append(_decode(signals, types))
    return pl.concat([_meta_frame(meta), pl.concat(decoded)], how="horizontal")


def _meta_frame(meta: list[list]) -> pl.DataFrame:
    """Drivers differ: SQLite gives naive UTC datetimes, 0/1 and floats, PostgreSQL aware
    datetimes, booleans and Decimals."""
    columns = dict(zip(_META_SCHEMA, meta, strict=True))
    stamps = columns.pop("created_at")
    created = pl.Series("created_at", stamps, dtype=None if stamps else pl.Datetime("us"))
    if created.dtype == pl.String:
        created = created.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f")
    if getattr(created.dtype, "time_zone", None):
        created = created.dt.convert_time_zone("UTC")
    else:
        created = created.dt.replace_time_zone("UTC")
    frame = pl.DataFrame(
        {name: pl.Series(name, values, strict=False) for name, values in columns.items()}
    )
    return frame.with_columns(created.dt.cast_time_unit("us")).select(
        pl.col(name).cast(dtype) for name, dtype in _META_SCHEMA.items()
    )


def _decode(signals: list[str], types: dict[str, ValueType]) -> pl.DataFrame:
    """JSON texts to typed columns, by Polars' (multi-threaded) newline-delimited JSON reader:
    twice as fast as decoding each text. Every attribute is read as text first, since the JSON
    holds numbers both as strings ("412.50", how Decimals are stored) and as numbers; a value of
    the wrong type becomes null. JSON texts hold no raw newline, so one text is one line."""
    schema = dict.fromkeys(types, pl.String)
    if signals:
        frame = pl.read_ndjson(io.BytesIO("\n".join(signals).encode()), schema=schema)
    else:
        frame = pl.DataFrame(schema=schema)
    return frame.select(
        pl.col(name).replace_strict(_BOOLEANS, default=None, return_dtype=pl.Boolean)
        if value_type == ValueType.BOOLEAN
        else pl.col(name).cast(_POLARS_TYPES[value_type], strict=False)
        for name, value_type in types.items()
    )


# --- A snapshot kept per process and refreshed by what changed -----------------------------


@dataclass(frozen=True)
class DataVersion:
    """High-water marks of everything a snapshot row depends on, each read through an index.
    New assessments are seen by id as well as by time, so a clock that runs behind (another
    machine, a simulated store) cannot hide a newly scored order."""

    last_risk_id: int
    last_scored_at: datetime | None
    last_decision_id: int
    last_dispute_id: int
    last_refund_id: int


def _newest(queryset, field: str):
    return queryset.order_by(f"-{field}").values_list(field, flat=True)[:1]


def _in_utc(value) -> datetime | None:
    """A raw cursor gives SQLite datetimes as text; other backends give aware datetimes."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def data_version() -> DataVersion:
    """One round trip. The newest scored_at is taken per status, through the (status,
    -scored_at) index: a plain Max over the table would read every row."""
    parts, params = [], []
    querysets = [
        *(_newest(OrderRisk.objects.filter(status=s), "scored_at") for s in OrderRisk.Status),
        _newest(OrderRisk.objects.all(), "id"),
        _newest(RiskDecision.objects.all(), "id"),
        _newest(Dispute.objects.all(), "id"),
        _newest(Refund.objects.all(), "id"),
    ]
    for queryset in querysets:
        sql, query_params = queryset.query.sql_with_params()
        parts.append(f"({sql})")
        params.extend(query_params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)  # parts: compiled querysets
        *scored, risk, decision, dispute, refund = cursor.fetchone()
    scored_at = [when for when in map(_in_utc, scored) if when is not None]
    return DataVersion(
        risk or 0, max(scored_at, default=None), decision or 0, dispute or 0, refund or 0
    )


@dataclass
class _Snapshot:
    since: datetime
    version: DataVersion
    frame: pl.DataFrame
    built_at: datetime


class SnapshotCache:
    """The history snapshot of this process, kept between backtests and refreshed with only
    the orders that changed since it was read (scored or re-scored, reviewed, disputed,
    refunded), so a rule typed letter by letter does not re-read the whole history.

    One frame serves every window: it covers the widest one asked for so far, and narrower
    windows are filtered from it. It is rebuilt from scratch when a wider window is asked for,
    when more than a fifth of it changed, and at least every REBUILD_AFTER (which also bounds
    what the high-water marks cannot see: a refund that succeeds later, a deleted order)."""

    REBUILD_AFTER = timedelta(hours=1)
    OVERLAP = timedelta(minutes=2)  # scoring transactions that commit after a later one

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self.last_refresh = ""  # "hit", "refreshed n", "built": for the page and benchmarks

    def clear(self) -> None:
        with self._lock:
            self._snapshot = None

    def frame(self, days: int, now: datetime | None = None) -> pl.DataFrame:
        now = now or timezone.now()
        since = now - timedelta(days=days)
        with self._lock:
            current = self._snapshot
            version = data_version()
            if (
                current is None
                or since < current.since
                or now - current.built_at > self.REBUILD_AFTER
            ):
                current = self._build(since, version, now)
            elif version != current.version:
                current = self._refresh(current, version) or self._build(
                    current.since, version, now
                )
            else:
                self.last_refresh = "hit"
            self._snapshot = current
        return current.frame.filter(pl.col("created_at") >= since)

    def _build(self, since: datetime, version: DataVersion, now: datetime) -> _Snapshot:
        self.last_refresh = "built"
        return _Snapshot(since, version, snapshot(since), now)

    def _refresh(self, current: _Snapshot, version: DataVersion) -> _Snapshot | None:
        old = current.version
        changed: set[int] = set()
        if old.last_scored_at is not None:
            changed.update(
                OrderRisk.objects.filter(
                    status__in=OrderRisk.Status.values,
                    scored_at__gte=old.last_scored_at - self.OVERLAP,
                ).values_list("order_id", flat=True)
            )
        elif version.last_scored_at is not None:
            return None
        changed.update(
            OrderRisk.objects.filter(id__gt=old.last_risk_id).values_list("order_id", flat=True)
        )
        changed.update(
            RiskDecision.objects.filter(id__gt=old.last_decision_id).values_list(
                "order_risk__order_id", flat=True
            )
        )
        changed.update(
            Dispute.objects.filter(id__gt=old.last_dispute_id).values_list("order_id", flat=True)
        )
        changed.update(
            Refund.objects.filter(id__gt=old.last_refund_id).values_list("order_id", flat=True)
        )
        if len(changed) > max(1000, current.frame.height // 5):
            return None
        ids = sorted(changed)
        fresh = snapshot(current.since, ids)
        kept = current.frame.filter(~pl.col("order_id").is_in(ids))
        self.last_refresh = f"refreshed {len(ids)}"
        return _Snapshot(current.since, version, pl.concat([kept, fresh]), current.built_at)


snapshots = SnapshotCache()


@dataclass(frozen=True)
class BacktestResult:
    days: int
    orders: int
    matched: int
    matched_volume_usd: Decimal
    disputed: int
    refunded: int
    good: int
    overrides: int
    overrides_disputed: int
    examples: list[int]
    warning: str = ""

    @property
    def match_rate(self) -> float:
        return self.matched / self.orders if self.orders else 0.0


def run_backtest(
    rule: Rule, frame: pl.DataFrame, lists: dict[str, frozenset], days: int
) -> BacktestResult:
    """Evaluate one parsed rule over a snapshot. An allow rule's overrides are the orders it
    matches that were flagged when they were scored (in review then, perhaps decided since)."""
    matched = frame.filter(polars_expression(rule.condition, lists))
    flagged = pl.col("status") != OrderRisk.Status.CLEAR
    totals = matched.select(
        pl.len().alias("matched"),
        pl.col("amount").sum().alias("volume"),
        pl.col("disputed").sum().alias("disputed"),
        (pl.col("refunded") & ~pl.col("disputed")).sum().alias("refunded"),
        (~pl.col("refunded") & ~pl.col("disputed")).sum().alias("good"),
        flagged.sum().alias("flagged"),
        (flagged & pl.col("disputed")).sum().alias("flagged_disputed"),
    ).row(0, named=True)
    allow = rule.action == Action.ALLOW
    result = BacktestResult(
        days=days,
        orders=frame.height,
        matched=totals["matched"],
        matched_volume_usd=Decimal(str(round(totals["volume"] or 0, 2))),
        disputed=totals["disputed"] or 0,
        refunded=totals["refunded"] or 0,
        good=totals["good"] or 0,
        overrides=(totals["flagged"] or 0) if allow else 0,
        overrides_disputed=(totals["flagged_disputed"] or 0) if allow else 0,
        examples=matched.sort("created_at", descending=True)["order_id"].head(EXAMPLES).to_list(),
    )
    if not allow and result.match_rate > BROAD_MATCH_WARNING:
        warning = gettext(
            "This rule would have acted on %(rate)s of the last %(days)s days' orders "
            "(%(matched)s of %(orders)s); check that it is not too broad."
        ) % {
            "rate": f"{result.match_rate:.0%}",
            "days": days,
            "matched": result.matched,
            "orders": result.orders,
        }
        return replace(result, warning=warning)
    return result


def backtest_rule(source: str, days: int = 30, *, cached: bool = False) -> BacktestResult:
    """Validate, then backtest a rule's text over the last `days` days; `cached` reads the
    process's snapshot (pages and the API) instead of a fresh one."""
    rule = validate_rule(source)
    if cached:
        frame = snapshots.frame(days)
    else:
        frame = snapshot(timezone.now() - timedelta(days=days))
    return run_backtest(rule, frame, list_values(), days)
