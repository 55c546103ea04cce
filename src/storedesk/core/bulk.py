"""The bulk insert path for big loads (demo stores, imports, audit trails of batches)."""

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter

import orjson
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
        # Django's own default for a missing value: '' for a text column that is not nullable
        # (NULL there fails on PostgreSQL), None for the rest.
        return field.get_default

    @staticmethod
    def _adapter(field):
        ops, kind = connection.ops, field.get_internal_type()
        if kind == "DateTimeField":
            return _sqlite_datetime if connection.vendor == "sqlite" else None
        if kind == "JSONField":
            if connection.vendor == "sqlite" and field.encoder is None:
                return _json_text
            return lambda value: ops.adapt_json_value(value, field.encoder)
        if kind == "GenericIPAddressField":
            return ops.adapt_ipaddressfield_value
        if kind == "DecimalField" and connection.vendor != "sqlite":
            return lambda value: ops.adapt_decimalfield_value(
                value, field.max_digits, field.decimal_places
            )
        return None

    def column_values(self, rows: Sequence[dict]) -> list[list]:
        """Each column's adapted values: a comprehension per column, not a call per value."""
        columns = []
        for attname, default, adapt in self.columns:
            try:
                values = list(map(itemgetter(attname), rows))
            except KeyError:
                values = [row[attname] if attname in row else default() for row in rows]
            if adapt is not None:
                values = [None if value is None else adapt(value) for value in values]
            columns.append(values)
        return columns

    def statement(self, rows: int, placeholder: str = "%s") -> str:
        """One INSERT of `rows` rows (cached per size and placeholder style: a load repeats a
        few sizes)."""
        sql = self._statements.get((rows, placeholder))
        if sql is None:
            values = ", ".join([self.placeholders] * rows)
            sql = f"{self.head}{values}{self.suffix}"
            if placeholder != "%s":
                sql = sql.replace("%s", placeholder)
            self._statements[rows, placeholder] = sql
        return sql

    def execute(self, cursor, rows: Sequence[dict]) -> None:
        columns = self.column_values(rows)
        if not self.rows_per_statement:
            cursor.executemany(self.sql, list(zip(*columns, strict=True)))
            return
        step = self.rows_per_statement
        run, placeholder = _sqlite_runner(cursor)
        for start in range(0, len(rows), step):
            chunk = [values[start : start + step] for values in columns]
            params = list(chain.from_iterable(zip(*chunk, strict=True)))
            run(self.statement(len(chunk[0]), placeholder), params)


def _sqlite_runner(cursor):
    """(run, placeholder) for SQLite: straight on the driver's cursor with its own `?` style
    (Django's wrapper would rewrite `%s` with a regex over each 100 kB statement), keeping
    Django's error translation; through Django whenever it logs or wraps queries."""
    if connection.queries_logged or connection.execute_wrappers:
        return cursor.execute, "%s"
    raw = cursor.cursor

    def run(sql, params):
        with connection.wrap_database_errors:
            sqlite3.Cursor.execute(raw, sql, params)

    return run, "?"


def _json_text(value) -> str:
    """JSON text for a field without its own encoder, several times faster than `json.dumps`
    (risk signals are ~90 keys a row); what orjson refuses (ints beyond 64 bits, Decimals) goes
    to `json.dumps`, which accepts or refuses it as the ORM would."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


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
