"""Scoring orders end to end: facts from the database, signals, score, first-matching rule."""

from datetime import timedelta
from decimal import Decimal

import pytest

from storedesk.risk.facts import address_key
from storedesk.risk.language import RuleError
from storedesk.risk.models import OrderIdentity, OrderRisk, RiskRule, RiskRuleVersion
from storedesk.risk.services import (
    do_add_to_list,
    do_install_defaults,
    do_save_rule,
    do_score_orders,
)
from tests.factories import (
    BASE_TIME,
    CustomerFactory,
    OrderFactory,
    PaymentFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db

FORWARDER = {
    "first_name": "Jane",
    "last_name": "Doe",
    "address1": "1 Forwarding Way",
    "address2": "Suite 88231",
    "city": "New Castle",
    "province_code": "DE",
    "zip": "19720",
    "country_code": "US",
}


@pytest.fixture
def defaults(agent):
    do_install_defaults(agent)


@pytest.fixture
def store():
    return StoreFactory()


def test_defaults_install_lists_and_versioned_rules_once(defaults, agent):
    do_install_defaults(agent)

    assert RiskRule.objects.count() == 11
    assert RiskRuleVersion.objects.count() == 11
    assert list(RiskRule.objects.values_list("priority", flat=True))[:3] == [10, 20, 30]


def test_a_quiet_returning_order_is_clear(defaults, store):
    customer = CustomerFactory(store=store)
    for days in (90, 60, 30):
        OrderFactory(store=store, customer=customer, created_at=BASE_TIME - timedelta(days=days))
    order = OrderFactory(store=store, customer=customer)
    PaymentFactory(order=order)

    do_score_orders([order.pk])

    risk = OrderRisk.objects.get(order=order)
    assert risk.status == OrderRisk.Status.CLEAR
    assert risk.signals["customer_orders_count"] == "3"
    assert risk.signals["is_first_order"] is False
    assert any(reason["points"] < 0 for reason in risk.score_reasons)


def test_a_forwarder_address_on_a_first_order_goes_to_review_with_its_reasons(
    defaults, store, agent
):
    do_add_to_list("freight_forwarders", [address_key(FORWARDER)], actor=agent)
    order = OrderFactory(store=store, shipping_address=FORWARDER)
    PaymentFactory(order=order)

    do_score_orders([order.pk])

    risk = OrderRisk.objects.get(order=order)
    assert risk.status == OrderRisk.Status.IN_REVIEW
    assert risk.decided_by_rule.name == "Forwarder on a first order"
    fired = [outcome for outcome in risk.rule_outcomes if outcome["fired"]]
    assert fired[0]["values"] == {"is_first_order": True, "ships_to_freight_forwarder": True}
    assert "ships to a freight forwarder" in [r["reason"] for r in risk.score_reasons]


def test_a_blocked_email_is_cancelled_whatever_else(defaults, store, agent):
    order = OrderFactory(store=store, email="Fraudster@Example.com")
    PaymentFactory(order=order)
    do_add_to_list("blocked_emails", ["fraudster@example.com"], actor=agent)

    do_score_orders([order.pk])

    risk = OrderRisk.objects.get(order=order)
    assert risk.action == "cancel_and_refund"
    assert risk.fulfillment_held is True


def test_velocity_counts_earlier_orders_from_the_same_ip_only(defaults, store):
    orders = [
        OrderFactory(
            store=store, browser_ip="198.51.100.9", created_at=BASE_TIME + timedelta(minutes=10 * n)
        )
        for n in range(3)
    ]
    late = OrderFactory(
        store=store, browser_ip="198.51.100.9", created_at=BASE_TIME + timedelta(days=2)
    )

    do_score_orders([o.pk for o in [*orders, late]])

    signals = {r.order_id: r.signals for r in OrderRisk.objects.all()}
    assert [signals[o.pk]["orders_per_ip_1h"] for o in orders] == ["0", "1", "2"]
    assert signals[late.pk]["orders_per_ip_1h"] == "0"
    assert signals[late.pk]["orders_per_ip_7d"] == "3"
    assert OrderIdentity.objects.count() == 4


def test_card_testing_from_one_ip_is_reviewed(defaults, store):
    for n in range(3):
        tester = OrderFactory(
            store=store, browser_ip="203.0.113.50", created_at=BASE_TIME - timedelta(minutes=30 - n)
        )
        PaymentFactory(order=tester, status="failed", amount=Decimal("1.00"))
    order = OrderFactory(store=store, browser_ip="203.0.113.50")
    PaymentFactory(order=order)

    do_score_orders(list(store.orders.order_by("created_at").values_list("pk", flat=True)))

    risk = OrderRisk.objects.get(order=order)
    assert risk.signals["declines_per_ip_1h"] == "3"
    assert risk.status == OrderRisk.Status.IN_REVIEW


def test_rescoring_never_reopens_a_decided_review(defaults, store, agent):
    do_add_to_list("blocked_emails", ["x@example.com"], actor=agent)
    order = OrderFactory(store=store, email="x@example.com")
    do_score_orders([order.pk])
    OrderRisk.objects.filter(order=order).update(status=OrderRisk.Status.APPROVED)

    do_score_orders([order.pk])

    assert OrderRisk.objects.get(order=order).status == OrderRisk.Status.APPROVED


def test_scoring_costs_the_same_queries_for_three_or_thirty_orders(
    defaults, store, django_assert_num_queries
):
    def batch(size):
        return [OrderFactory(store=store).pk for _ in range(size)]

    small, large = batch(3), batch(30)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as three:
        do_score_orders(small)
    with CaptureQueriesContext(connection) as thirty:
        do_score_orders(large)

    assert len(thirty) == len(three)


def test_a_rule_edit_is_validated_and_versioned(defaults, agent):
    rule = RiskRule.objects.get(name="High score")

    with pytest.raises(RuleError, match="unknown attribute :risk_scor:"):
        do_save_rule("review if :risk_scor: >= 70", actor=agent, rule=rule)
    do_save_rule("review if :risk_score: >= 70", actor=agent, rule=rule, priority=40)

    rule.refresh_from_db()
    assert rule.version == 2
    assert list(rule.versions.values_list("source", flat=True)) == [
        "review if :risk_score: >= 60",
        "review if :risk_score: >= 70",
    ]
