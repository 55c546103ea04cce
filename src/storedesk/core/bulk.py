"""The bulk insert path for big loads (demo stores, imports, audit trails of batches)."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models.constants import OnConflict

# Rows per multi-row INSERT on SQLite (fewer if the variable limit says so): from a few hundred
# rows on, a bigger statement only costs more to parse; SQLite builds may allow 250,000 variables.
ROWS_PER_STATEMENT = 1000


class _InsertPlan:
    """A model's plain INSERT and one value adapter per column, built once per connection."""

    def __init__(self, model, ignore_conflicts: bool, update_fields=(), unique_fields=()):
        ops = connection.ops
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(ops.quote_name(f.column) for f in self.fields)
        conflict = OnConflict.IGNORE if ignore_conflicts else None
        if update_fields:
            conflict = OnConflict.UPDATE
            update_fields = [model._meta.get_field(name).column for name in update_fields]
            unique_fields = [model._meta.get_field(name).column for name in unique_fields]
        suffix = (
            ops.on_conflict_suffix_sql(self.fields, conflict, update_fields, unique_fields) or ""
        )
        self.head = (
            f"{ops.insert_statement(on_conflict=conflict)} "
            f"{ops.quote_name(model._meta.db_table)} ({columns}) VALUES "
        )
        self.placeholders = f"({', '.join(['%s'] * len(self.fields))})"
        self.suffix = f" {suffix}" if suffix else ""
        self.sql = f"{self.head}{self.placeholders}{self.suffix}"
        self.rows_per_statement = (
            max(
                1, min(ROWS_PER_STATEMENT, connection.features.max_query_params // len(self.fields))
            )
            if connection.vendor == "sqlite"
            else 0
        )
        self._statements: dict[int, str] = {}
        self.columns = [(f.attname, self._default(f), self._adapter(f)) for f in self.fields]

    @staticmethod
    def _default(field):
        if not field.has_default():
            return lambda: None
        return field.get_default

    @staticmethod
    def _adapter(field):
        ops, kind = connection.ops, field.get_internal_type()
        if kind == "DateTimeField":
            return _sqlite_datetime if connection.vendor == "sqlite" else None
        if kind == "JSONField":
            if connection.vendor == "sqlite" and field.encoder is None:
                return json.dumps
            return lambda value: ops.adapt_json_value(value, field.encoder)
        if kind == "GenericIPAddressField":
            return ops.adapt_ipaddressfield_value
        if kind == "DecimalField" and connection.vendor != "sqlite":
            return lambda value: ops.adapt_decimalfield_value(
                value, field.max_digits, field.decimal_places
            )
        return None

    def row(self, values: dict) -> tuple:
        out = []
        for attname, default, adapt in self.columns:
            value = values[attname] if attname in values else default()
            out.append(value if adapt is None or value is None else adapt(value))
        return tuple(out)

    def statement(self, rows: int) -> str:
        """One INSERT of `rows` rows (cached per size: a load repeats a few sizes)."""
        sql = self._statements.get(rows)
        if sql is None:
            values = ", ".join([self.placeholders] * rows)
            sql = self._statements[rows] = f"{self.head}{values}{self.suffix}"
        return sql

    def execute(self, cursor, rows: Sequence[dict]) -> None:
        if not self.rows_per_statement:
            cursor.executemany(self.sql, [self.row(values) for values in rows])
            return
        step = self.rows_per_statement
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            params = [value for values in chunk for value in self.row(values)]
            cursor.execute(self.statement(len(chunk)), params)


def _sqlite_datetime(value: datetime) -> str:
    """What Django's SQLite backend stores for an aware datetime (naive UTC, ' ' separator).

    A value in UTC already (nearly all of them) only loses its offset: one call, not three."""
    text = value.isoformat(" ")
    if text.endswith("+00:00"):
        return text[:-6]
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return text


_insert_plans: dict[tuple, _InsertPlan] = {}


def bulk_insert(
    model,
    rows: Sequence[dict],
    *,
    ignore_conflicts: bool = False,
    update_fields: Sequence[str] = (),
    unique_fields: Sequence[str] = (),
) -> int:
    """Insert rows (dicts of attnames) in a few statements: the bulk path for big loads.

    `bulk_create` builds a model instance and compiles SQL per row, which dominates a load of
    millions of rows; this adapts values column by column and lets the driver loop. On SQLite
    the rows go as multi-row INSERTs (as many as the variable limit allows): a statement per
    row would make every FTS5 trigger flush its own index segment (eight times slower for
    tickets and messages). Ids are
    re-read by natural keys by the callers, which works alike on SQLite and PostgreSQL. With
    `update_fields` (and the `unique_fields` that conflict) an existing row is updated
    instead (`ON CONFLICT … DO UPDATE`, both databases).
    """
    if not rows:
        return 0
    key = (connection.vendor, model, ignore_conflicts, tuple(update_fields), tuple(unique_fields))
    plan = _insert_plans.get(key)
    if plan is None:
        plan = _insert_plans[key] = _InsertPlan(
            model, ignore_conflicts, update_fields, unique_fields
        )
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        plan.execute(cursor, rows)
    return len(rows)
