"""The backtest path (Polars) and the real-time path must agree on every order."""

from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from storedesk.risk.columnar import polars_expression
from storedesk.risk.evaluation import evaluate
from storedesk.risk.language import RuleError, ValueType, check, parse_rule

SCHEMA = {
    "amount_usd": pl.Decimal(14, 2),
    "ip_country": pl.String,
    "email": pl.String,
    "is_first_order": pl.Boolean,
}
TYPES = {
    "amount_usd": ValueType.NUMBER,
    "ip_country": ValueType.TEXT,
    "email": ValueType.TEXT,
    "is_first_order": ValueType.BOOLEAN,
}
LISTS = {"blocked_emails": frozenset({"fraud@example.com", "x@mailinator.com"})}

text_value = st.sampled_from(
    [
        "US",
        "VN",
        "us",
        "fraud@example.com",
        "FRAUD@example.com",
        "x@mailinator.com",
        "a%b",
        "",
        "Ngọc",
    ]
)
rows = st.lists(
    st.fixed_dictionaries(
        {
            "amount_usd": st.none() | st.decimals(min_value=-1000, max_value=1000, places=2),
            "ip_country": st.none() | text_value,
            "email": st.none() | text_value,
            "is_first_order": st.none() | st.booleans(),
        }
    ),
    min_size=1,
    max_size=12,
)

number = st.decimals(min_value=-1000, max_value=1000, places=2).map(lambda d: format(d, "f"))
quoted = text_value.map(lambda text: f"'{text}'")
texts = st.sampled_from([":ip_country:", ":email:"])
comparison = st.one_of(
    st.tuples(
        st.just(":amount_usd:"),
        st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        number | st.just(":amount_usd:"),
    ).map(" ".join),
    st.tuples(texts, st.sampled_from(["=", "!="]), quoted | texts).map(" ".join),
    st.tuples(texts, st.sampled_from(["%@mailinator.com", "us", "%o%", "a\\%b"])).map(
        lambda t: f"{t[0]} like '{t[1]}'"
    ),
    texts.map(lambda a: f"{a} in @blocked_emails"),
    st.tuples(texts, st.lists(quoted, min_size=1, max_size=3)).map(
        lambda t: f"{t[0]} in ({', '.join(t[1])})"
    ),
    st.sampled_from([":amount_usd:", ":ip_country:", ":is_first_order:"]).map(
        lambda a: f"is_missing({a})"
    ),
    st.just(":is_first_order:"),
)
conditions = st.recursive(
    comparison,
    lambda inner: st.one_of(
        inner.map(lambda c: f"not {c}"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({' '.join(t)})"),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(conditions, rows)
def test_polars_and_real_time_evaluation_agree(condition, records):
    try:
        rule = check(
            parse_rule(f"review if {condition}"), TYPES, {"blocked_emails": ValueType.TEXT}
        )
    except RuleError:
        return
    frame = pl.DataFrame(records, schema=SCHEMA)

    columnar = frame.select(polars_expression(rule.condition, LISTS).alias("r"))["r"].to_list()
    real_time = [evaluate(rule.condition, record, LISTS) for record in records]

    assert columnar == real_time


def test_a_backtest_filter_keeps_only_definite_matches():
    rule = parse_rule("review if :amount_usd: > 500 and not :ip_country: = 'US'")
    frame = pl.DataFrame(
        {
            "amount_usd": [Decimal("900"), Decimal("900"), Decimal("100")],
            "ip_country": ["VN", None, "VN"],
            "email": ["a", "b", "c"],
            "is_first_order": [True, True, True],
        },
        schema=SCHEMA,
    )

    matched = frame.filter(polars_expression(rule.condition))

    assert matched["email"].to_list() == ["a"]
