"""POST /api/v1/triage: text in, understanding out."""

import pytest
from django.test import Client

from storedesk.accounts.roles import Role

URL = "/api/v1/triage"

pytestmark = pytest.mark.django_db


def post(client, body):
    return client.post(URL, body, content_type="application/json")


def test_a_message_is_understood(agent_api):
    response = post(
        agent_api,
        {"text": "My order #TP10234 arrived broken!! I want a refund or I'll file a chargeback."},
    )
    assert response.status_code == 200
    body = response.json()
    assert {i["intent"] for i in body["intents"]} == {"damaged", "refund_request"}
    assert all(0 <= i["confidence"] <= 1 for i in body["intents"])
    assert body["order_refs"] == [
        {"kind": "order", "value": "TP10234", "text": "#TP10234", "carrier": "", "explicit": True}
    ]
    assert body["threats"] == ["chargeback"]
    assert body["mood"] in ("frustrated", "angry")
    assert body["language"] == "en"
    assert body["is_english"] is True
    assert body["explanation"][body["primary_intent"]][0]["feature"]


def test_nothing_is_looked_up_or_stored(agent_api, django_assert_max_num_queries):
    post(agent_api, {"text": "warm-up"})
    with django_assert_max_num_queries(5):  # auth, permissions, the active model's version
        response = post(agent_api, {"text": "where is order 10234?"})
    assert response.status_code == 200


def test_a_subject_is_read_too(agent_api):
    body = post(agent_api, {"text": "see subject", "subject": "Please cancel my order"}).json()
    assert body["primary_intent"] == "cancel_change"


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("", lambda b: b["notes"] == ["no words to understand"]),
        ("🙂🙂🙂", lambda b: b["primary_intent"] == "other"),
        (
            "<div><p>where is my <b>order</b></p></div>",
            lambda b: b["primary_intent"] == "order_status",
        ),
        ("¿Dónde está mi pedido? Lo compré hace dos semanas.", lambda b: not b["is_english"]),
        ("where is my order " * 50_000, lambda b: b["notes"][0].startswith("truncated")),
    ],
)
def test_bad_input_is_answered_not_crashed(agent_api, text, check):
    response = post(agent_api, {"text": text})
    assert response.status_code == 200
    assert check(response.json())


def test_more_than_a_megabyte_is_refused_clearly(agent_api):
    response = post(agent_api, {"text": "x" * 1_000_001})
    assert response.status_code == 422
    assert response.json()["code"]


def test_missing_text_is_refused(agent_api):
    response = post(agent_api, {"subject": "hi"})
    assert response.status_code == 422


def test_anonymous_callers_are_refused():
    assert post(Client(), {"text": "hi"}).status_code == 401


@pytest.mark.parametrize(("role", "status"), [(Role.AGENT, 200), (Role.LEAD, 200), (None, 403)])
def test_who_may_triage(token_client, role, status):
    assert post(token_client(role), {"text": "where is my order"}).status_code == status


def test_the_endpoint_is_in_the_openapi_schema(agent_api):
    schema = agent_api.get("/api/v1/openapi.json").json()
    operation = schema["paths"][URL]["post"]
    assert set(operation["responses"]) >= {"200", "401", "403", "422"}
