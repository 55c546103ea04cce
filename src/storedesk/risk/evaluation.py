"""Evaluate parsed rules against one order's signal values (the real-time path).

Three-valued logic: `None` is "unknown" (a value was missing). `not unknown` stays unknown and a
rule fires only on a definite true, so a missing IP never makes `:ip_country: != 'US'` fire.
The backtest compiles the same tree to a Polars expression with the same null semantics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
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
    return compiled(node)(values, lists or {})


Compiled = Callable[[Mapping[str, Any], Mapping[str, frozenset]], bool | None]
_compiled: dict[int, tuple[Condition, Compiled]] = {}


def compiled(node: Condition) -> Compiled:
    """The condition as nested closures, built once per parsed tree: scoring evaluates every
    rule on every order, and walking the tree with `match` each time cost more than the
    signals themselves."""
    known = _compiled.get(id(node))
    if known is None or known[0] is not node:
        if len(_compiled) > 4096:
            _compiled.clear()
        known = _compiled[id(node)] = (node, _compile(node))
    return known[1]


def _operand(item: Attribute | Literal) -> Callable[[Mapping[str, Any]], Value]:
    if isinstance(item, Literal):
        constant = item.value
        return lambda values: constant
    name = item.name
    return lambda values: _normalise(values.get(name))


def _compile(node: Condition) -> Compiled:
    match node:
        case Compare(op, left, right):
            a_of, b_of, compare = _operand(left), _operand(right), _COMPARE[op]

            def comparison(values, lists):
                a, b = a_of(values), b_of(values)
                if a is None or b is None or type(a) is not type(b):
                    return None  # missing, or a signal of the wrong type: never a silent match
                return compare(a, b)

            return comparison
        case InList(subject, ListRef(name)):
            value_of = _operand(subject)

            def in_named_list(values, lists):
                value = value_of(values)
                if value is None:
                    return None
                members = lists.get(name, frozenset())
                if isinstance(value, str):
                    return value.lower() in members
                return value in members

            return in_named_list
        case InList(subject, options):
            value_of, members = _operand(subject), {item.value for item in options.items}

            def in_values(values, lists):
                value = value_of(values)
                return None if value is None else value in members

            return in_values
        case Like(subject, pattern):
            value_of, regex = _operand(subject), like_pattern(pattern.value)

            def like(values, lists):
                value = value_of(values)
                return None if value is None else regex.fullmatch(value) is not None

            return like
        case IsMissing(subject):
            name = subject.name
            return lambda values, lists: values.get(name) is None
        case Truthy(subject):
            value_of = _operand(subject)

            def truthy(values, lists):
                value = value_of(values)
                return None if value is None else bool(value)

            return truthy
        case Not(inner):
            inner_of = _compile(inner)

            def negation(values, lists):
                result = inner_of(values, lists)
                return None if result is None else not result

            return negation
        case And(operands):
            parts = [_compile(item) for item in operands]

            def conjunction(values, lists):
                unknown = False
                for part in parts:
                    result = part(values, lists)
                    if result is False:
                        return False
                    if result is None:
                        unknown = True
                return None if unknown else True

            return conjunction
        case Or(operands):
            parts = [_compile(item) for item in operands]

            def disjunction(values, lists):
                unknown = False
                for part in parts:
                    result = part(values, lists)
                    if result is True:
                        return True
                    if result is None:
                        unknown = True
                return None if unknown else False

            return disjunction
    raise TypeError(node)  # pragma: no cover


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule made of one order: fired or not, and the values it looked at."""

    rule: Rule
    fired: bool
    undecided: bool
    values: dict[str, Any]


_names_of: dict[int, tuple[Rule, tuple[str, ...]]] = {}


def _attribute_names(rule: Rule) -> tuple[str, ...]:
    """The attributes a rule reads, sorted; walked once per parsed rule, not once per order."""
    known = _names_of.get(id(rule))
    if known is None or known[0] is not rule:
        if len(_names_of) > 4096:
            _names_of.clear()
        known = _names_of[id(rule)] = (rule, tuple(sorted(attributes_of(rule.condition))))
    return known[1]


def first_match(
    rules: Sequence[Rule], values: Mapping[str, Any], lists: Mapping[str, frozenset] | None = None
) -> tuple[Rule | None, list[RuleOutcome]]:
    """Rules in priority order; the first that fires decides. Every rule up to it is recorded,
    including those undecided for lack of data, so a reviewer sees why nothing fired."""
    outcomes = []
    lists = lists or {}
    for rule in rules:
        result = compiled(rule.condition)(values, lists)
        seen = {name: values.get(name) for name in _attribute_names(rule)}
        outcomes.append(RuleOutcome(rule, result is True, result is None, seen))
        if result is True:
            return rule, outcomes
    return None, outcomes


class RuleSet:
    """Rules in priority order, compiled once for a batch of orders: `answers` is what
    `first_match` decides, without building an outcome object per rule and order."""

    def __init__(self, rules: Sequence[Rule]):
        self.rules = list(rules)
        self.names = [_attribute_names(rule) for rule in self.rules]
        self._tests = [compiled(rule.condition) for rule in self.rules]

    def answers(
        self, values: Mapping[str, Any], lists: Mapping[str, frozenset]
    ) -> list[bool | None]:
        """Each rule's answer up to and including the first that fires (True)."""
        results = []
        for test in self._tests:
            result = test(values, lists)
            results.append(result)
            if result is True:
                break
        return results
