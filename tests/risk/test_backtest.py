"""Backtests: the columnar path agrees with real-time scoring, and reports outcomes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.risk.backtest import backtest_rule
from storedesk.risk.evaluation import evaluate
from storedesk.risk.language import RuleError
from storedesk.risk.models import OrderRisk
from storedesk.risk.services import do_install_defaults, do_score_orders, list_values, validate_rule
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
