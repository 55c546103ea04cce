"""One navigation by role: every configuration page is linked from the main navigation or the
Settings index for every role that may open it, and never shown to a role that may not."""

import re

import pytest
from django.urls import reverse

from storedesk.accounts.roles import Role

# Every configuration (and reference) page of the desk, by URL name. Kept here by hand on
# purpose, apart from storedesk.core.navigation, so a page left out of the Settings index fails.
CONFIGURATION_PAGES = [
    "desk_templates:list",
    "desk_templates:search",
    "triage:departments",
    "triage:rules",
    "triage:playbooks",
    "triage:priority",
    "triage:sla",
    "triage:calendars",
    "triage:sla_report",
    "risk:rules",
    "risk:lists",
    "risk:digest",
    "risk:review",
    "accounts:preferences",
]
ROLES = [Role.AGENT, Role.LEAD, Role.PAYMENTS, Role.ADMIN]
_HREF = re.compile(r'href="([^"#?]*)[^"]*"')


def _links(html: str) -> set[str]:
    return {href for href in _HREF.findall(html) if href.startswith("/")}


def _main_nav(html: str) -> str:
    return html.split('<nav class="mainnav"')[1].split("</nav>")[0]


@pytest.fixture
def role_client(client, make_user, full_order):
    def sign_in(role: Role):
        client.force_login(make_user(role, username=f"nav-{role}"))
        return client

    return sign_in


@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_may_open_is_linked_and_no_other(role_client, role):
    client = role_client(role)
    home = client.get("/")
    settings_page = client.get("/settings/")
    assert settings_page.status_code == 200
    linked = _links(_main_nav(home.text)) | _links(settings_page.text.split("<main")[1])

    for name in CONFIGURATION_PAGES:
        url = reverse(name)
        may_open = client.get(url).status_code == 200
        assert (url in linked) == may_open, (name, role, may_open)


@pytest.mark.parametrize("role", ROLES)
def test_every_link_in_the_navigation_and_settings_opens_for_that_role(role_client, role):
    client = role_client(role)
    home = client.get("/")
    settings_page = client.get("/settings/")
    linked = _links(_main_nav(home.text)) | _links(settings_page.text.split("<main")[1])
    assert "/settings/" in linked
    for url in sorted(linked):
        assert client.get(url).status_code == 200, (url, role)


def test_an_agent_sees_only_the_desk_pages_and_a_lead_sees_the_setup(role_client):
    agent_page = role_client(Role.AGENT).get("/settings/").text
    assert 'data-testid="settings-desk"' in agent_page
    assert 'data-testid="settings-triage"' not in agent_page
    assert f'href="{reverse("triage:rules")}"' not in agent_page
    assert f'href="{reverse("risk:rules")}"' not in agent_page
    lead_page = role_client(Role.LEAD).get("/settings/").text
    for area in ("desk", "triage", "service_levels", "risk", "account"):
        assert f'data-testid="settings-{area}"' in lead_page
    assert "Full-text search over every ticket and message" in lead_page


@pytest.mark.parametrize("role", ROLES)
def test_the_triage_menu_shows_only_what_the_role_may_open(role_client, role):
    client = role_client(role)
    page = client.get(reverse("triage:departments"))
    menu = page.text.split('data-testid="triage-menu"')[1].split("</nav>")[0]
    for url in _links(menu):
        assert client.get(url).status_code == 200, (url, role)
    assert 'aria-current="page">Departments<' in menu
    assert ("/triage/" in _links(menu)) == (role in (Role.LEAD, Role.ADMIN))


def test_settings_needs_a_signed_in_user(client, db):
    response = client.get("/settings/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/settings/"
