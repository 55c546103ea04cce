"""The risk rule language, in the spirit of Stripe Radar's.

    review if :amount_usd: > 500 and :ip_country: != :billing_country:
    cancel_and_refund if :email: in @blocked_emails
    request_verification if is_missing(:ip_country:) and :is_first_order:

A hand-written tokenizer and recursive-descent parser (never `eval`) turn the text into a small
immutable tree; `check` validates it against the attributes and lists that exist, with messages
that point at the offending column. Values may be missing: comparisons follow three-valued logic
(unknown propagates through `and`/`or`/`not`) and a rule fires only when its condition is true,
so a missing attribute never fires a rule by accident, the same as Radar and as SQL/Polars nulls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.utils.translation import gettext_noop


class Action(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    HOLD_FULFILLMENT = "hold_fulfillment"
    REQUEST_VERIFICATION = "request_verification"
    CANCEL_AND_REFUND = "cancel_and_refund"


ACTION_LABELS = {
    Action.ALLOW: gettext_noop("allow"),
    Action.REVIEW: gettext_noop("review"),
    Action.HOLD_FULFILLMENT: gettext_noop("hold fulfillment"),
    Action.REQUEST_VERIFICATION: gettext_noop("request verification"),
    Action.CANCEL_AND_REFUND: gettext_noop("cancel and refund"),
}


class ValueType(StrEnum):
    NUMBER = "number"
    TEXT = "text"
    BOOLEAN = "boolean"


COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
ORDERED = ("<", "<=", ">", ">=")


class RuleError(ValueError):
    """A rule that cannot be parsed or does not fit the attributes; `column` is 1-based."""

    def __init__(self, message: str, source: str, position: int):
        self.message = message
        self.source = source
        self.position = position
        super().__init__(f"{message} (column {position + 1})")

    @property
    def column(self) -> int:
        return self.position + 1

    def pointer(self) -> str:
        """The rule with a caret under the error, for forms and the command line."""
        return f"{self.source}\n{' ' * self.position}^ {self.message}"


# --- The tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    name: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Literal:
    value: Decimal | str | bool
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ListRef:
    name: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ValueList:
    items: tuple[Literal, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Compare:
    op: str
    left: Attribute | Literal
    right: Attribute | Literal
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class InList:
    subject: Attribute | Literal
    options: ListRef | ValueList
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Like:
    subject: Attribute
    pattern: Literal
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class IsMissing:
    subject: Attribute
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Truthy:
    """A bare boolean attribute used as a condition: `:is_first_order:`."""

    subject: Attribute
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    operand: Condition
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    operands: tuple[Condition, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Or:
    operands: tuple[Condition, ...]
    position: int = field(default=0, compare=False)


Condition = Compare | InList | Like | IsMissing | Truthy | Not | And | Or
Operand = Attribute | Literal


@dataclass(frozen=True)
class Rule:
    action: Action
    condition: Condition
    source: str


# --- Tokens ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<attribute>:[a-z_][a-z0-9_]*:)
  | (?P<list>@[a-z_][a-z0-9_]*)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>!=|<=|>=|==|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
KEYWORDS = {"if", "and", "or", "not", "in", "like", "true", "false"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


def tokenize(source: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if not match:
            raise RuleError(f"unexpected character {source[position]!r}", source, position)
        kind = match.lastgroup
        text = match.group()
        if kind == "word" and text.lower() in KEYWORDS:
            kind, text = "keyword", text.lower()
        if kind != "space":
            tokens.append(Token(kind, text, position))
        position = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


# --- Parser ---------------------------------------------------------------------------------


MAX_NESTING = 32  # brackets and nots inside each other; far beyond any rule a person writes


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.depth = 0

    def nest(self, token: Token) -> None:
        """One level deeper; refused past MAX_NESTING, so no rule exhausts the stack here or in
        the evaluators, which walk the same tree."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(
                f"the rule nests brackets or 'not' more than {MAX_NESTING} levels deep; "
                "simplify it",
                token,
            )

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def error(self, message: str, token: Token | None = None) -> RuleError:
        token = token or self.current
        return RuleError(message, self.source, token.position)

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            return self.advance()
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        token = self.accept(kind, text)
        if token is None:
            raise self.error(f"expected {what}, found {self.describe(self.current)}")
        return token

    @staticmethod
    def describe(token: Token) -> str:
        return "the end of the rule" if token.kind == "end" else repr(token.text)

    def rule(self) -> Rule:
        word = self.current
        if word.kind != "word":
            raise self.error(f"a rule starts with an action ({', '.join(Action)})")
        try:
            action = Action(word.text.lower())
        except ValueError:
            raise self.error(
                f"unknown action {word.text!r}; use one of {', '.join(Action)}"
            ) from None
        self.advance()
        self.expect("keyword", "if", "'if' after the action")
        condition = self.disjunction()
        if self.current.kind != "end":
            raise self.error(
                f"unexpected {self.describe(self.current)}; join conditions with 'and' or 'or'"
            )
        return Rule(action, condition, self.source)

    def disjunction(self) -> Condition:
        start = self.current.position
        operands = [self.conjunction()]
        while self.accept("keyword", "or"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands), start)

    def conjunction(self) -> Condition:
        start = self.current.position
        operands = [self.negation()]
        while self.accept("keyword", "and"):
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else And(tuple(operands), start)

    def negation(self) -> Condition:
        token = self.accept("keyword", "not")
        if token:
            self.nest(token)
            condition = Not(self.negation(), token.position)
            self.depth -= 1
            return condition
        return self.primary()

    def primary(self) -> Condition:
        token = self.current
        if self.accept("punct", "("):
            self.nest(token)
            condition = self.disjunction()
            self.expect("punct", ")", "')'")
            self.depth -= 1
            return condition
        if token.kind == "word" and token.text.lower() == "is_missing":
            self.advance()
            self.expect("punct", "(", "'(' after is_missing")
            subject = self.operand()
            if not isinstance(subject, Attribute):
                raise self.error("is_missing takes an attribute such as :ip_country:", token)
            self.expect("punct", ")", "')'")
            return IsMissing(subject, token.position)
        left = self.operand()
        if self.accept("keyword", "not"):
            self.expect("keyword", "in", "'in' after 'not'")
            return Not(InList(left, self.options(), token.position), token.position)
        if self.accept("keyword", "in"):
            return InList(left, self.options(), token.position)
        if self.accept("keyword", "like"):
            pattern = self.operand()
            if (
                not isinstance(left, Attribute)
                or not isinstance(pattern, Literal)
                or not isinstance(pattern.value, str)
            ):
                raise self.error("use like as :attribute: like 'text%'", token)
            return Like(left, pattern, token.position)
        operator = self.accept("op")
        if operator is None:
            if isinstance(left, Attribute):
                return Truthy(left, token.position)
            raise self.error(f"expected a comparison after {token.text!r}")
        op = "=" if operator.text == "==" else operator.text
        return Compare(op, left, self.operand(), operator.position)

    def operand(self) -> Operand:
        token = self.advance()
        if token.kind == "attribute":
            return Attribute(token.text[1:-1], token.position)
        if token.kind == "number":
            try:
                return Literal(Decimal(token.text), token.position)
            except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
                raise self.error("not a number", token) from None
        if token.kind == "string":
            return Literal(_unquote(token.text), token.position)
        if token.kind == "keyword" and token.text in {"true", "false"}:
            return Literal(token.text == "true", token.position)
        raise self.error(
            f"expected an attribute, a number or a quoted text, found {self.describe(token)}", token
        )

    def options(self) -> ListRef | ValueList:
        token = self.current
        if self.accept("list"):
            return ListRef(token.text[1:], token.position)
        self.expect("punct", "(", "a list such as @blocked_emails or ('a', 'b')")
        items = []
        while True:
            item = self.operand()
            if not isinstance(item, Literal):
                raise RuleError(
                    "a list holds numbers or quoted texts only", self.source, item.position
                )
            items.append(item)
            if not self.accept("punct", ","):
                break
        self.expect("punct", ")", "')' closing the list")
        return ValueList(tuple(items), token.position)


def parse_rule(source: str) -> Rule:
    """Parse `action if condition`; raise RuleError pointing at the problem."""
    if not source.strip():
        raise RuleError("the rule is empty", source, 0)
    return _Parser(source).rule()


# --- Validation against the known attributes and lists -------------------------------------


def literal_type(value: Decimal | str | bool) -> ValueType:
    if isinstance(value, bool):
        return ValueType.BOOLEAN
    if isinstance(value, Decimal):
        return ValueType.NUMBER
    return ValueType.TEXT


def check(
    rule: Rule, attributes: dict[str, ValueType], lists: dict[str, ValueType] | None = None
) -> Rule:
    """Reject unknown attributes or lists and comparisons of different types."""
    lists = lists or {}

    def fail(message: str, position: int):
        raise RuleError(message, rule.source, position)

    def type_of(operand: Operand) -> ValueType:
        if isinstance(operand, Literal):
            return literal_type(operand.value)
        if operand.name not in attributes:
            close = [name for name in attributes if name.startswith(operand.name[:4])][:3]
            hint = f"; did you mean {', '.join(f':{n}:' for n in close)}?" if close else ""
            fail(f"unknown attribute :{operand.name}:{hint}", operand.position)
        return attributes[operand.name]

    def visit(node: Condition) -> None:
        match node:
            case And(operands) | Or(operands):
                for operand in operands:
                    visit(operand)
            case Not(operand):
                visit(operand)
            case IsMissing(subject):
                type_of(subject)
            case Truthy(subject):
                if type_of(subject) != ValueType.BOOLEAN:
                    fail(
                        f":{subject.name}: is a {type_of(subject)}; compare it with a value",
                        subject.position,
                    )
            case Like(subject, _):
                if type_of(subject) != ValueType.TEXT:
                    fail(
                        f"like works on text, :{subject.name}: is a {type_of(subject)}",
                        subject.position,
                    )
            case Compare(op, left, right):
                left_type, right_type = type_of(left), type_of(right)
                if left_type != right_type:
                    fail(f"cannot compare {left_type} with {right_type}", node.position)
                if op in ORDERED and left_type != ValueType.NUMBER:
                    fail(f"{op} compares numbers only", node.position)
            case InList(subject, options):
                subject_type = type_of(subject)
                if isinstance(options, ListRef):
                    if options.name not in lists:
                        fail(f"unknown list @{options.name}", options.position)
                    option_type = lists[options.name]
                    if option_type != subject_type:
                        fail(
                            f"@{options.name} holds {option_type} values, not {subject_type}",
                            options.position,
                        )
                else:
                    for item in options.items:
                        if literal_type(item.value) != subject_type:
                            fail(
                                f"the list mixes {literal_type(item.value)} into "
                                f"{subject_type} values",
                                item.position,
                            )

    visit(rule.condition)
    return rule


# --- Printing (canonical form; parse(print(rule)) gives the same tree) ---------------------


def _operand_text(operand: Operand) -> str:
    if isinstance(operand, Attribute):
        return f":{operand.name}:"
    value = operand.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def condition_text(node: Condition, parent: type | None = None) -> str:
    match node:
        case Compare(op, left, right):
            return f"{_operand_text(left)} {op} {_operand_text(right)}"
        case InList(subject, ListRef(name)):
            return f"{_operand_text(subject)} in @{name}"
        case InList(subject, ValueList(items)):
            return f"{_operand_text(subject)} in ({', '.join(map(_operand_text, items))})"
        case Like(subject, pattern):
            return f"{_operand_text(subject)} like {_operand_text(pattern)}"
        case IsMissing(subject):
            return f"is_missing({_operand_text(subject)})"
        case Truthy(subject):
            return _operand_text(subject)
        case Not(operand):
            inner = condition_text(operand, Not)
            return f"not {inner}"
        case And(operands) | Or(operands):
            joiner = " and " if isinstance(node, And) else " or "
            text = joiner.join(condition_text(operand, type(node)) for operand in operands)
            return f"({text})" if parent is not None else text
    raise TypeError(node)  # pragma: no cover


def rule_text(rule: Rule) -> str:
    return f"{rule.action} if {condition_text(rule.condition)}"


def attributes_of(node: Condition) -> set[str]:
    """Every attribute a condition reads, to compute only the signals it needs."""
    found: set[str] = set()

    def visit(item) -> None:
        if isinstance(item, Attribute):
            found.add(item.name)
        elif isinstance(item, tuple):
            for child in item:
                visit(child)
        elif hasattr(item, "__dataclass_fields__"):
            for field in item.__dataclass_fields__:
                visit(getattr(item, field))

    visit(node)
    return found
