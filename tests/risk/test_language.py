from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storedesk.risk.columnar import polars_expression
from storedesk.risk.evaluation import evaluate, first_match
from storedesk.risk.language import (
    MAX_NESTING,
    Action,
    And,
    Attribute,
    Compare,
    InList,
    Literal,
    Not,
    Or,
    RuleError,
    ValueType,
    attributes_of,
    check,
    parse_rule,
    rule_text,
    tokenize,
)

ATTRIBUTES = {
    "amount_usd": ValueType.NUMBER,
    "ip_country": ValueType.TEXT,
    "billing_country": ValueType.TEXT,
    "email": ValueType.TEXT,
    "is_first_order": ValueType.BOOLEAN,
}
LISTS = {"blocked_emails": ValueType.TEXT}


def test_a_radar_style_rule_parses_into_its_tree():
    rule = parse_rule("review if :amount_usd: > 500 and :ip_country: != :billing_country:")

    assert rule.action is Action.REVIEW
    assert rule.condition == And(
        (
            Compare(">", Attribute("amount_usd"), Literal(Decimal("500"))),
            Compare("!=", Attribute("ip_country"), Attribute("billing_country")),
        )
    )


def test_and_binds_tighter_than_or_and_not_applies_to_in():
    rule = parse_rule(
        "REVIEW IF :email: NOT IN @blocked_emails OR :amount_usd: >= 10 AND :is_first_order:"
    )

    assert isinstance(rule.condition, Or)
    first, second = rule.condition.operands
    assert first == Not(InList(Attribute("email"), rule.condition.operands[0].operand.options))
    assert isinstance(second, And)


@pytest.mark.parametrize(
    ("source", "column", "fragment"),
    [
        ("", 1, "empty"),
        ("block if :amount_usd: > 5", 1, "unknown action 'block'"),
        ("review :amount_usd: > 5", 8, "expected 'if'"),
        ("review if :amount_usd: >", 25, "expected an attribute"),
        ("review if (:amount_usd: > 5", 28, "expected ')'"),
        ("review if :amount_usd: > 5 :email:", 28, "join conditions"),
        ("review if :amount_usd: $ 5", 24, "unexpected character '$'"),
        ("review if :email: in ('a', :ip_country:)", 28, "numbers or quoted texts"),
    ],
)
def test_syntax_errors_point_at_the_column(source, column, fragment):
    with pytest.raises(RuleError) as caught:
        parse_rule(source)

    assert caught.value.column == column
    assert fragment in caught.value.message
    assert caught.value.pointer().splitlines()[1].index("^") == column - 1


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("review if :amount: > 5", "unknown attribute :amount:; did you mean :amount_usd:?"),
        ("review if :amount_usd: > 'high'", "cannot compare number with text"),
        ("review if :email: > 'a'", "> compares numbers only"),
        ("review if :email: in @vip_emails", "unknown list @vip_emails"),
        ("review if :amount_usd: in @blocked_emails", "holds text values, not number"),
        ("review if :amount_usd:", "compare it with a value"),
        ("review if :amount_usd: like '5%'", "like works on text"),
    ],
)
def test_checking_refuses_unknown_names_and_mixed_types(source, fragment):
    with pytest.raises(RuleError) as caught:
        check(parse_rule(source), ATTRIBUTES, LISTS)

    assert fragment in caught.value.message


def test_a_missing_value_never_fires_a_rule_even_under_not():
    rule = parse_rule("review if not :ip_country: = 'US'")

    assert evaluate(rule.condition, {"ip_country": None}) is None
    assert evaluate(rule.condition, {"ip_country": "VN"}) is True
    assert evaluate(rule.condition, {"ip_country": "US"}) is False


def test_unknown_is_absorbed_by_a_definite_answer():
    values = {"ip_country": None, "amount_usd": Decimal("900")}

    assert (
        evaluate(
            parse_rule("review if :ip_country: = 'US' or :amount_usd: > 500").condition, values
        )
        is True
    )
    assert (
        evaluate(
            parse_rule("review if :ip_country: = 'US' and :amount_usd: < 500").condition, values
        )
        is False
    )


def test_is_missing_makes_absence_explicit():
    rule = parse_rule("request_verification if is_missing(:ip_country:) and :is_first_order:")

    assert evaluate(rule.condition, {"ip_country": None, "is_first_order": True}) is True
    assert evaluate(rule.condition, {"ip_country": "US", "is_first_order": True}) is False


def test_like_and_lists_are_case_insensitive():
    lists = {"blocked_emails": frozenset({"fraud@example.com"})}

    assert (
        evaluate(
            parse_rule("review if :email: in @blocked_emails").condition,
            {"email": "Fraud@Example.com"},
            lists,
        )
        is True
    )
    assert (
        evaluate(
            parse_rule("review if :email: like '%@MAILINATOR.com'").condition,
            {"email": "x1@mailinator.com"},
        )
        is True
    )
    assert (
        evaluate(
            parse_rule("review if :email: like '%@mailinator.com'").condition,
            {"email": "x1@mailinator.com.evil"},
        )
        is False
    )


def test_first_match_wins_and_records_every_rule_it_looked_at():
    rules = [
        parse_rule("allow if :email: = 'vip@example.com'"),
        parse_rule("review if :amount_usd: > 500"),
        parse_rule("cancel_and_refund if :amount_usd: > 100"),
    ]

    decided, outcomes = first_match(rules, {"email": "a@b.co", "amount_usd": 650})

    assert decided is rules[1]
    assert [outcome.fired for outcome in outcomes] == [False, True]
    assert outcomes[1].values == {"amount_usd": 650}


def test_attributes_of_lists_what_a_rule_reads():
    rule = parse_rule(
        "review if (:amount_usd: > 5 or is_missing(:ip_country:)) "
        "and not :email: in @blocked_emails"
    )

    assert attributes_of(rule.condition) == {"amount_usd", "ip_country", "email"}


# --- Properties: random text never crashes; printing round-trips -----------------------------

attribute = st.sampled_from([":amount_usd:", ":ip_country:", ":email:", ":is_first_order:"])
literal = st.one_of(
    st.decimals(min_value=-(10**6), max_value=10**6, places=2).map(lambda d: format(d, "f")),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8).map(
        lambda text: "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    ),
    st.sampled_from(["true", "false"]),
)
operand = st.one_of(attribute, literal)
comparison = st.one_of(
    st.tuples(operand, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), operand).map(" ".join),
    attribute.map(lambda a: f"is_missing({a})"),
    st.tuples(attribute, st.lists(literal, min_size=1, max_size=3)).map(
        lambda t: f"{t[0]} in ({', '.join(t[1])})"
    ),
    attribute.map(lambda a: f"{a} in @blocked_emails"),
)
conditions = st.recursive(
    comparison,
    lambda inner: st.one_of(
        inner.map(lambda c: f"not {c}"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({' '.join(t)})"),
    ),
    max_leaves=8,
)


@settings(max_examples=300)
@given(st.sampled_from(list(Action)), conditions)
def test_printing_a_parsed_rule_parses_back_to_the_same_rule(action, condition):
    rule = parse_rule(f"{action} if {condition}")

    again = parse_rule(rule_text(rule))

    assert again.action == rule.action
    assert again.condition == rule.condition


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_random_text_either_parses_or_raises_a_rule_error(text):
    error = None
    try:
        rule = parse_rule(text)
    except RuleError as raised:
        error = raised
    else:
        evaluate(rule.condition, {})

    assert error is None or 0 <= error.position <= len(text)


@settings(max_examples=300)
@given(
    st.sampled_from(list(Action)),
    conditions,
    st.fixed_dictionaries(
        {
            "amount_usd": st.none() | st.integers(-5, 5),
            "ip_country": st.none() | st.sampled_from(["US", "VN"]),
            "email": st.none() | st.sampled_from(["a@b.co", ""]),
            "is_first_order": st.none() | st.booleans(),
        }
    ),
)
def test_evaluation_is_total_on_any_values(action, condition, values):
    rule = parse_rule(f"{action} if {condition}")

    assert evaluate(rule.condition, values, {"blocked_emails": frozenset({"a@b.co"})}) in (
        True,
        False,
        None,
    )


@pytest.mark.parametrize(
    "source",
    [
        "review if " + "(" * 5000 + ":amount_usd: > 5" + ")" * 5000,
        "review if " + "not " * 5000 + ":is_first_order:",
        "review if " + "(not " * 3000 + ":is_first_order:" + ")" * 3000,
    ],
)
def test_a_rule_nested_beyond_reason_is_refused_not_a_crash(source):
    with pytest.raises(RuleError) as caught:
        parse_rule(source)

    assert f"more than {MAX_NESTING} levels deep" in caught.value.message
    assert 10 < caught.value.column < 200


def test_nesting_up_to_the_limit_parses_and_prints_back():
    source = "review if " + "(" * MAX_NESTING + ":amount_usd: > 5" + ")" * MAX_NESTING
    tricky = "review if " + "not (" * (MAX_NESTING // 2) + ":is_first_order:" + ")" * 16

    for text in (source, tricky):
        rule = parse_rule(text)
        assert parse_rule(rule_text(rule)).condition == rule.condition


# --- Properties on token soup: any sequence of the language's own words -----------------------

ROWS_SCHEMA = {
    "amount_usd": pl.Decimal(14, 2),
    "ip_country": pl.String,
    "billing_country": pl.String,
    "email": pl.String,
    "is_first_order": pl.Boolean,
}
token = st.one_of(
    st.sampled_from(
        [
            "review",
            "allow",
            "hold_fulfillment",
            "block",
            "if",
            "IF",
            "and",
            "or",
            "not",
            "in",
            "like",
            "is_missing",
            "true",
            "false",
            "(",
            ")",
            ",",
            "=",
            "==",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            ":amount_usd:",
            ":ip_country:",
            ":billing_country:",
            ":email:",
            ":is_first_order:",
            ":amount:",
            ":Amount_USD:",
            "@blocked_emails",
            "@vip",
            "'US'",
            "'%@mailinator.com'",
            "'it\\'s'",
            '"VN"',
            "'unterminated",
            "500",
            "-3.25",
            "1e5",
            "0.",
            "$",
            "é",
            "\u00a0",
            "\n",
        ]
    ),
    st.text(max_size=3),
)


mutation = st.tuples(st.sampled_from(["delete", "insert", "replace"]), st.integers(0, 40), token)


@st.composite
def token_soup(draw) -> str:
    """A well-formed rule's tokens (those of the `conditions` above), then up to three tokens
    deleted, inserted or replaced: near-misses of the grammar, as a person typing makes them."""
    action = draw(st.sampled_from(list(Action)))
    words = [t.text for t in tokenize(f"{action} if {draw(conditions)}") if t.kind != "end"]
    for kind, index, word in draw(st.lists(mutation, max_size=3)):
        index %= len(words) + 1
        if kind == "insert":
            words.insert(index, word)
        elif words and index < len(words):
            words[index : index + 1] = [] if kind == "delete" else [word]
    return draw(st.sampled_from([" ", "  ", "\t"])).join(words)


@settings(max_examples=800, deadline=None)
@given(
    token_soup(),
    st.fixed_dictionaries(
        {
            "amount_usd": st.none() | st.decimals(-1000, 1000, places=2),
            "ip_country": st.none() | st.sampled_from(["US", "VN", ""]),
            "billing_country": st.none() | st.sampled_from(["US", "VN"]),
            "email": st.none() | st.sampled_from(["a@b.co", "x@mailinator.com", "Ngọc@b.co"]),
            "is_first_order": st.none() | st.booleans(),
        }
    ),
)
def test_any_sequence_of_tokens_is_a_rule_or_a_pointed_error_on_every_path(source, values):
    """Parsing, checking, printing, real-time evaluation and the Polars expression either work
    or raise a RuleError pointing inside the text; nothing else escapes, and a rule that checks
    answers the same on both paths."""
    error = rule = None
    try:
        rule = check(parse_rule(source), ATTRIBUTES | {"billing_country": ValueType.TEXT}, LISTS)
    except RuleError as raised:
        error = raised

    if error is not None:
        assert 0 <= error.position <= len(source)
        assert error.message
        return
    again = parse_rule(rule_text(rule))
    assert (again.action, again.condition) == (rule.action, rule.condition)
    lists = {"blocked_emails": frozenset({"x@mailinator.com"})}
    real_time = evaluate(rule.condition, values, lists)
    frame = pl.DataFrame([values], schema=ROWS_SCHEMA)
    columnar = frame.select(polars_expression(rule.condition, lists).alias("r"))["r"][0]
    assert real_time in (True, False, None)
    assert columnar == real_time
