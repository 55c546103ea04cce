import pytest
from django.test import Client
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.accounts.services import do_create_api_token


@pytest.fixture
def token_client(make_user):
    """A client sending a fresh bearer token of a user with `role` (last use already recorded,
    so query counts show the steady state, not the first-use write)."""

    def make(role: Role | None = Role.AGENT, **user_kwargs) -> Client:
        user = make_user(role, **user_kwargs)
        token, raw_key = do_create_api_token(user, name="tests")
        token.last_used_at = timezone.now()
        token.save(update_fields=["last_used_at"])
        client = Client(headers={"Authorization": f"Bearer {raw_key}"})
        client.user, client.token, client.raw_key = user, token, raw_key
        return client

    return make


@pytest.fixture
def agent_api(token_client):
    return token_client(Role.AGENT, username="agent-api")


@pytest.fixture
def payments_api(token_client):
    return token_client(Role.PAYMENTS, username="payments-api")
