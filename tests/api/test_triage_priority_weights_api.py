"""GET/PUT /api/v1/triage/priority-weights: the priority score's weights, for leads."""

import pytest

from storedesk.accounts.roles import Role
from storedesk.triage.models import PriorityWeights

API = "/api/v1/triage/priority-weights"

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_api(token_client):
    return token_client(Role.LEAD, username="lead-api")


def test_the_api_reads_and_writes_the_weights(lead_api):
    response = lead_api.get(API)
    assert response.status_code == 200
    assert response.json()["version"] is None
    assert response.json()["weights"]["vip"] == 15

    response = lead_api.put(
        API, {"weights": {"vip": 40}, "note": "VIPs"}, content_type="application/json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["weights"]["vip"], body["note"]) == (1, 40, "VIPs")
    assert body["weights"]["anger"] == 10  # left out: the built-in default
    assert body["changed_by"] == "lead-api"


def test_the_api_refuses_a_wrong_weight_with_its_field(lead_api):
    response = lead_api.put(
        API, {"weights": {"open_dispute": -500}}, content_type="application/json"
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_weights"
    assert body["details"] == {"field": "open_dispute"}
    assert "between -100 and 100" in body["message"]
    assert PriorityWeights.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "put"])
def test_the_api_is_for_leads_and_admins(agent_api, method):
    response = getattr(agent_api, method)(API, {"weights": {}}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_the_openapi_document_describes_both_methods(client):
    schema = client.get("/api/v1/openapi.json").json()
    operations = schema["paths"][API]
    assert {"200", "401", "403"} <= set(operations["get"]["responses"])
    assert {"200", "401", "403", "422"} <= set(operations["put"]["responses"])
    assert operations["put"]["tags"] == ["triage"]
