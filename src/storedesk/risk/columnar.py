"""Compile a parsed rule condition to a Polars expression, for backtests over a columnar
snapshot of the store's history.

Polars' nulls follow the same three-valued logic as `evaluation.evaluate` (comparisons with
null are null, `&`/`|` are Kleene, `~null` is null), so both paths give the same answer for the
same values; a test holds them to it.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from storedesk.risk.language import (
    And,
    Attribute,
    Compare,
    Condition,
    InList,
    IsMissing,
    Like,
    ListRef,
    Literal,
    Not,
    Or,
    Truthy,
)

_COMPARE = {
    "=": pl.Expr.eq,
    "!=": pl.Expr.ne,
    "<": pl.Expr.lt,
    "<=": pl.Expr.le,
    ">": pl.Expr.gt,
    ">=": pl.Expr.ge,
}


def rust_regex_escape(text: str) -> str:
    """Escape for Polars' (Rust) regex engine, which rejects some of Python's escapes."""
    escaped = []
    for char in text:
        if char.isalnum() or ord(char) > 127:
            escaped.append(char)
        elif 32 < ord(char) < 127:
            escaped.append("\\" + char)
        else:
            escaped.append(f"\\x{{{ord(char):x}}}")
    return "".join(escaped)


def like_regex(pattern: str) -> str:
    return "(?is)^" + ".*".join(rust_regex_escape(part) for part in pattern.split("%")) + "$"


def _operand(item: Attribute | Literal) -> pl.Expr:
    if isinstance(item, Attribute):
        return pl.col(item.name)
    return pl.lit(item.value)


def _is_in(value: pl.Expr, members: list) -> pl.Expr:
    if not members:
        return pl.when(value.is_null()).then(None).otherwise(pl.lit(False))
    return value.is_in(members)


def polars_expression(node: Condition, lists: Mapping[str, frozenset] | None = None) -> pl.Expr:
    """A boolean expression that is null where the real-time evaluation says "unknown"."""
    lists = lists or {}
    match node:
        case Compare(op, left, right):
            return _COMPARE[op](_operand(left), _operand(right))
        case InList(subject, ListRef(name)):
            members = sorted(lists.get(name, frozenset()), key=str)
            value = _operand(subject)
            if members and isinstance(members[0], str):
                value = value.str.to_lowercase()
            return _is_in(value, members)
        case InList(subject, options):
            # One comparison per item: `is_in` refuses Decimal items against a Float64 column
            # (the snapshot's numbers), while `==` compares them like the real-time path.
            value = _operand(subject)
            return pl.any_horizontal(value == pl.lit(item.value) for item in options.items)
        case Like(subject, pattern):
            return pl.col(subject.name).str.contains(like_regex(pattern.value))
        case IsMissing(subject):
            return pl.col(subject.name).is_null()
        case Truthy(subject):
            return pl.col(subject.name).cast(pl.Boolean)
        case Not(inner):
            return ~polars_expression(inner, lists)
        case And(operands):
            return pl.all_horizontal(polars_expression(item, lists) for item in operands)
        case Or(operands):
            return pl.any_horizontal(polars_expression(item, lists) for item in operands)
    raise TypeError(node)  # pragma: no cover
