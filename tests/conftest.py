import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from storedesk.accounts.roles import Role
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: nothing counted or throttled by another test."""
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts and ends in the site's default language: a request through
    LocaleMiddleware or a test that activates Vietnamese can never leak it into the next test."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def make_user(db):
    """A user holding the given role (the role's group, synced by migrate)."""

    def make(role: Role | None = Role.AGENT, **kwargs):
        return UserFactory(roles=[role] if role else [], **kwargs)

    return make


@pytest.fixture
def agent(make_user):
    return make_user(Role.AGENT, username="agent")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client
