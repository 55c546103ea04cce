"""Malformed requests get a JSON error with a machine code and the right status, never a 500."""

import pytest

from storedesk.accounts.roles import Role
from storedesk.desk.models import Message
from tests.factories import OrderFactory


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/v1/orders", {"created_after": "yesterday"}, 422, "created_after"),
        ("/api/v1/orders", {"created_after": "2026-02-30"}, 422, "created_after"),
        ("/api/v1/orders", {"created_before": "2026-03-02T25:00:00Z"}, 422, "created_before"),
        ("/api/v1/orders", {"limit": "0"}, 422, "limit"),
        ("/api/v1/orders", {"limit": "201"}, 422, "limit"),
        ("/api/v1/orders", {"limit": "ten"}, 422, "limit"),
        ("/api/v1/orders", {"financial_status": "stolen"}, 422, "financial_status"),
        ("/api/v1/orders", {"fulfillment_status": "lost"}, 422, "fulfillment_status"),
        ("/api/v1/orders", {"gateway": "bitcoin"}, 422, "gateway"),
        ("/api/v1/orders", {"customer_id": "abc"}, 422, "customer_id"),
        ("/api/v1/orders", {"customer_id": "-4"}, 422, "customer_id"),
        ("/api/v1/orders", {"number": "TP" + "9" * 40}, 422, "number"),
        ("/api/v1/orders", {"cursor": "x" * 600}, 422, "cursor"),
        ("/api/v1/orders", {"cursor": "garbage"}, 400, "cursor"),
        ("/api/v1/customers", {"vip": "maybe"}, 422, "vip"),
        ("/api/v1/customers", {"name": "\x00"}, 422, "name"),
        ("/api/v1/customers", {"tag": "vip\x00"}, 422, "tag"),
        ("/api/v1/orders", {"email": "a\x00@b.example"}, 422, "email"),
        ("/api/v1/orders", {"created_after": "9999-12-31T23:59:59-05:00"}, 422, "created_after"),
        ("/api/v1/orders", {"created_after": "0001-01-01T00:00:00+05:00"}, 422, "created_after"),
        ("/api/v1/orders", {"customer_id": "9" * 20}, 422, "customer_id"),
        ("/api/v1/shipments", {"order": "#TP\x00"}, 422, "order"),
        ("/api/v1/orders/%00", {}, 422, "number_or_id"),
        ("/api/v1/customers/" + "9" * 20, {}, 422, "customer_id"),
        ("/api/v1/customers/0", {}, 422, "customer_id"),
        ("/api/v1/shipments", {"status": "teleported"}, 422, "status"),
        ("/api/v1/payments", {"risk_level": "scary"}, 422, "risk_level"),
        ("/api/v1/payments", {"status": "bounced"}, 422, "status"),
        ("/api/v1/payments", {"created_after": "03/02/2026"}, 422, "created_after"),
        ("/api/v1/customers/abc", {}, 422, "customer_id"),
        ("/api/v1/payments/1.5", {}, 422, "payment_id"),
    ],
)
def test_malformed_parameters_are_json_errors(agent_api, path, params, status, field):
    response = agent_api.get(path, params)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    if status == 422:
        assert body["code"] == "validation_error"
        assert [detail["field"] for detail in body["details"]] == [field]
    else:
        assert body["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/TP00000",
        "/api/v1/orders/1234567",
        "/api/v1/customers/1234567",
        "/api/v1/shipments/1234567",
        "/api/v1/payments/1234567",
    ],
)
def test_unknown_objects_are_json_404(agent_api, db, path):
    OrderFactory()

    response = agent_api.get(path)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "1234567" in response.json()["message"] or "TP00000" in response.json()["message"]


def test_unexpected_failure_is_json_500_without_a_traceback(agent_api, db, monkeypatch):
    from storedesk.commerce import api_queries

    def broken(**filters):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(api_queries, "order_list", broken)

    response = agent_api.get("/api/v1/orders")

    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "message": "Something went wrong on our side. It has been logged.",
        "details": None,
    }


def test_a_method_the_endpoint_lacks_is_a_json_405(agent_api, db):
    response = agent_api.delete("/api/v1/orders")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Allow"] == "GET"
    assert response.json() == {
        "code": "method_not_allowed",
        "message": "DELETE is not allowed here. Allowed: GET.",
        "details": {"allowed": ["GET"]},
    }


LIMIT = 2_000


def test_an_api_json_body_over_the_limit_is_a_json_413(token_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    api = token_client(Role.AGENT, username="agent-api")
    body = {"requester_email": "emma@mail.example", "subject": "Big", "text": "x" * (LIMIT * 2)}

    response = api.post("/api/v1/tickets", body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "code": "too_large",
        "message": f"The request body is over the limit of {LIMIT} bytes.",
        "details": {"limit_bytes": LIMIT},
    }
    assert not Message.objects.exists()
