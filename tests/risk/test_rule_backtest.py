"""The backtest snapshot kept per process (refreshed by what changed, never stale), value lists
in backtests, and the rule and list services behind the rule editor."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.audit.models import AuditEntry
from storedesk.disputes.models import Dispute
from storedesk.risk.backtest import SnapshotCache, backtest_rule, data_version
from storedesk.risk.language import RuleError
from storedesk.risk.models import OrderRisk, RiskDecision, RiskList, RiskRule, RiskRuleVersion
from storedesk.risk.services import (
    clean_list_values,
    do_add_to_list,
    do_install_defaults,
    do_remove_from_list,
    do_reorder_rules,
    do_save_rule,
    do_score_orders,
    do_set_rule_enabled,
)
from tests.factories import OrderFactory, PaymentFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(agent):
    do_install_defaults(agent)
    return StoreFactory()


def age_scores(orders, minutes):
    """As if these orders were scored `minutes` ago."""
    OrderRisk.objects.filter(order__in=orders).update(
        scored_at=timezone.now() - timedelta(minutes=minutes)
    )


def scored(store, amounts, *, days_ago=1):
    now = timezone.now()
    orders = []
    for n, amount in enumerate(amounts):
        order = OrderFactory(
            store=store,
            created_at=now - timedelta(days=days_ago, minutes=n),
            total_price=Decimal(amount),
        )
        PaymentFactory(order=order, amount=Decimal(amount))
        orders.append(order)
    do_score_orders([order.pk for order in orders])
    return orders


# --- The snapshot cache -------------------------------------------------------------------


def test_a_second_read_with_nothing_changed_is_a_hit(store, django_assert_num_queries):
    cache = SnapshotCache()
    scored(store, ["100", "800"])
    first = cache.frame(90)

    with django_assert_num_queries(1):  # the data version only
        second = cache.frame(90)

    assert cache.last_refresh == "hit"
    assert second.equals(first)
    assert second.height == 2


def test_newly_scored_orders_are_read_alone_and_added(store):
    cache = SnapshotCache()
    age_scores(scored(store, ["100", "800"]), minutes=60)
    age_scores(scored(store, ["50"]), minutes=20)
    cache.frame(90)

    (new,) = scored(store, ["900"])
    frame = cache.frame(90)

    # the new order, and the one scored last before the read (at the high-water mark, so
    # re-read in case a slower transaction committed beside it); not the two older ones
    assert cache.last_refresh == "refreshed 2"
    assert sorted(frame["order_id"].to_list()) == sorted(
        OrderRisk.objects.values_list("order_id", flat=True)
    )
    assert frame.filter(frame["order_id"] == new.pk)["amount"].to_list() == [900.0]


def test_a_new_order_is_seen_even_when_scored_behind_the_newest_score_time(store):
    cache = SnapshotCache()
    (ahead,) = scored(store, ["100"])
    age_scores([ahead], minutes=-60)  # a clock ahead of this one (another machine, a demo)
    cache.frame(90)

    (new,) = scored(store, ["900"])

    assert new.pk in cache.frame(90)["order_id"].to_list()


def test_a_dispute_and_a_review_decision_update_their_orders(store, agent):
    cache = SnapshotCache()
    disputed, reviewed = scored(store, ["100", "800"])
    age_scores([disputed, reviewed], minutes=60)
    age_scores(scored(store, ["50"]), minutes=20)
    cache.frame(90)

    Dispute.objects.create(
        order=disputed,
        payment=disputed.payments.get(),
        gateway="stripe",
        provider_id="dp_1",
        reason="fraudulent",
        status="needs_response",
        amount=disputed.total_price,
        currency="USD",
        opened_at=timezone.now(),
    )
    risk = OrderRisk.objects.get(order=reviewed)
    OrderRisk.objects.filter(pk=risk.pk).update(status=OrderRisk.Status.CANCELLED)
    RiskDecision.objects.create(
        order_risk=risk, kind="cancel", stage="done", actor=agent, created_at=timezone.now()
    )
    frame = cache.frame(90)

    assert cache.last_refresh == "refreshed 3"  # these two, and the last one scored
    rows = {row["order_id"]: row for row in frame.iter_rows(named=True)}
    assert rows[disputed.pk]["disputed"] is True
    assert rows[reviewed.pk]["status"] == "cancelled"


def test_a_wider_window_is_read_afresh_and_serves_narrower_ones(store):
    cache = SnapshotCache()
    scored(store, ["100"])
    scored(store, ["200"], days_ago=100)

    assert cache.frame(30).height == 1
    assert cache.frame(180).height == 2
    assert cache.last_refresh == "built"
    assert cache.frame(30).height == 1
    assert cache.last_refresh == "hit"


def test_the_snapshot_is_rebuilt_after_an_hour(store):
    cache = SnapshotCache()
    scored(store, ["100"])
    cache.frame(90)

    cache.frame(90, now=timezone.now() + cache.REBUILD_AFTER + timedelta(minutes=1))

    assert cache.last_refresh == "built"


def test_the_data_version_moves_with_every_kind_of_change(store, agent):
    (order,) = scored(store, ["100"])
    empty_store_version = data_version()

    do_score_orders([order.pk])
    rescored = data_version()

    assert rescored.last_scored_at > empty_store_version.last_scored_at
    assert rescored.last_risk_id == OrderRisk.objects.get().pk
    assert rescored.last_dispute_id == rescored.last_refund_id == rescored.last_decision_id == 0


def test_backtests_through_the_cache_agree_with_a_fresh_snapshot(store):
    scored(store, ["100", "800", "900", "40"])
    source = "review if :amount_usd: > 500 or :email: like '%0%'"

    assert backtest_rule(source, 90, cached=True) == backtest_rule(source, 90)
    scored(store, ["700"])
    assert backtest_rule(source, 90, cached=True) == backtest_rule(source, 90)


def test_a_list_of_numbers_in_a_rule_backtests_like_real_time(store):
    orders = scored(store, ["100", "2.5", "849"])

    result = backtest_rule("review if :amount_usd: in (1, 2.5, 849)", 90)

    assert result.matched == 2
    assert set(result.examples) == {orders[1].pk, orders[2].pk}


# --- Rule services ------------------------------------------------------------------------


def test_saving_an_unchanged_rule_writes_nothing(store, agent):
    rule = RiskRule.objects.get(name="Failed CVC")

    again = do_save_rule(
        rule.source, actor=agent, rule=rule, priority=rule.priority, name=rule.name
    )

    assert again.version == 1
    assert RiskRuleVersion.objects.filter(rule=rule).count() == 1


def test_switching_on_checks_the_rule_again(store, agent):
    rule = RiskRule.objects.get(name="Failed CVC")
    do_set_rule_enabled(rule, False, actor=agent)
    RiskRule.objects.filter(pk=rule.pk).update(source="hold_fulfillment if :cvc: = 'fail'")

    with pytest.raises(RuleError, match="unknown attribute :cvc:"):
        do_set_rule_enabled(rule, True, actor=agent)

    assert RiskRule.objects.get(pk=rule.pk).is_enabled is False


def test_reordering_writes_versions_only_for_rules_that_moved(store, agent):
    ids = list(RiskRule.objects.order_by("priority").values_list("pk", flat=True))

    changed = do_reorder_rules([ids[1], ids[0]], actor=agent)

    assert changed == 2
    assert list(RiskRule.objects.order_by("priority").values_list("pk", flat=True)) == [
        ids[1],
        ids[0],
        *ids[2:],
    ]
    assert RiskRuleVersion.objects.count() == 13
    assert do_reorder_rules([ids[1], ids[0]], actor=agent) == 0


# --- List services ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("list_name", "line", "stored"),
    [
        ("blocked_emails", " Fraud@Example.COM ", "fraud@example.com"),
        ("blocked_ips", "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("blocked_ips", "203.0.113.7", "203.0.113.7"),
        ("blocked_cards", "Xt5EWLLDS7FJjR1c", "xt5ewllds7fjjr1c"),
        (
            "blocked_addresses",
            "0123456789abcdef0123456789ABCDEF",
            "0123456789abcdef0123456789abcdef",
        ),
    ],
)
def test_typed_values_are_stored_the_way_signals_compare_them(store, list_name, line, stored):
    values, errors = clean_list_values(RiskList.objects.get(name=list_name), [line])

    assert errors == []
    assert list(values) == [stored]


@pytest.mark.parametrize(
    ("list_name", "line", "message"),
    [
        ("blocked_emails", "not-an-email", "not an email address"),
        ("blocked_ips", "999.1.1.1", "not an IPv4 or IPv6 address"),
        ("blocked_cards", "card with spaces", "not a card fingerprint"),
        ("blocked_addresses", "1 Main St", "street | unit (optional) | ZIP | country code"),
        ("blocked_emails", "a\x00@example.com", "control characters are not allowed"),
    ],
)
def test_wrong_values_are_refused_with_a_reason(store, list_name, line, message):
    values, errors = clean_list_values(RiskList.objects.get(name=list_name), ["", line])

    assert values == {}
    assert errors[0].line == 2
    assert message in errors[0].message


def test_removing_values_is_audited_and_ignores_those_not_listed(store, agent):
    do_add_to_list("blocked_emails", ["a@example.com", "b@example.com"], actor=agent)

    removed = do_remove_from_list(
        "blocked_emails", ["A@example.com", "zzz@example.com"], actor=agent, note="paid"
    )
    nothing = do_remove_from_list("blocked_emails", ["zzz@example.com"], actor=agent)

    assert (removed, nothing) == (1, 0)
    entry = AuditEntry.objects.get(action="risk.list_reduced")
    assert entry.changes == {"removed": ["a@example.com"], "note": "paid"}


def test_adding_counts_only_new_values(store, agent):
    first = do_add_to_list("blocked_emails", ["a@example.com"], actor=agent)
    second = do_add_to_list("blocked_emails", ["A@example.com", "b@example.com"], actor=agent)

    assert (first, second) == (1, 1)


# --- Decoding the signals -----------------------------------------------------------------


def test_signals_decode_numbers_written_either_way_and_wrong_types_as_missing(db):
    from datetime import UTC, datetime

    from storedesk.risk.backtest import snapshot_from_rows

    when = datetime(2026, 11, 1, tzinfo=UTC)
    frame = snapshot_from_rows(
        [
            (1, when, Decimal("10"), "clear", False, False, '{"amount_usd": "412.50"}'),
            (2, when, Decimal("20"), "clear", True, False, {"amount_usd": 7, "email": "Ngọc@x.vn"}),
            (
                3,
                when,
                Decimal("30"),
                "clear",
                False,
                True,
                {"amount_usd": "n/a", "is_first_order": 1},
            ),
        ]
    )

    assert frame["amount_usd"].to_list() == [412.5, 7.0, None]
    assert frame["email"].to_list() == [None, "Ngọc@x.vn", None]
    assert frame["is_first_order"].to_list() == [None, None, None]
    assert frame["disputed"].to_list() == [False, True, False]


def test_decoding_in_chunks_gives_the_same_snapshot(store, monkeypatch):
    from storedesk.risk import backtest

    scored(store, ["100", "800", "900", "40", "55"])
    whole = backtest.snapshot(timezone.now() - timedelta(days=90))
    monkeypatch.setattr(backtest, "DECODE_CHUNK", 2)

    chunked = backtest.snapshot(timezone.now() - timedelta(days=90))

    assert chunked.equals(whole)
    assert chunked.height == 5
