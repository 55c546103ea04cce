"""API v1 risk rules: list, read, create and update (versioned), and backtest a rule's text."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.risk.backtest import snapshots
from storedesk.risk.models import OrderRisk, RiskRule
from storedesk.risk.services import do_install_defaults, do_save_rule, do_score_orders
from tests.factories import OrderFactory, PaymentFactory, RefundFactory, StoreFactory

AUTH = 3  # token+user, user permissions, group permissions


@pytest.fixture(autouse=True)
def fresh_snapshot():
    snapshots.clear()
    yield
    snapshots.clear()


@pytest.fixture
def defaults(db):
    do_install_defaults()


@pytest.fixture
def lead_api(token_client):
    return token_client(Role.LEAD, username="lead-api")


def scored_orders(amounts, *, days_ago=1):
    store = StoreFactory()
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


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def put(client, path, body):
    return client.put(path, body, content_type="application/json")


# --- Reading ------------------------------------------------------------------------------


def test_rules_are_listed_in_evaluation_order_with_a_cursor(payments_api, defaults):
    first = payments_api.get("/api/v1/risk/rules", {"limit": 4}).json()
    rest = payments_api.get(
        "/api/v1/risk/rules", {"limit": 50, "cursor": first["next_cursor"]}
    ).json()

    priorities = [rule["priority"] for rule in first["items"] + rest["items"]]
    assert priorities == list(range(10, 111, 10))
    assert rest["next_cursor"] is None
    blocked = first["items"][0]
    assert blocked["name"] == "Blocked email"
    assert blocked["source"] == "cancel_and_refund if :email: in @blocked_emails"
    assert blocked["action"] == "cancel_and_refund"
    assert (blocked["enabled"], blocked["version"]) == (True, 1)


def test_one_rule_comes_with_its_versions_newest_first(lead_api, defaults):
    rule = RiskRule.objects.get(name="Failed CVC")
    do_save_rule("hold_fulfillment if :cvc_check: = 'unavailable'", actor=lead_api.user, rule=rule)

    body = lead_api.get(f"/api/v1/risk/rules/{rule.pk}").json()

    assert body["version"] == 2
    assert [v["version"] for v in body["versions"]] == [2, 1]
    assert body["versions"][0]["changed_by"] == "lead-api"
    assert body["versions"][1]["changed_by"] is None
    assert body["versions"][1]["source"] == "hold_fulfillment if :cvc_check: = 'fail'"


def test_unknown_and_impossible_rule_ids(lead_api, defaults):
    missing = lead_api.get("/api/v1/risk/rules/999999")
    huge = lead_api.get(f"/api/v1/risk/rules/{2**70}")

    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert huge.status_code == 422


@pytest.mark.parametrize(
    ("role", "status"), [(Role.AGENT, 403), (Role.LEAD, 200), (Role.PAYMENTS, 200)]
)
def test_who_may_read_rules(token_client, defaults, role, status):
    client = token_client(role, username=f"api-{role}")

    assert client.get("/api/v1/risk/rules").status_code == status
    assert (
        post(client, "/api/v1/risk/backtest", {"source": "review if :amount_usd: > 1"}).status_code
        == status
    )


def test_anonymous_callers_are_refused(defaults):
    assert Client().get("/api/v1/risk/rules").status_code == 401


# --- Writing ------------------------------------------------------------------------------


def test_creating_a_rule_writes_version_one_and_scores_the_next_order_with_it(lead_api, defaults):
    scored_orders(["100"] * 30)

    response = post(
        lead_api,
        "/api/v1/risk/rules",
        {
            "name": "Big first order",
            "source": "review if :amount_usd: > 700 and :is_first_order:",
            "priority": 5,
            "note": "from the API",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["priority"], body["version"], body["action"]) == (
        "Big first order",
        5,
        1,
        "review",
    )
    assert body["versions"][0]["note"] == "from the API"
    rule = RiskRule.objects.get(pk=body["id"])
    assert AuditEntry.objects.filter(action="risk.rule_saved", object_id=str(rule.pk)).exists()
    (order,) = scored_orders(["900"], days_ago=0)
    assert OrderRisk.objects.get(order=order).decided_by_rule == rule


def test_a_new_rule_goes_after_the_last_one_unless_told(lead_api, defaults):
    response = post(lead_api, "/api/v1/risk/rules", {"source": "review if :amount_usd: > 5000"})

    assert response.json()["priority"] == 120
    assert response.json()["name"] == "review if :amount_usd: > 5000"


def test_an_invalid_rule_is_a_422_with_the_column_and_a_pointer(lead_api, defaults):
    response = post(lead_api, "/api/v1/risk/rules", {"source": "review if :amount_usd: > 700 and"})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_rule"
    assert body["message"] == (
        "expected an attribute, a number or a quoted text, found the end of the rule"
    )
    assert body["details"]["column"] == 33
    assert body["details"]["pointer"] == (
        "review if :amount_usd: > 700 and\n" + " " * 32 + "^ " + body["message"]
    )
    assert RiskRule.objects.count() == 11


def test_a_broad_rule_is_refused_until_confirmed(lead_api, defaults):
    scored_orders(["800", "900", "100"])

    refused = post(lead_api, "/api/v1/risk/rules", {"source": "review if :amount_usd: > 700"})
    confirmed = post(
        lead_api,
        "/api/v1/risk/rules",
        {"source": "review if :amount_usd: > 700", "confirm_broad": True},
    )

    assert refused.status_code == 422
    assert refused.json()["code"] == "broad_rule"
    assert refused.json()["details"] == {
        "matched": 2,
        "orders": 3,
        "confirm_with": "confirm_broad",
    }
    assert "67%" in refused.json()["message"]
    assert confirmed.status_code == 201


def test_updating_writes_a_new_version_and_keeps_what_is_left_out(lead_api, defaults):
    rule = RiskRule.objects.get(name="Failed CVC")

    response = put(
        lead_api,
        f"/api/v1/risk/rules/{rule.pk}",
        {"source": "hold_fulfillment if :cvc_check: in ('fail', 'unavailable')", "enabled": False},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["priority"], body["version"], body["enabled"]) == (
        "Failed CVC",
        90,
        2,
        False,
    )
    again = put(
        lead_api,
        f"/api/v1/risk/rules/{rule.pk}",
        {"source": "hold_fulfillment if :cvc_check: in ('fail', 'unavailable')", "enabled": False},
    )
    assert again.json()["version"] == 2  # unchanged: no new version


def test_updating_an_unknown_rule_is_404(lead_api, defaults):
    response = put(lead_api, "/api/v1/risk/rules/999999", {"source": "review if :amount_usd: > 1"})

    assert response.status_code == 404


def test_an_agent_may_not_write_rules(agent_api, defaults):
    rule = RiskRule.objects.get(name="Failed CVC")

    created = post(agent_api, "/api/v1/risk/rules", {"source": "review if :amount_usd: > 1"})
    updated = put(
        agent_api, f"/api/v1/risk/rules/{rule.pk}", {"source": "review if :amount_usd: > 1"}
    )

    assert (created.status_code, updated.status_code) == (403, 403)
    assert created.json()["details"] == {"required_permission": "risk.add_riskrule"}
    assert RiskRule.objects.get(pk=rule.pk).version == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"source": ""},
        {"source": "x" * 2001},
        {"source": "review if :amount_usd: > 1", "priority": -1},
        {"source": "review if :amount_usd: > 1", "name": "n" * 121},
    ],
)
def test_bad_bodies_are_422(lead_api, defaults, body):
    response = post(lead_api, "/api/v1/risk/rules", body)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


# --- Backtest -----------------------------------------------------------------------------


def test_backtest_reports_counts_volume_split_and_warning(payments_api, defaults):
    orders = scored_orders(["800", "900", "750", "100", "120"])
    RefundFactory(order=orders[0])

    response = post(
        payments_api,
        "/api/v1/risk/backtest",
        {"source": "review if :amount_usd: > 700", "days": 30},
    )

    assert response.status_code == 200
    body = response.json()
    assert {
        k: body[k] for k in ("action", "days", "orders", "matched", "disputed", "refunded", "good")
    } == {
        "action": "review",
        "days": 30,
        "orders": 5,
        "matched": 3,
        "disputed": 0,
        "refunded": 1,
        "good": 2,
    }
    assert body["match_rate"] == 0.6
    assert body["matched_volume"] == {"amount": "2450.00", "currency": "USD"}
    assert sorted(body["example_order_ids"]) == sorted(o.pk for o in orders[:3])
    assert "60%" in body["warning"]
    assert (body["overrides"], body["overrides_disputed"]) == (0, 0)


def test_backtest_of_an_allow_rule_reports_overrides(payments_api, defaults):
    scored_orders(["100", "120"])
    OrderRisk.objects.filter(pk=OrderRisk.objects.first().pk).update(status="in_review")

    body = post(
        payments_api, "/api/v1/risk/backtest", {"source": "allow if :amount_usd: > 0"}
    ).json()

    assert (body["matched"], body["overrides"], body["warning"]) == (2, 1, "")


def test_backtest_of_a_broken_rule_is_422_with_the_column(payments_api, defaults):
    response = post(
        payments_api, "/api/v1/risk/backtest", {"source": "review if :amount_in_usd: > 5"}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_rule"
    assert response.json()["details"]["column"] == 11
    assert "unknown attribute :amount_in_usd:" in response.json()["message"]


def test_a_rule_nested_hundreds_deep_is_422_not_a_crash(lead_api, payments_api, defaults):
    source = "review if " + "(" * 900 + ":amount_usd: > 5" + ")" * 900  # within the length limit

    checked = post(payments_api, "/api/v1/risk/backtest", {"source": source})
    saved = post(lead_api, "/api/v1/risk/rules", {"name": "Deep", "source": source})

    for response in (checked, saved):
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_rule"
        assert "levels deep" in response.json()["message"]
    assert not RiskRule.objects.filter(name="Deep").exists()


@pytest.mark.parametrize("days", [0, 366, "a"])
def test_backtest_refuses_periods_out_of_range(payments_api, defaults, days):
    response = post(
        payments_api,
        "/api/v1/risk/backtest",
        {"source": "review if :amount_usd: > 1", "days": days},
    )

    assert response.status_code == 422


# --- Schema and query counts --------------------------------------------------------------


def test_the_openapi_document_describes_the_rule_endpoints(db):
    schema = Client().get("/api/v1/openapi.json").json()

    paths = schema["paths"]
    assert set(paths["/api/v1/risk/rules"]) == {"get", "post"}
    assert set(paths["/api/v1/risk/rules/{rule_id}"]) == {"get", "put"}
    assert {"200", "401", "403", "422"} <= set(paths["/api/v1/risk/backtest"]["post"]["responses"])
    assert "BacktestOut" in schema["components"]["schemas"]


@pytest.mark.parametrize("rules", [0, 15])
def test_rule_list_query_count_is_fixed(lead_api, defaults, django_assert_num_queries, rules):
    for n in range(rules):
        do_save_rule(f"review if :amount_usd: > {n}", actor=lead_api.user)

    with django_assert_num_queries(AUTH + 1):
        response = lead_api.get("/api/v1/risk/rules", {"limit": 200})

    assert len(response.json()["items"]) == 11 + rules


@pytest.mark.parametrize("versions", [1, 30])
def test_rule_detail_query_count_is_fixed(lead_api, defaults, django_assert_num_queries, versions):
    rule = RiskRule.objects.get(name="Failed CVC")
    for n in range(versions - 1):
        do_save_rule(f"hold_fulfillment if :amount_usd: > {n}", actor=lead_api.user, rule=rule)

    with django_assert_num_queries(AUTH + 2):  # the rule, its newest versions with who
        response = lead_api.get(f"/api/v1/risk/rules/{rule.pk}")

    assert len(response.json()["versions"]) == min(versions, 20)


@pytest.mark.parametrize("orders", [2, 12])
def test_backtest_query_count_is_fixed(payments_api, defaults, django_assert_num_queries, orders):
    scored_orders(["800"] * orders)
    post(payments_api, "/api/v1/risk/backtest", {"source": "review if :amount_usd: > 700"})

    # list types, data version, list names, list entries
    with django_assert_num_queries(AUTH + 4):
        body = post(
            payments_api, "/api/v1/risk/backtest", {"source": "review if :amount_usd: > 700"}
        ).json()

    assert body["matched"] == orders
