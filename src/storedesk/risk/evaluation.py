"""Evaluate parsed rules against one order's signal values (the real-time path).

Three-valued logic: `None` is "unknown" (a value was missing). `not unknown` stays unknown and a
rule fires only on a definite true, so a missing IP never makes `:ip_country: != 'US'` fire.
The backtest compiles the same tree to a Polars expression with the same null semantics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

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
    Rule,
    Truthy,
    attributes_of,
)

Value = Decimal | str | bool | None

_COMPARE = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _normalise(value: Any) -> Value:
    """Numbers as Decimal (ints and floats from signals included) and texts compared as is."""
    if value is None or isinstance(value, bool | str | Decimal):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    return str(value)


@lru_cache(maxsize=512)
def like_pattern(pattern: str) -> re.Pattern[str]:
    """Radar's LIKE: `%` is any run of characters, case-insensitive, whole value."""
    parts = (re.escape(part) for part in pattern.split("%"))
    return re.compile(".*".join(parts), re.IGNORECASE | re.DOTALL)


def evaluate(
    node: Condition, values: Mapping[str, Any], lists: Mapping[str, frozenset] | None = None
) -> bool | None:
    """True, False, or None when the answer depends on a missing value."""
    lists = lists or {}

    def operand(item: Attribute | Literal) -> Value:
        if isinstance(item, Literal):
            return item.value
        return _normalise(values.get(item.name))

    match node:
        case Compare(op, left, right):
            a, b = operand(left), operand(right)
            if a is None or b is None or type(a) is not type(b):
                return None  # missing, or a signal of the wrong type: never a silent match
            return _COMPARE[op](a, b)
        case InList(subject, options):
            value = operand(subject)
            if value is None:
                return None
            if isinstance(options, ListRef):
                members = lists.get(options.name, frozenset())
                if isinstance(value, str):
                    return value.lower() in members
                return value in members
            return value in {item.value for item in options.items}
        case Like(subject, pattern):
            value = operand(subject)
            if value is None:
                return None
            return like_pattern(pattern.value).fullmatch(value) is not None
        case IsMissing(subject):
            return values.get(subject.name) is None
        case Truthy(subject):
            value = operand(subject)
            return None if value is None else bool(value)
        case Not(inner):
            result = evaluate(inner, values, lists)
            return None if result is None else not result
        case And(operands):
            results = [evaluate(item, values, lists) for item in operands]
            if False in results:
                return False
            return None if None in results else True
        case Or(operands):
            results = [evaluate(item, values, lists) for item in operands]
            if True in results:
                return True
            return None if None in results else False
    raise TypeError(node)  # pragma: no cover


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule made of one order: fired or not, and the values it looked at."""

    rule: Rule
    fired: bool
    undecided: bool
    values: dict[str, Any]


def first_match(
    rules: Sequence[Rule], values: Mapping[str, Any], lists: Mapping[str, frozenset] | None = None
) -> tuple[Rule | None, list[RuleOutcome]]:
    """Rules in priority order; the first that fires decides. Every rule up to it is recorded,
    including those undecided for lack of data, so a reviewer sees why nothing fired."""
    outcomes = []
    for rule in rules:
        result = evaluate(rule.condition, values, lists)
        seen = {name: values.get(name) for name in sorted(attributes_of(rule.condition))}
        outcomes.append(RuleOutcome(rule, result is True, result is None, seen))
        if result is True:
            return rule, outcomes
    return None, outcomes
