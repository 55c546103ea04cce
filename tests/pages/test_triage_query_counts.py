"""Query counts of the triage set-up pages and department queues, pinned for a few rows and for
many: a page that grows a query per row fails here (the SLA report and the rule list are pinned
with their own tests). Each page is opened once before it is measured: the first request of
a test process does one-off work (a session write, a device check) that is no page's cost."""

import pytest
from django.test import Client
from django.utils import timezone

from storedesk.accounts.models import Team
from storedesk.accounts.roles import Role
from storedesk.triage.intents import Intent
from storedesk.triage.models import BusinessCalendar, Handoff, Playbook, SlaPolicy
from storedesk.triage.services import do_hand_off, do_refresh_sla
from tests.desk.builders import make_ticket

pytestmark = pytest.mark.django_db


def measured_get(client, url: str, assert_num_queries, expected: int):
    client.get(url)
    with assert_num_queries(expected):
        return client.get(url)


FEW, MANY = 1, 8


@pytest.fixture
def lead_client(make_user):
    client = Client()
    client.force_login(make_user(Role.LEAD, username="lead"))
    return client


def add_policies(count: int) -> None:
    calendar = BusinessCalendar.objects.order_by("pk").first()
    for n in range(count):
        SlaPolicy.objects.create(
            name=f"Extra {n}",
            position=200 + n,
            calendar=calendar,
            first_response_minutes=60,
            next_response_minutes=120,
            resolution_minutes=480,
        )


def add_at_risk_tickets(count: int) -> None:
    for _ in range(count):
        do_refresh_sla(make_ticket(at=timezone.now() - timezone.timedelta(days=30)))


@pytest.mark.parametrize("count", [FEW, MANY])
def test_sla_policies_page(lead_client, count, django_assert_num_queries):
    add_policies(count)
    add_at_risk_tickets(count)
    response = measured_get(lead_client, "/triage/sla/", django_assert_num_queries, 6)
    assert response.status_code == 200
    assert f"Extra {count - 1}" in response.text


def add_calendars(count: int) -> None:
    for n in range(count):
        BusinessCalendar.objects.create(name=f"Shift {n}", timezone="America/New_York")


@pytest.mark.parametrize("count", [FEW, MANY])
def test_calendar_list(lead_client, count, django_assert_num_queries):
    add_calendars(count)
    response = measured_get(lead_client, "/triage/calendars/", django_assert_num_queries, 5)
    assert response.status_code == 200
    assert f"Shift {count - 1}" in response.text


def test_calendar_page(lead_client, django_assert_num_queries):
    calendar = BusinessCalendar.objects.order_by("pk").first()
    response = measured_get(
        lead_client, f"/triage/calendars/{calendar.pk}/", django_assert_num_queries, 5
    )
    assert response.status_code == 200
    assert calendar.name in response.text


def set_playbooks(count: int) -> None:
    Playbook.objects.all().delete()
    for intent in Intent.values[:count]:
        Playbook.objects.create(
            intent=intent,
            title=f"Playbook for {intent}",
            steps=[{"key": "look", "text": "Look it up"}],
            updated_at=timezone.now(),
        )


@pytest.mark.parametrize("count", [FEW, MANY])
def test_playbook_list(lead_client, count, django_assert_num_queries):
    set_playbooks(count)
    response = measured_get(lead_client, "/triage/playbooks/", django_assert_num_queries, 5)
    assert response.status_code == 200
    assert response.text.count("Playbook for ") == count


def test_playbook_page(lead_client, django_assert_num_queries):
    set_playbooks(FEW)
    playbook = Playbook.objects.get()
    response = measured_get(
        lead_client, f"/triage/playbooks/{playbook.pk}/", django_assert_num_queries, 5
    )
    assert response.status_code == 200
    assert playbook.title in response.text


def hand_off(count: int, agent) -> Team:
    """`count` tickets handed off to Payments, and one to each other team."""
    payments = Team.objects.get(slug="payments")
    for _ in range(count):
        do_hand_off(make_ticket(), to_team=payments, summary="Charged twice", actor=agent)
    for team in Team.objects.exclude(pk=payments.pk):
        do_hand_off(make_ticket(), to_team=team, summary="Have a look", actor=agent)
    return payments


@pytest.mark.parametrize("count", [FEW, MANY])
def test_departments(agent_client, agent, count, django_assert_num_queries):
    payments = hand_off(count, agent)
    response = measured_get(agent_client, "/triage/departments/", django_assert_num_queries, 6)
    assert response.status_code == 200
    assert Handoff.objects.filter(to_team=payments).count() == count


@pytest.mark.parametrize("count", [FEW, MANY])
def test_department_queue(agent_client, agent, count, django_assert_num_queries):
    payments = hand_off(count, agent)
    response = measured_get(
        agent_client, f"/triage/departments/{payments.slug}/", django_assert_num_queries, 7
    )
    assert response.status_code == 200
    assert response.text.count("Charged twice") == count


def test_preferences_page(agent_client, django_assert_num_queries):
    response = measured_get(agent_client, "/accounts/preferences/", django_assert_num_queries, 5)
    assert response.status_code == 200
