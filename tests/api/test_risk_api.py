"""API v1 risk review: the queue, one assessment, decisions through the same services."""

from decimal import Decimal

import pytest

from storedesk.accounts.roles import Role
from storedesk.desk.models import Ticket
from storedesk.risk.models import OrderRisk, RiskDecision
from storedesk.risk.review import do_add_note
from tests.factories import OrderFactory, StoreFactory
from tests.risk.review_fixtures import cleared_order, order_in_review

AUTH = 3  # token+user, user permissions, group permissions


@pytest.fixture
def store(db):
    return StoreFactory()


@pytest.fixture
def risk(store):
    return order_in_review(store)


@pytest.fixture
def lead_api(token_client):
    return token_client(Role.LEAD, username="lead-api")


def _decide(client, order_id, **body):
    return client.post(
        f"/api/v1/risk/orders/{order_id}/decisions", body, content_type="application/json"
    )


# --- Reading ------------------------------------------------------------------------------------


def test_reviews_page_by_score_then_amount_with_a_cursor(agent_api, store):
    small = order_in_review(store, total=Decimal("100.00"))
    large = order_in_review(store, total=Decimal("700.00"))
    top = order_in_review(store, total=Decimal("20.00"))
    OrderRisk.objects.filter(pk=top.pk).update(score=99)
    OrderRisk.objects.filter(pk__in=[small.pk, large.pk]).update(score=50)
    cleared_order(store)

    first = agent_api.get("/api/v1/risk/reviews", {"limit": 2}).json()
    second = agent_api.get(
        "/api/v1/risk/reviews", {"limit": 2, "cursor": first["next_cursor"]}
    ).json()

    assert [item["order_id"] for item in first["items"]] == [top.order_id, large.order_id]
    assert [item["order_id"] for item in second["items"]] == [small.order_id]
    assert second["next_cursor"] is None
    item = first["items"][1]
    assert item["total"] == {"amount": "700.00", "currency": "USD"}
    assert item["status"] == "in_review"
    assert item["stage"] == "check"
    assert item["decided_by_rule"] == "Gateway says highest risk"
    assert item["is_first_order"] is True
    assert item["top_reasons"][0]["reason"] == "gateway risk highest"


def test_reviews_filter_and_refuse_bad_filters(agent_api, store):
    low, high = order_in_review(store), order_in_review(store)
    OrderRisk.objects.filter(pk=low.pk).update(score=5)
    OrderRisk.objects.filter(pk=high.pk).update(score=70, stage="contact")

    def ids(**params):
        return [
            i["order_id"] for i in agent_api.get("/api/v1/risk/reviews", params).json()["items"]
        ]

    assert ids(min_score=50) == [high.order_id]
    assert ids(stage="contact") == [high.order_id]
    assert ids(action="review") == [high.order_id, low.order_id]
    for bad in ({"min_score": 101}, {"stage": "nowhere"}, {"action": "explode"}):
        response = agent_api.get("/api/v1/risk/reviews", bad)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
    assert agent_api.get("/api/v1/risk/reviews", {"cursor": "forged"}).status_code == 400


@pytest.mark.parametrize("size", [1, 12])
def test_reviews_cost_one_query(agent_api, store, django_assert_num_queries, size):
    for _ in range(size):
        order_in_review(store)

    with django_assert_num_queries(AUTH + 1):
        response = agent_api.get("/api/v1/risk/reviews")
    assert len(response.json()["items"]) == size


def test_one_review_has_signals_rules_and_decisions(payments_api, risk):
    do_add_note(risk, payments_api.user, "calling the bank")

    body = payments_api.get(f"/api/v1/risk/orders/{risk.order_id}").json()

    assert body["order_number"] == risk.order.number
    assert body["signals"]["gateway_risk_level"] == "highest"
    assert body["signals"]["ip_country"] is None  # no GeoIP file: unknown, not safe
    assert body["signals"]["card_fingerprint"] == "fpSTOLEN01"
    fired = [outcome for outcome in body["rule_outcomes"] if outcome["fired"]]
    assert fired == [
        {
            "rule_id": risk.decided_by_rule_id,
            "source": "review if :gateway_risk_level: = 'highest'",
            "fired": True,
            "undecided": False,
            "values": {"gateway_risk_level": "highest"},
        }
    ]
    assert [(d["kind"], d["reason"], d["actor"]) for d in body["decisions"]] == [
        ("note", "calling the bank", "payments-api")
    ]
    assert body["open_tasks"] == []


def test_card_fingerprints_are_left_out_for_roles_without_payment_details(agent_api, risk):
    body = agent_api.get(f"/api/v1/risk/orders/{risk.order_id}").json()

    assert "card_fingerprint" not in body["signals"]
    assert "gateway_risk_level" in body["signals"]


@pytest.mark.parametrize("notes", [0, 4])
def test_one_review_costs_a_fixed_number_of_queries(
    agent_api, risk, django_assert_num_queries, notes
):
    for n in range(notes):
        do_add_note(risk, agent_api.user, f"note {n}")

    # the assessment with its order, customer and rule; decisions; open tasks
    with django_assert_num_queries(AUTH + 3):
        assert agent_api.get(f"/api/v1/risk/orders/{risk.order_id}").status_code == 200


def test_unknown_and_unscored_orders_are_404_with_a_clear_message(agent_api, store):
    unscored = OrderFactory(store=store)

    for order_id in (999999, unscored.pk):
        response = agent_api.get(f"/api/v1/risk/orders/{order_id}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert "unknown or not scored" in response.json()["message"]
    assert agent_api.get("/api/v1/risk/orders/0").status_code == 422


# --- Deciding -----------------------------------------------------------------------------------


def test_approve_through_the_api_and_a_retry_returns_the_same_decision(payments_api, risk):
    first = _decide(payments_api, risk.order_id, kind="approve", reason="Known customer")
    retry = _decide(payments_api, risk.order_id, kind="approve", reason="Known customer")

    assert first.status_code == 201
    body = first.json()
    assert (body["status"], body["stage"], body["fulfillment_held"]) == ("approved", "done", False)
    assert body["decision"]["kind"] == "approve"
    assert body["decision"]["actor"] == "payments-api"
    assert retry.json()["decision"]["id"] == body["decision"]["id"]
    assert RiskDecision.objects.count() == 1


def test_cancel_and_report_fraud_through_the_api(lead_api, risk):
    response = _decide(lead_api, risk.order_id, kind="cancel_fraud", reason="Cardholder denies")

    body = response.json()
    assert response.status_code == 201
    assert body["status"] == "cancelled"
    assert body["stage"] == "gateway"
    assert body["decision"]["details"]["refund_due"] == "89.00"
    assert "blocked_emails" in body["decision"]["details"]["blocked"]
    assert body["decision"]["details"]["refund_status"] == "processing"  # refunded after commit
    assert body["decision"]["details"]["resolution_id"]
    detail = lead_api.get(f"/api/v1/risk/orders/{risk.order_id}").json()
    assert detail["open_tasks"] == []


def test_verification_and_stage_through_the_api(lead_api, risk):
    contact = _decide(
        lead_api, risk.order_id, kind="contact", template="photo_id", reason="name mismatch"
    ).json()
    stage = _decide(lead_api, risk.order_id, kind="stage", stage="decide").json()

    assert contact["stage"] == "contact"
    details = contact["decision"]["details"]
    assert details["sent"] is True
    assert Ticket.objects.get(pk=details["ticket_id"]).messages.get().text == details["message"]
    assert "government-issued photo ID" in contact["decision"]["details"]["message"]
    assert stage["stage"] == "decide"


def test_agents_cannot_decide(agent_api, risk):
    response = _decide(agent_api, risk.order_id, kind="approve", reason="fine")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not RiskDecision.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "launch", "reason": "x"}, 422, "validation_error"),
        ({"reason": "x"}, 422, "validation_error"),
        ({"kind": "approve"}, 422, "reason_required"),
        ({"kind": "approve", "reason": "   "}, 422, "reason_required"),
        ({"kind": "approve", "reason": "x" * 2001}, 422, "validation_error"),
        ({"kind": "contact", "reason": "x", "template": "selfie"}, 422, "validation_error"),
        ({"kind": "contact", "reason": "x"}, 422, "cannot_contact"),
        ({"kind": "stage", "stage": "done"}, 422, "stage_refused"),
    ],
)
def test_bad_decisions_are_refused_with_a_clear_error(lead_api, risk, body, status, code):
    response = _decide(lead_api, risk.order_id, **body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert not RiskDecision.objects.exists()


def test_deciding_a_cleared_or_already_decided_order_is_a_conflict(lead_api, store, risk):
    cleared = cleared_order(store)
    _decide(lead_api, risk.order_id, kind="approve", reason="fine")

    not_in_review = _decide(lead_api, cleared.order_id, kind="approve", reason="fine")
    decided = _decide(lead_api, risk.order_id, kind="cancel", reason="too late")

    assert (not_in_review.status_code, not_in_review.json()["code"]) == (409, "not_in_review")
    assert "not in review" in not_in_review.json()["message"]
    assert (decided.status_code, decided.json()["code"]) == (409, "already_decided")
    assert _decide(lead_api, 999999, kind="approve", reason="x").status_code == 404


def test_the_openapi_document_lists_the_risk_endpoints(db, client):
    schema = client.get("/api/v1/openapi.json").json()

    assert {
        "/api/v1/risk/reviews",
        "/api/v1/risk/orders/{order_id}",
        "/api/v1/risk/orders/{order_id}/decisions",
    } <= set(schema["paths"])
    post = schema["paths"]["/api/v1/risk/orders/{order_id}/decisions"]["post"]
    assert {"201", "403", "404", "409", "422"} <= set(post["responses"])
    taken = {"approve", "cancel", "cancel_fraud", "contact", "stage", "note"}
    assert set(schema["components"]["schemas"]["DecisionTaken"]["enum"]) == taken
    assert set(schema["components"]["schemas"]["DecisionKind"]["enum"]) == taken | {
        "opened",
        "overtaken",
        "reopened",
    }
