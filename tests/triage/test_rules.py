"""Routing rules: validated on save (nothing half-saved), ordered, tested against past tickets."""

from decimal import Decimal

import pytest

from storedesk.accounts.models import Team
from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.triage.facts import facts_for
from storedesk.triage.models import RoutingRule
from storedesk.triage.rules import RuleSyntaxError, matching_rules, parse_actions, try_condition
from storedesk.triage.services import do_move_rule, do_save_rule
from tests.desk.builders import make_ticket
from tests.factories import BASE_TIME, OrderFactory
from tests.triage.workflow_helpers import analyse

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(make_user):
    return make_user(Role.LEAD, username="lead")


def save(lead, name="DNR to fulfillment", condition=":intent: = 'delivered_not_received'", **kw):
    actions = kw.pop("actions", "assign team fulfillment round_robin\ntag dnr")
    return do_save_rule(None, actor=lead, name=name, condition=condition, actions=actions, **kw)


def test_a_valid_rule_is_saved_with_parsed_actions_and_audited(lead):
    rule = save(lead)
    assert rule.parsed_actions == [
        {"action": "assign_team", "team": "fulfillment", "strategy": "round_robin"},
        {"action": "tag", "tags": ["dnr"]},
    ]
    assert AuditEntry.objects.filter(action="triage.rule_saved").count() == 1


@pytest.mark.parametrize(
    ("condition", "actions", "message"),
    [
        (":intent = 'x'", "tag a", "When, column 1: unexpected character"),
        (":intnt: = 'order_status'", "tag a", "unknown attribute :intnt:"),
        (":order_value: > 'big'", "tag a", "cannot compare number with text"),
        (":intent: = 'order_status' and", "tag a", "When, column"),
        ("", "tag a", "Write a condition"),
        (":has_order:", "assign team nowhere", "Then, line 1: no team “nowhere”"),
        (":has_order:", "tag a\npriority sky-high", "Then, line 2: priority low|normal"),
        (":has_order:", "launch rockets", "unknown action “launch”"),
        (":has_order:", 'auto_reply "unclosed', "no closing quote"),
        (":has_order:", "follow_up soon", "48h or 2d"),
        (":has_order:", "", "at least one action"),
    ],
)
def test_a_rule_with_a_mistake_is_refused_whole(lead, condition, actions, message):
    with pytest.raises(RuleSyntaxError, match=message):
        save(lead, condition=condition, actions=actions)
    assert not RoutingRule.objects.exists()
    assert not AuditEntry.objects.filter(action="triage.rule_saved").exists()


def test_editing_a_rule_into_a_mistake_keeps_the_old_rule(lead):
    rule = save(lead)
    with pytest.raises(RuleSyntaxError):
        do_save_rule(rule, actor=lead, name=rule.name, condition=":bogus: = 1", actions="tag x")
    rule.refresh_from_db()
    assert rule.condition == ":intent: = 'delivered_not_received'"


def test_all_action_kinds_parse(lead):
    Team.objects.filter(slug="payments").update(email="payments@store.example")
    actions = parse_actions(
        'assign agent lead\npriority urgent\ntemplate "Where is my order: on its way"\n'
        'auto_reply "On it!"\nfollow_up 2d\nnotify payments\nrisk_review\nwismo\nstatus pending'
    )
    assert [a["action"] for a in actions] == [
        "assign_agent",
        "priority",
        "template",
        "auto_reply",
        "follow_up",
        "notify",
        "risk_review",
        "wismo",
        "status",
    ]
    assert actions[4]["hours"] == 48


def test_rules_match_in_order_and_stop_processing(lead):
    ticket = make_ticket()
    analyse(ticket.messages.get(), "delivered_not_received", mood="angry")
    first = save(lead, name="Angry", condition=":mood: = 'angry'", actions="tag angry")
    second = save(lead, name="DNR")
    facts = facts_for(ticket)
    assert [rule.pk for rule in matching_rules(facts)] == [first.pk, second.pk]
    do_move_rule(second, actor=lead, direction=-1)
    assert [r.pk for r in matching_rules(facts, list(RoutingRule.objects.all()))] == [
        second.pk,
        first.pk,
    ]
    RoutingRule.objects.filter(pk=second.pk).update(stop_processing=True)
    assert [r.pk for r in matching_rules(facts, list(RoutingRule.objects.all()))] == [second.pk]


def test_missing_values_never_match():
    ticket = make_ticket()  # no analysis, no order
    facts = facts_for(ticket)
    from storedesk.risk.evaluation import evaluate
    from storedesk.triage.rules import parse_condition

    assert evaluate(parse_condition(":order_value: < 100").condition, facts) is None
    assert evaluate(parse_condition("not :intent: = 'x'").condition, facts) is None


def test_testing_a_condition_against_past_tickets():
    for n in range(5):
        order = OrderFactory(total_price=Decimal(100 + n * 100))
        ticket = make_ticket(requester=f"b{n}@mail.example", at=BASE_TIME)
        ticket.orders.add(order)
    make_ticket(requester="none@mail.example", at=BASE_TIME)
    result = try_condition(":order_value: >= 300", now=BASE_TIME)
    assert result.tested == 6
    assert result.matched == 3
    assert len(result.examples) == 3
