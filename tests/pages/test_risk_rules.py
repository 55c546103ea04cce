"""The risk rules page, the rule editor (live check, backtest, broad-rule confirmation, version
history) and the lists pages."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.risk.backtest import snapshots
from storedesk.risk.facts import address_key
from storedesk.risk.models import OrderRisk, RiskList, RiskListEntry, RiskRule, RiskRuleVersion
from storedesk.risk.services import (
    do_add_to_list,
    do_install_defaults,
    do_save_rule,
    do_score_orders,
)
from tests.factories import OrderFactory, PaymentFactory, RefundFactory

pytestmark = pytest.mark.django_db

SESSION = 4  # session, user, user permissions, group permissions


@pytest.fixture(autouse=True)
def fresh_snapshot():
    """The backtest snapshot lives per process; each test starts without one."""
    snapshots.clear()
    yield
    snapshots.clear()


@pytest.fixture
def lead(make_user):
    return make_user(Role.LEAD, username="lead", first_name="Linh", last_name="Tran")


@pytest.fixture
def lead_client(client, lead):
    client.force_login(lead)
    return client


@pytest.fixture
def defaults(lead):
    do_install_defaults(lead)


def scored_orders(store, amounts, *, days_ago=1, first_order=True):
    """Orders placed `days_ago` days back, paid by card, scored by the real service."""
    now = timezone.now()
    orders = []
    for n, amount in enumerate(amounts):
        order = OrderFactory(
            store=store,
            created_at=now - timedelta(days=days_ago, minutes=n),
            total_price=Decimal(amount),
            subtotal_price=Decimal(amount),
        )
        PaymentFactory(order=order, amount=Decimal(amount))
        orders.append(order)
    do_score_orders([order.pk for order in orders])
    return orders


# --- The rules page -----------------------------------------------------------------------


def test_rules_page_lists_rules_in_priority_order_with_last_change_and_fired_counts(
    lead_client, lead, defaults, store
):
    big = do_save_rule("review if :amount_usd: > 700", actor=lead, name="Big", priority=5)
    scored_orders(store, ["800", "900", "50"])
    old = scored_orders(store, ["950"], days_ago=60)
    OrderRisk.objects.filter(order=old[0]).update(scored_at=timezone.now() - timedelta(days=40))

    response = lead_client.get("/risk/rules/")

    assert response.status_code == 200
    rules = list(response.context["page"])
    assert [rule.name for rule in rules[:3]] == ["Big", "Blocked email", "Blocked card"]
    assert rules[0].fired_30d == 2  # the order scored 40 days ago does not count
    assert rules[1].fired_30d == 0
    html = response.text
    row = html[html.index(f'data-rule="{big.pk}"') :]
    assert "review if :amount_usd: &gt; 700" in row[:2000]
    assert "Linh Tran" in row[:2000]
    assert re.search(r'data-testid="fired">2<', row)


def test_rules_page_flags_a_rule_that_no_longer_checks(lead_client, lead, defaults):
    rule = do_save_rule("review if :amount_usd: > 700", actor=lead, name="Old signal")
    RiskRule.objects.filter(pk=rule.pk).update(source="review if :amount_in_usd: > 700")

    html = lead_client.get("/risk/rules/").text

    assert "Skipped when scoring: unknown attribute :amount_in_usd:" in html


# session (4), count, rules with their last change, fired counts, list types
RULES_PAGE_QUERIES = SESSION + 4


@pytest.mark.parametrize("extra_rules", [0, 15])
def test_rules_page_query_count_is_fixed(
    lead_client, lead, defaults, store, django_assert_num_queries, extra_rules
):
    for n in range(extra_rules):
        do_save_rule(f"review if :amount_usd: > {n}", actor=lead)
    scored_orders(store, ["800", "20"])

    with django_assert_num_queries(RULES_PAGE_QUERIES):
        response = lead_client.get("/risk/rules/")

    assert len(response.context["page"]) == 11 + extra_rules


def test_switching_a_rule_off_and_on_writes_versions(lead_client, lead, defaults):
    rule = RiskRule.objects.get(name="Failed CVC")

    off = lead_client.post(f"/risk/rules/{rule.pk}/enabled/", {"enabled": "0"})
    rule.refresh_from_db()
    assert off.status_code == 302
    assert (rule.is_enabled, rule.version) == (False, 2)

    lead_client.post(f"/risk/rules/{rule.pk}/enabled/", {"enabled": "1"})
    rule.refresh_from_db()
    assert (rule.is_enabled, rule.version) == (True, 3)
    versions = RiskRuleVersion.objects.filter(rule=rule).order_by("version")
    assert [v.is_enabled for v in versions] == [True, False, True]
    assert versions.last().changed_by.username == "lead"


def test_a_broken_rule_can_be_switched_off_but_not_on(lead_client, lead, defaults):
    rule = RiskRule.objects.get(name="Failed CVC")
    RiskRule.objects.filter(pk=rule.pk).update(source="hold_fulfillment if :cvc: = 'fail'")

    lead_client.post(f"/risk/rules/{rule.pk}/enabled/", {"enabled": "0"})
    rule.refresh_from_db()
    assert rule.is_enabled is False

    response = lead_client.post(f"/risk/rules/{rule.pk}/enabled/", {"enabled": "1"}, follow=True)
    rule.refresh_from_db()
    assert rule.is_enabled is False
    assert "cannot be switched on until it is corrected: unknown attribute :cvc:" in response.text


def test_moving_a_rule_up_renumbers_priorities(lead_client, lead, defaults):
    third = RiskRule.objects.get(name="Early fraud warning")

    lead_client.post(f"/risk/rules/{third.pk}/move/", {"direction": "up"})

    names = list(RiskRule.objects.order_by("priority").values_list("name", flat=True))
    assert names[:3] == ["Blocked email", "Early fraud warning", "Blocked card"]
    assert list(RiskRule.objects.order_by("priority").values_list("priority", flat=True))[:3] == [
        10,
        20,
        30,
    ]
    third.refresh_from_db()
    assert third.version == 2
    assert third.versions.get(version=2).note == "reordered"


def test_moving_the_first_rule_up_changes_nothing(lead_client, defaults):
    first = RiskRule.objects.get(name="Blocked email")

    lead_client.post(f"/risk/rules/{first.pk}/move/", {"direction": "up"})

    assert RiskRuleVersion.objects.count() == 11


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.AGENT, 403), (Role.LEAD, 200), (Role.PAYMENTS, 200), (Role.ADMIN, 200)],
)
def test_who_may_read_rules(client, make_user, defaults, role, status):
    client.force_login(make_user(role, username=f"user-{role}"))
    assert client.get("/risk/rules/").status_code == status
    assert client.get("/risk/rules/new/").status_code == status
    assert client.get("/risk/lists/").status_code == status


def test_an_agent_cannot_change_rules(agent_client, defaults):
    rule = RiskRule.objects.get(name="Failed CVC")

    responses = [
        agent_client.post(f"/risk/rules/{rule.pk}/enabled/", {"enabled": "0"}),
        agent_client.post(f"/risk/rules/{rule.pk}/move/", {"direction": "up"}),
        agent_client.post("/risk/rules/new/", {"source": "review if :amount_usd: > 1"}),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert RiskRuleVersion.objects.count() == 11


# --- The live check -----------------------------------------------------------------------


def check(client, source, days=90):
    return client.post(
        "/risk/rules/check/", {"source": source, "days": days}, headers={"HX-Request": "true"}
    )


def test_check_points_at_the_column_of_a_syntax_error(lead_client, defaults):
    response = check(lead_client, "review if :amount_usd: > 700 and")

    html = response.text
    assert response.status_code == 200
    assert html.lstrip().startswith("<h2>Check and backtest</h2>")
    assert "Line 1, column 33:" in html
    assert "expected an attribute, a number or a quoted text, found the end of the rule" in html
    pointer = re.search(r'data-testid="rule-pointer">(.*?)</pre>', html, re.S).group(1)
    line, caret = pointer.split("\n")
    assert line == "review if :amount_usd: &gt; 700 and"
    assert caret == " " * 32 + "^"


def test_check_points_into_the_right_line_of_a_multi_line_rule(lead_client, defaults):
    html = check(lead_client, "review if :amount_usd: > 700\n  and :amount_in_usd: > 3").text

    assert "Line 2, column 7:" in html
    assert "unknown attribute :amount_in_usd:" in html
    pointer = re.search(r'data-testid="rule-pointer">(.*?)</pre>', html, re.S).group(1)
    assert pointer == "  and :amount_in_usd: &gt; 3\n      ^"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("review if :amount_usd: > 'big'", "cannot compare number with text"),
        ("block if :amount_usd: > 5", "unknown action &#x27;block&#x27;"),
        ("review if :email: in @no_such_list", "unknown list @no_such_list"),
        ("review if :amount_usd: > 5 ;", "unexpected character &#x27;;&#x27;"),
    ],
)
def test_check_explains_every_kind_of_mistake(lead_client, defaults, source, message):
    html = check(lead_client, source).text

    assert 'data-testid="rule-error"' in html
    assert message in html


def test_an_empty_rule_is_an_invitation_not_an_error(lead_client, defaults):
    html = check(lead_client, "   ").text

    assert 'data-testid="rule-empty"' in html
    assert "rule-error" not in html


def test_check_backtests_a_valid_rule_with_its_outcome_split(lead_client, defaults, store):
    orders = scored_orders(store, ["800", "900", "750", "100", "120"])
    RefundFactory(order=orders[1])

    html = check(lead_client, "review if :amount_usd: > 700").text

    assert 'data-testid="rule-ok"' in html
    assert re.search(r'data-testid="bt-matched">3<', html)
    assert re.search(r'data-testid="bt-refunded">1<', html)
    assert re.search(r'data-testid="bt-good">2<', html)
    assert re.search(r'data-testid="bt-disputed">0<', html)
    assert "of 5 orders" in html
    assert "2,450.00 USD" in html
    assert "60.0%" in html
    assert 'data-testid="bt-warning"' in html  # 60% of orders: far too broad
    for order in orders[:3]:
        assert f'href="/risk/orders/{order.pk}/"' in html
    assert f'href="/risk/orders/{orders[3].pk}/"' not in html


def test_check_says_so_when_there_is_no_history_to_test_on(lead_client, defaults, store):
    scored_orders(store, ["800"], days_ago=200)

    html = check(lead_client, "review if :amount_usd: > 700", days=90).text

    assert 'data-testid="backtest-empty"' in html
    assert "This does not mean the rule is safe." in html
    longer = check(lead_client, "review if :amount_usd: > 700", days=365).text
    assert 'data-testid="bt-matched">1<' in longer


def test_an_allow_rule_shows_the_reviews_it_would_override(lead_client, defaults, store):
    scored_orders(store, ["100", "120"])
    flagged = OrderRisk.objects.first()
    OrderRisk.objects.filter(pk=flagged.pk).update(status=OrderRisk.Status.IN_REVIEW)

    html = check(lead_client, "allow if :amount_usd: > 0").text

    assert re.search(r'data-testid="bt-overrides">1<', html)
    assert "bt-warning" not in html


def test_check_sees_an_order_scored_after_the_previous_check(lead_client, defaults, store):
    scored_orders(store, ["800"])
    assert 'data-testid="bt-matched">1<' in check(lead_client, "review if :amount_usd: > 700").text

    scored_orders(store, ["900"])

    assert 'data-testid="bt-matched">2<' in check(lead_client, "review if :amount_usd: > 700").text


def test_a_backtest_that_fails_says_so_instead_of_a_500(lead_client, defaults, monkeypatch):
    import polars as pl

    from storedesk.risk.views import rules

    def broken(*args, **kwargs):
        raise pl.exceptions.ComputeError("boom")

    monkeypatch.setattr(rules, "backtest_rule", broken)

    response = check(lead_client, "review if :amount_usd: > 700")

    assert response.status_code == 200
    assert "The backtest could not run on this rule; the error has been logged." in response.text


def test_a_bad_number_of_days_falls_back_to_90(lead_client, defaults, store):
    scored_orders(store, ["800"])

    response = check(lead_client, "review if :amount_usd: > 700", days="many")

    assert response.status_code == 200
    assert "Matched, last 90 days" in response.text


# session (4), list types, data version, list names, list entries, sample orders
CHECK_QUERIES = SESSION + 5


@pytest.mark.parametrize("orders", [2, 12])
def test_check_query_count_is_fixed_once_the_snapshot_is_read(
    lead_client, defaults, store, django_assert_num_queries, orders
):
    scored_orders(store, ["800"] * orders)
    check(lead_client, "review if :amount_usd: > 700")

    with django_assert_num_queries(CHECK_QUERIES):
        html = check(lead_client, "review if :amount_usd: > 700").text

    assert f'data-testid="bt-matched">{orders}<' in html


# --- Saving ------------------------------------------------------------------------------


def rule_post(source, **extra):
    return {
        "name": "Big first order",
        "source": source,
        "priority": "5",
        "is_enabled": "on",
        "note": "",
        "days": "90",
        **extra,
    }


def test_saving_a_new_rule_scores_the_next_order_with_it(lead_client, defaults, store):
    scored_orders(store, ["100"] * 30)

    response = lead_client.post(
        "/risk/rules/new/",
        rule_post("review if :amount_usd: > 700 and :is_first_order:", note="test"),
        follow=True,
    )

    rule = RiskRule.objects.get(name="Big first order")
    assert response.redirect_chain == [(f"/risk/rules/{rule.pk}/", 302)]
    assert "saved as version 1. It applies to orders scored from now on" in response.text
    assert (rule.priority, rule.action, rule.version) == (5, "review", 1)
    version = rule.versions.get()
    assert (version.changed_by.username, version.note) == ("lead", "test")
    assert AuditEntry.objects.filter(action="risk.rule_saved", object_id=str(rule.pk)).exists()

    (order,) = scored_orders(store, ["800"], days_ago=0)
    risk = OrderRisk.objects.get(order=order)
    assert risk.status == OrderRisk.Status.IN_REVIEW
    assert risk.decided_by_rule == rule


def test_an_invalid_rule_is_not_saved_and_the_error_is_pointed_at(lead_client, defaults):
    response = lead_client.post("/risk/rules/new/", rule_post("review if :amount_usd > 700"))

    assert response.status_code == 200
    assert not RiskRule.objects.filter(name="Big first order").exists()
    html = response.text
    assert 'data-testid="rule-error"' in html
    assert "Line 1, column 11:" in html
    assert "review if :amount_usd &gt; 700</textarea>" in html  # the text is kept


def test_a_broad_rule_needs_a_confirmation_to_be_saved(lead_client, defaults, store):
    scored_orders(store, ["800", "900", "100"])

    refused = lead_client.post("/risk/rules/new/", rule_post("review if :amount_usd: > 700"))

    assert refused.status_code == 200
    assert not RiskRule.objects.filter(name="Big first order").exists()
    assert 'data-testid="confirm-broad"' in refused.text
    assert "This rule matches many orders: tick the box to save it anyway." in refused.text
    assert "would have acted on 67% of the last 90 days" in refused.text

    saved = lead_client.post(
        "/risk/rules/new/", rule_post("review if :amount_usd: > 700", confirm_broad="on")
    )

    assert saved.status_code == 302
    assert RiskRule.objects.get(name="Big first order").source == "review if :amount_usd: > 700"


def test_a_narrow_rule_needs_no_confirmation(lead_client, defaults, store):
    scored_orders(store, ["100"] * 30 + ["800"])

    response = lead_client.post("/risk/rules/new/", rule_post("review if :amount_usd: > 700"))

    assert response.status_code == 302


def test_editing_writes_a_version_shown_with_a_diff_and_who_made_it(
    lead_client, lead, defaults, make_user
):
    rule = RiskRule.objects.get(name="Failed CVC")
    other = make_user(Role.PAYMENTS, username="payments", first_name="Minh", last_name="Pham")
    do_save_rule(
        "hold_fulfillment if :cvc_check: = 'fail' and :amount_usd: > 100",
        actor=other,
        rule=rule,
        note="small orders are fine",
    )

    response = lead_client.post(
        f"/risk/rules/{rule.pk}/",
        rule_post(
            "hold_fulfillment if :cvc_check: = 'fail' and :amount_usd: > 250",
            name="Failed CVC",
            priority=str(rule.priority),
            note="raise the floor",
        ),
    )
    assert response.status_code == 302

    html = lead_client.get(f"/risk/rules/{rule.pk}/").text
    versions = html[html.index('data-testid="versions"') :]
    assert [int(v) for v in re.findall(r"<strong>v(\d+)</strong>", versions)] == [3, 2, 1]
    assert "<del>100</del><ins>250</ins>" in versions
    assert "Linh Tran" in versions
    assert "Minh Pham" in versions
    assert "raise the floor" in versions
    assert "priority 80 → 5" not in versions


def test_saving_an_unchanged_rule_writes_no_version(lead_client, defaults):
    rule = RiskRule.objects.get(name="Failed CVC")

    lead_client.post(
        f"/risk/rules/{rule.pk}/",
        rule_post(rule.source, name=rule.name, priority=str(rule.priority)),
    )

    rule.refresh_from_db()
    assert rule.version == 1


def test_a_rule_page_shows_its_own_backtest_and_the_attribute_reference(
    lead_client, defaults, store
):
    scored_orders(store, ["100", "800"])
    rule = RiskRule.objects.get(name="Failed CVC")

    html = lead_client.get(f"/risk/rules/{rule.pk}/").text

    assert 'data-testid="bt-matched">0<' in html
    assert 'data-insert=":amount_usd:"' in html
    assert "order total in US dollars" in html
    assert 'data-insert="@blocked_emails"' in html


# session (4), rule; the check: list types, data version, snapshot (only when the process has
# none yet), list names, list entries, the sample orders with their review; the history: count,
# page, the version before the page; the attribute reference: lists with entry counts
RULE_PAGE_QUERIES = SESSION + 10


@pytest.mark.parametrize("versions", [1, 25])
def test_rule_page_query_count_is_fixed(
    lead_client, lead, defaults, store, django_assert_num_queries, versions
):
    scored_orders(store, ["800", "900"])
    rule = do_save_rule("hold_fulfillment if :amount_usd: > 700", actor=lead)
    for n in range(versions - 1):
        do_save_rule(f"hold_fulfillment if :amount_usd: > {n}", actor=lead, rule=rule)

    with django_assert_num_queries(RULE_PAGE_QUERIES + 1):
        response = lead_client.get(f"/risk/rules/{rule.pk}/")
    with django_assert_num_queries(RULE_PAGE_QUERIES):
        lead_client.get(f"/risk/rules/{rule.pk}/")

    assert len(response.context["versions"]) == min(versions, 20)
    assert len(response.context["check"].examples) == 2


# --- Lists --------------------------------------------------------------------------------


def test_lists_page_shows_every_list_with_its_entry_count(lead_client, lead, defaults):
    do_add_to_list("blocked_emails", ["a@example.com", "b@example.com"], actor=lead)

    response = lead_client.get("/risk/lists/")

    counts = {risk_list.name: risk_list.entry_count for risk_list in response.context["lists"]}
    assert counts["blocked_emails"] == 2
    assert counts["blocked_ips"] == 0


def test_adding_entries_normalises_them_and_says_how_many_were_new(lead_client, lead, defaults):
    do_add_to_list("blocked_emails", ["known@example.com"], actor=lead)

    response = lead_client.post(
        "/risk/lists/blocked_emails/",
        {"values": "Fraud@Example.com\n\n  known@example.com \nfraud@example.com", "note": "cb"},
        follow=True,
    )

    assert "Added 1 to @blocked_emails. 1 was already on it." in response.text
    entry = RiskListEntry.objects.get(value="fraud@example.com")
    assert (entry.note, entry.added_by.username) == ("cb", "lead")
    assert AuditEntry.objects.filter(action="risk.list_extended").count() == 2


def test_a_wrong_line_adds_nothing_and_says_which_line(lead_client, defaults):
    response = lead_client.post(
        "/risk/lists/blocked_ips/", {"values": "203.0.113.7\n203.0.113.999\n::1"}
    )

    assert response.status_code == 200
    assert RiskListEntry.objects.count() == 0
    html = response.text
    assert "Nothing was added" in html
    assert "Line 2 “203.0.113.999”: not an IPv4 or IPv6 address" in html
    assert "203.0.113.7\n203.0.113.999\n::1</textarea>" in html


def test_an_address_is_added_as_the_key_the_signals_compare(lead_client, defaults):
    lead_client.post(
        "/risk/lists/freight_forwarders/",
        {"values": "1 Forwarding Way | Suite 88231 | 19720 | US"},
    )

    entry = RiskListEntry.objects.get()
    key = address_key(
        {
            "address1": "1 Forwarding Way",
            "address2": "Suite 88231",
            "zip": "19720-1234",
            "country_code": "US",
        }
    )
    assert entry.value == key
    assert entry.note == "1 Forwarding Way Suite 88231 19720 US"


def test_entries_are_searched_by_their_start_and_paginated(lead_client, lead, defaults):
    emails = [f"user{n:03}@example.com" for n in range(60)] + ["zed@example.com"]
    do_add_to_list("blocked_emails", emails, actor=lead)

    first = lead_client.get("/risk/lists/blocked_emails/")
    searched = lead_client.get(
        "/risk/lists/blocked_emails/", {"q": "ZED"}, headers={"HX-Request": "true"}
    )

    assert first.context["page"].paginator.count == 61
    assert len(first.context["page"]) == 50
    assert [e.value for e in searched.context["page"]] == ["zed@example.com"]
    assert searched.text.lstrip().startswith('<section class="panel" id="results">')


def test_removing_an_entry_is_audited(lead_client, lead, defaults):
    do_add_to_list("blocked_emails", ["a@example.com", "b@example.com"], actor=lead)

    response = lead_client.post(
        "/risk/lists/blocked_emails/remove/", {"value": "A@example.com"}, follow=True
    )

    assert "Removed 1 from @blocked_emails." in response.text
    assert list(RiskListEntry.objects.values_list("value", flat=True)) == ["b@example.com"]
    entry = AuditEntry.objects.get(action="risk.list_reduced")
    assert entry.changes["removed"] == ["a@example.com"]
    assert entry.actor == lead


def test_an_agent_may_not_read_or_change_lists(agent_client, defaults):
    read = agent_client.get("/risk/lists/blocked_emails/")
    added = agent_client.post("/risk/lists/blocked_emails/", {"values": "a@b.co"})
    removed = agent_client.post("/risk/lists/blocked_emails/remove/", {"value": "a"})

    assert (read.status_code, added.status_code, removed.status_code) == (403, 403, 403)
    assert RiskList.objects.get(name="blocked_emails").entries.count() == 0


def test_an_unknown_list_is_404(lead_client, defaults):
    assert lead_client.get("/risk/lists/no_such_list/").status_code == 404


# session (4), list, count, page of entries with who added them
LIST_PAGE_QUERIES = SESSION + 3


@pytest.mark.parametrize("entries", [1, 40])
def test_list_page_query_count_is_fixed(
    lead_client, lead, defaults, django_assert_num_queries, entries
):
    do_add_to_list("blocked_emails", [f"u{n}@example.com" for n in range(entries)], actor=lead)

    with django_assert_num_queries(LIST_PAGE_QUERIES):
        response = lead_client.get("/risk/lists/blocked_emails/")

    assert len(response.context["page"]) == entries


# session (4), the lists with their entry counts
LIST_INDEX_QUERIES = SESSION + 1


@pytest.mark.parametrize("extra", [0, 6])
def test_list_index_query_count_is_fixed(
    lead_client, lead, defaults, django_assert_num_queries, extra
):
    for n in range(extra):
        RiskList.objects.create(name=f"watched_{n}", description=f"Watched {n}")
        do_add_to_list(f"watched_{n}", [f"u{m}@example.com" for m in range(n + 1)], actor=lead)

    lead_client.get("/risk/lists/")  # warm the session

    with django_assert_num_queries(LIST_INDEX_QUERIES):
        response = lead_client.get("/risk/lists/")

    assert response.status_code == 200
    shown = {risk_list.name: risk_list.entry_count for risk_list in response.context["lists"]}
    assert len(shown) == RiskList.objects.count()
    assert all(shown[f"watched_{n}"] == n + 1 for n in range(extra))
