"""The fast paths of scoring give the answers of the plain ones: batch = one by one, compiled
rules = the rule evaluator, cached store totals = a fresh read, one upsert = per-row saves,
the bulk-load outbox does not score twice."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings

from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import Order
from storedesk.core.events import dispatch_event
from storedesk.core.models import DomainEvent
from storedesk.risk import facts, services
from storedesk.risk.evaluation import RuleSet, evaluate, first_match
from storedesk.risk.language import RuleError, check, parse_rule
from storedesk.risk.models import OrderRisk, RiskDecision
from storedesk.risk.reference import phone_facts
from storedesk.risk.review import review_labels
from storedesk.risk.services import (
    PastDecision,
    do_import_review_decisions,
    do_install_defaults,
    do_score_orders,
)
from tests.factories import (
    BASE_TIME,
    CustomerFactory,
    OrderFactory,
    PaymentFactory,
    StoreFactory,
)
from tests.risk.test_columnar import LISTS, TYPES, conditions, rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def defaults(agent):
    do_install_defaults(agent)


def _orders(store, count=12):
    """A little history that exercises velocity, returning customers and declines."""
    customer = CustomerFactory(store=store)
    orders = []
    for n in range(count):
        order = OrderFactory(
            store=store,
            customer=customer if n % 3 == 0 else CustomerFactory(store=store),
            created_at=BASE_TIME + timedelta(minutes=20 * n),
            browser_ip=f"198.51.100.{n % 2}",
            total_price=Decimal(50 + 37 * n),
        )
        PaymentFactory(order=order, status="failed" if n % 4 == 0 else "succeeded")
        PaymentFactory(order=order, cvc_check="fail" if n % 5 == 0 else "pass")
        orders.append(order)
    return orders


def _assessments():
    return {
        risk.order_id: (risk.signals, risk.score, risk.action, risk.decided_by_rule_id)
        for risk in OrderRisk.objects.all()
    }


def test_a_batch_scores_exactly_as_one_order_at_a_time(defaults):
    orders = _orders(StoreFactory())

    do_score_orders([o.pk for o in orders])
    batch = _assessments()
    for order in orders:  # in time order, as they would arrive
        do_score_orders([order.pk])
    one_by_one = _assessments()

    assert batch == one_by_one
    assert batch[orders[3].pk][0]["orders_per_ip_1h"] == "1"  # velocity saw the earlier ones
    assert batch[orders[4].pk][0]["declined_attempts"] == "1"


@settings(max_examples=200, deadline=None)
@given(conditions, conditions, rows)
def test_a_compiled_rule_set_answers_as_first_match(first, second, records):
    try:
        rules = [
            check(parse_rule(f"review if {text}"), TYPES, {"blocked_emails": "text"})
            for text in (first, second)
        ]
    except RuleError:
        return
    rule_set = RuleSet(rules)

    for record in records:
        fired, outcomes = first_match(rules, record, LISTS)
        answers = rule_set.answers(record, LISTS)
        assert (
            answers == [evaluate(rule.condition, record, LISTS) for rule in rules][: len(answers)]
        )
        assert [o.fired for o in outcomes] == [a is True for a in answers]
        assert [o.undecided for o in outcomes] == [a is None for a in answers]
        assert (fired is not None) == (answers[-1] is True)


def test_a_run_on_two_cores_stores_what_an_inline_run_stores(defaults):
    ids = [o.pk for o in _orders(StoreFactory(), count=14)]
    do_score_orders(ids)  # inline: under PARALLEL_FROM_ORDERS
    inline = _assessments()
    OrderRisk.objects.all().delete()

    run = services.ScoringRun(parallel=True)
    assert run._pool is not None
    with run:
        for start in range(0, len(ids), 4):
            run.add(ids[start : start + 4])
            assert OrderRisk.objects.count() == start  # written with the next batch

    assert run.scored == 14
    assert _assessments() == inline
    assert AuditEntry.objects.filter(action="risk.order_scored").count() == 14 + 14


def test_cached_store_totals_are_topped_up_with_new_orders(monkeypatch):
    monkeypatch.setattr(facts, "AMOUNTS_CACHE_MIN_ORDERS", 3)
    facts._amounts_cache.clear()
    store = StoreFactory()
    for amount in (10, 20, 30, 40):
        OrderFactory(store=store, total_price=Decimal(amount))

    first = facts.store_amounts(store.pk)
    OrderFactory(store=store, total_price=Decimal(25))
    topped_up = facts.store_amounts(store.pk)

    assert list(first) == [10, 20, 30, 40]
    assert list(topped_up) == list(facts.store_amounts(store.pk, exact=True))
    assert list(topped_up) == [10, 20, 25, 30, 40]
    assert facts.percentile(topped_up, Decimal(30)) == 60.0
    facts._amounts_cache.clear()


def test_a_batch_load_adds_each_batch_to_the_store_totals_instead_of_rereading_them(
    monkeypatch,
):
    store = StoreFactory()
    for amount in (10, 40):
        OrderFactory(store=store, total_price=Decimal(amount))
    totals = facts.StoreTotals(store.pk)
    assert list(totals.current()) == [10, 40]
    newer = [OrderFactory(store=store, total_price=Decimal(a)) for a in (25, 5)]
    reads = []
    read = facts._read_amounts
    monkeypatch.setattr(facts, "_read_amounts", lambda *args: reads.append(args[1:]) or read(*args))

    assert list(totals.current()) == [5, 10, 25, 40]
    assert reads == [(newer[0].pk - 1, newer[1].pk)]  # only the orders added since
    assert list(totals.current()) == list(facts.store_amounts(store.pk, exact=True))


def test_scoring_a_batch_uses_the_totals_the_load_keeps(defaults, monkeypatch):
    store = StoreFactory()
    orders = [OrderFactory(store=store, total_price=Decimal(a)) for a in (10, 20, 30, 40)]
    kept = facts.StoreTotals(store.pk).current()
    monkeypatch.setattr(facts, "_read_amounts", lambda *args: pytest.fail("re-read the totals"))

    do_score_orders([o.pk for o in orders], amounts={store.pk: kept})

    risks = OrderRisk.objects.order_by("amount_usd")
    percentiles = [risk.signals["amount_percentile_store"] for risk in risks]
    assert percentiles == ["0.0", "25.0", "50.0", "75.0"]  # stored as exact text


def test_a_rescore_updates_in_place_and_flags_an_order_only_once(defaults, agent):
    store = StoreFactory()
    order = OrderFactory(store=store, email="xk7qz9wp2v@mailinator.com", total_price=900)
    PaymentFactory(order=order)

    do_score_orders([order.pk])
    first = OrderRisk.objects.get(order=order)
    do_score_orders([order.pk])
    again = OrderRisk.objects.get(order=order)

    assert first.status == OrderRisk.Status.IN_REVIEW
    assert again.pk == first.pk
    assert again.scored_at >= first.scored_at
    assert DomainEvent.objects.filter(name="order_flagged").count() == 1
    assert AuditEntry.objects.filter(action="risk.order_scored").count() == 2


def test_the_creation_event_of_an_order_scored_in_bulk_is_only_confirmed(defaults):
    store = StoreFactory()
    order = OrderFactory(store=store)
    do_score_orders([order.pk], dispatch_events=False)
    scored = OrderRisk.objects.get(order=order).scored_at
    event = DomainEvent.objects.create(name="order_created", payload={"order_id": order.pk})

    assert dispatch_event.call(event.pk) == "handled"

    assert OrderRisk.objects.get(order=order).scored_at == scored
    assert AuditEntry.objects.filter(action="risk.order_scored").count() == 1


def test_the_creation_event_of_an_unscored_order_scores_it(defaults):
    order = OrderFactory(store=StoreFactory())
    event = DomainEvent.objects.create(name="order_created", payload={"order_id": order.pk})

    dispatch_event.call(event.pk)

    assert OrderRisk.objects.filter(order=order).exists()


def test_imported_decisions_close_only_open_reviews_and_become_labels(defaults, agent):
    store = StoreFactory()
    orders = [
        OrderFactory(store=store, email=f"zq{n}x8k7v@mailinator.com", total_price=800)
        for n in range(3)
    ]
    for order in orders:
        PaymentFactory(order=order)
    do_score_orders([o.pk for o in orders])
    OrderRisk.objects.filter(order=orders[2]).update(stage=OrderRisk.Stage.CONTACT)
    at = BASE_TIME + timedelta(hours=5)

    closed = do_import_review_decisions(
        [
            PastDecision(orders[0].pk, RiskDecision.Kind.APPROVE, at, "shipped"),
            PastDecision(orders[1].pk, RiskDecision.Kind.CANCEL_FRAUD, at, "fraud"),
            PastDecision(orders[2].pk, RiskDecision.Kind.APPROVE, at, "being worked on"),
        ],
        actor=agent,
    )

    assert closed == 2
    status = dict(OrderRisk.objects.values_list("order_id", "status"))
    assert status[orders[0].pk] == OrderRisk.Status.APPROVED
    assert status[orders[1].pk] == OrderRisk.Status.CANCELLED
    assert status[orders[2].pk] == OrderRisk.Status.IN_REVIEW  # a person is on it here
    assert review_labels() == {orders[0].pk: 0, orders[1].pk: 1}
    assert RiskDecision.objects.get(order_risk__order=orders[1]).created_at == at
    assert AuditEntry.objects.filter(action="risk.review_imported").count() == 2


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("+12125550123", "US"),
        ("+14165550123", "US"),
        ("+1 416 555 0123", "CA"),
        ("+442079460000", "US"),
        ("(212) 555-0123", "US"),
        ("+84912345678", "US"),
        ("12345", "US"),
        ("+19995550123", "US"),
        ("not a phone", "US"),
    ],
)
def test_the_quick_phone_check_answers_as_the_full_one(number, country):
    try:
        parsed = phonenumbers.parse(number, country)
        expected = (
            phonenumbers.is_valid_number(parsed),
            phonenumbers.region_code_for_number(parsed),
        )
    except phonenumbers.NumberParseException:
        expected = (False, None)

    assert phone_facts(number, country) == expected


def test_an_unbroken_run_of_ids_selects_the_same_orders_as_the_list():
    store = StoreFactory()
    orders = [OrderFactory(store=store) for _ in range(5)]
    ids = [o.pk for o in orders]

    def selected(wanted):
        return sorted(Order.objects.filter(facts.among("pk", wanted)).values_list("pk", flat=True))

    assert "gte" in str(facts.among("pk", ids))
    assert "__in" in str(facts.among("pk", ids[:2] + ids[3:]))
    assert selected(ids) == ids
    assert selected(ids[:2] + ids[3:]) == ids[:2] + ids[3:]
    assert selected(list(reversed(ids))) == ids


def test_the_score_command_scores_in_batches_and_refuses_nonsense(defaults):
    orders = _orders(StoreFactory(), count=4)
    out = StringIO()

    call_command("risk-score", "--all", "--unscored", stdout=out)

    assert out.getvalue().startswith("Scored 4 orders in")
    assert OrderRisk.objects.count() == 4
    with pytest.raises(CommandError, match="--days must be a whole number"):
        call_command("risk-score", "--days", "week", stdout=StringIO())
    call_command("risk-score", "--all", "--unscored", stdout=out)
    assert "Scored 0 orders" in out.getvalue()
    assert {o.pk for o in orders} == set(OrderRisk.objects.values_list("order_id", flat=True))
