"""Who may call the API: bearer tokens, sessions (with CSRF), and what happens otherwise."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.utils import timezone

from storedesk.accounts.api_auth import SessionCsrfAuth
from storedesk.accounts.models import ApiToken
from storedesk.accounts.roles import Role
from storedesk.accounts.services import do_revoke_api_token
from storedesk.core.api import ApiError

ORDERS = "/api/v1/orders"


def _assert_unauthenticated(response):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert body["message"]
    assert "details" in body
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401(db):
    _assert_unauthenticated(Client().get(ORDERS))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer sdk_not-a-real-token",
        "Bearer not-even-our-prefix",
        "Bearer ",
        "Bearer " + "sdk_" + "x" * 5000,
    ],
)
def test_bad_token_is_401(db, header):
    _assert_unauthenticated(Client(headers={"Authorization": header}).get(ORDERS))


def test_valid_token_works(agent_api):
    response = agent_api.get(ORDERS)

    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


def test_revoked_token_is_401(agent_api):
    do_revoke_api_token(agent_api.token, actor=agent_api.user)

    _assert_unauthenticated(agent_api.get(ORDERS))


def test_expired_token_is_401(agent_api):
    ApiToken.objects.filter(pk=agent_api.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    _assert_unauthenticated(agent_api.get(ORDERS))


def test_token_of_inactive_user_is_401(agent_api):
    agent_api.user.is_active = False
    agent_api.user.save(update_fields=["is_active"])

    _assert_unauthenticated(agent_api.get(ORDERS))


def test_bad_token_is_401_even_with_a_valid_session(agent_client):
    response = agent_client.get(ORDERS, headers={"Authorization": "Bearer sdk_wrong"})

    _assert_unauthenticated(response)


def test_token_use_is_recorded_at_most_once_a_minute(token_client):
    client = token_client(Role.AGENT)
    ApiToken.objects.filter(pk=client.token.pk).update(last_used_at=None)

    client.get(ORDERS)
    first_use = ApiToken.objects.get(pk=client.token.pk).last_used_at
    client.get(ORDERS)
    second_use = ApiToken.objects.get(pk=client.token.pk).last_used_at

    assert first_use is not None
    assert second_use == first_use


def test_session_works(agent_client):
    response = agent_client.get(ORDERS)

    assert response.status_code == 200


def test_session_of_inactive_user_is_401(agent_client, agent):
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    _assert_unauthenticated(agent_client.get(ORDERS))


def _session_post(user, csrf_header: str | None):
    """A POST as the browser would send it; the API has no write endpoint yet, so the
    session auth is exercised directly."""
    factory = RequestFactory(enforce_csrf_checks=True)
    headers = {"X-CSRFToken": csrf_header} if csrf_header else {}
    request = factory.post(ORDERS, headers=headers)
    request.COOKIES[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    request.COOKIES[settings.SESSION_COOKIE_NAME] = "session-key"
    request.user = user
    return request


CSRF_SECRET = "a" * 32


def test_session_needs_csrf_on_unsafe_methods(agent):
    with pytest.raises(ApiError) as refused:
        SessionCsrfAuth()(_session_post(agent, csrf_header=None))

    assert refused.value.status_code == 403
    assert refused.value.code == "csrf_failed"


def test_session_with_the_csrf_token_is_let_through(agent):
    assert SessionCsrfAuth()(_session_post(agent, csrf_header=CSRF_SECRET)) == agent


def test_csrf_failure_is_json_403(agent):
    from storedesk.api import api

    response = api.on_exception(
        _session_post(agent, None), ApiError(403, "csrf_failed", "The CSRF token is wrong.")
    )

    assert response.status_code == 403
    assert json.loads(response.content) == {
        "code": "csrf_failed",
        "message": "The CSRF token is wrong.",
        "details": None,
    }


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        (None, ORDERS, 403),
        (None, "/api/v1/customers", 403),
        (None, "/api/v1/shipments", 403),
        (None, "/api/v1/payments", 403),
        (None, "/api/v1/orders/1", 403),
        (Role.AGENT, ORDERS, 200),
        (Role.AGENT, "/api/v1/payments", 200),
        (Role.LEAD, "/api/v1/customers", 200),
        (Role.PAYMENTS, "/api/v1/shipments", 200),
        (Role.ADMIN, "/api/v1/payments", 200),
    ],
)
def test_permission_matrix(token_client, role, path, status):
    response = token_client(role).get(path)

    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "permission_denied"
        assert response.json()["details"]["required_permission"].startswith("commerce.view_")
