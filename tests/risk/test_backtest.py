"""Backtests: the columnar path agrees with real-time scoring, and reports outcomes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.risk.backtest import backtest_rule, snapshot
from storedesk.risk.columnar import polars_expression
from storedesk.risk.evaluation import evaluate
from storedesk.risk.language import RuleError
from storedesk.risk.models import OrderRisk
from storedesk.risk.services import (
    do_add_to_list,
    do_install_defaults,
    do_save_rule,
    do_score_orders,
    list_values,
    validate_rule,
)
from tests.factories import OrderFactory, PaymentFactory, RefundFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(agent):
    do_install_defaults(agent)
    store = StoreFactory()
    now = timezone.now()
    orders = []
    for n in range(24):
        order = OrderFactory(
            store=store,
            created_at=now - timedelta(hours=5 * n),
            total_price=Decimal(40 + 45 * n),
            browser_ip=f"198.51.100.{n % 4}",
            email=f"buyer{n % 6}@example.com",
        )
        PaymentFactory(order=order, cvc_check="fail" if n % 7 == 0 else "pass")
        orders.append(order)
    RefundFactory(order=orders[3])
    from storedesk.disputes.models import Dispute

    Dispute.objects.create(
        order=orders[5],
        payment=orders[5].payments.get(),
        gateway="stripe",
        provider_id="dp_1",
        reason="fraudulent",
        status="needs_response",
        amount=orders[5].total_price,
        currency="USD",
        opened_at=now,
    )
    do_score_orders([o.pk for o in orders])
    return orders


RULES = [
    "review if :amount_usd: > 500",
    "review if :orders_per_ip_24h: >= 2 and not :cvc_check: = 'pass'",
    "hold_fulfillment if :email: like 'buyer1%' or :amount_percentile_store: >= 90",
    "allow if :is_first_order:",
]


@pytest.mark.parametrize("source", RULES)
def test_backtest_matches_exactly_what_real_time_evaluation_fires_on(history, source):
    rule = validate_rule(source)
    lists = list_values()
    expected = {
        risk.order_id
        for risk in OrderRisk.objects.all()
        if evaluate(rule.condition, _typed(risk.signals), lists) is True
    }

    result = backtest_rule(source, days=30)

    assert result.matched == len(expected)
    assert set(result.examples) <= expected


def _typed(signals: dict) -> dict:
    from storedesk.risk.services import rule_attributes

    types = rule_attributes()
    return {
        name: Decimal(value) if value is not None and types.get(name) == "number" else value
        for name, value in signals.items()
    }


def test_an_early_fraud_warning_counts_as_disputed_in_a_backtest(history):
    from storedesk.disputes.models import EarlyFraudWarning

    EarlyFraudWarning.objects.create(
        provider_id="issfr_1",
        charge_provider_id=history[8].payments.get().provider_id,
        order=history[8],
        fraud_type="made_with_stolen_card",
        warned_at=timezone.now(),
        recorded_at=timezone.now(),
    )

    result = backtest_rule("review if :amount_usd: > 0", days=30)

    assert (result.disputed, result.refunded, result.good) == (2, 1, 21)


def test_backtest_splits_outcomes_and_warns_when_too_broad(history):
    result = backtest_rule("review if :amount_usd: > 0", days=30)

    assert result.orders == result.matched == 24
    assert (result.disputed, result.refunded, result.good) == (1, 1, 22)
    assert result.matched_volume_usd == sum(Decimal(40 + 45 * n) for n in range(24))
    assert "100%" in result.warning


def test_an_allow_rule_reports_the_reviews_it_would_override(history):
    in_review = OrderRisk.objects.filter(status="in_review").count()

    result = backtest_rule("allow if :amount_usd: > 0", days=30)

    assert in_review > 0
    assert result.overrides == in_review
    assert result.warning == ""


def test_a_broken_rule_is_refused_before_any_backtest(history):
    with pytest.raises(RuleError, match="unknown attribute"):
        backtest_rule("review if :amount_in_usd: > 5")


SAME_ON_BOTH_PATHS = [
    "review if :amount_usd: > 300 and :amount_percentile_store: >= 50",
    "review if not :cvc_check: = 'pass' or :orders_per_ip_24h: >= 2",
    "review if :ip_country: != :billing_country:",
    "review if is_missing(:ip_address:) or :billing_country: != 'US'",
    "review if :email: in @blocked_emails or :email: like 'buyer1%'",
    "review if :risk_score: >= 10 and not :is_first_order:",
    "review if :distance_billing_shipping_km: > 100 or :billing_shipping_name_differs:",
]


@pytest.mark.parametrize("source", SAME_ON_BOTH_PATHS)
def test_a_rule_fires_in_real_time_on_exactly_the_orders_its_backtest_matches(
    history, agent, source
):
    store = history[0].store
    odd = [
        OrderFactory(
            store=store,
            customer=None,
            email="",
            name_key="",
            last_name_key="",
            created_at=timezone.now() - timedelta(hours=1),
            browser_ip=None,
            billing_address={},
            shipping_address={},
            total_price=Decimal("700.00"),
        ),
        OrderFactory(
            store=store,
            email="nguyen.vanan@gmail.com",
            created_at=timezone.now() - timedelta(hours=2),
            billing_address={"name": "Nguyễn Văn An", "country_code": "VN", "zip": "100000"},
            shipping_address={"name": "NGUYEN VAN AN", "country_code": "VN", "zip": "100000"},
            total_price=Decimal("650.00"),
        ),
    ]
    do_add_to_list("blocked_emails", ["buyer3@example.com"], actor=agent)
    rule = do_save_rule(source, actor=agent, priority=1)  # first: looked at on every order
    orders = [*history, *odd]
    do_score_orders([order.pk for order in orders])
    fired_in_real_time = {
        risk.order_id
        for risk in OrderRisk.objects.filter(order__in=orders)
        if risk.rule_outcomes[0]["rule"] == rule.pk and risk.rule_outcomes[0]["fired"]
    }

    frame = snapshot(timezone.now() - timedelta(days=30))
    matched = frame.filter(polars_expression(validate_rule(source).condition, list_values()))
    result = backtest_rule(source, days=30)

    assert frame.height == len(orders)
    assert set(matched["order_id"].to_list()) == fired_in_real_time
    assert result.matched == len(fired_in_real_time)
    assert set(result.examples) <= fired_in_real_time
