"""Triage pages: rules editor (test against past tickets, errors without a 500), SLA policies,
calendars, playbooks, departments, the ticket panel and the SLA-at-risk inbox view."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from storedesk.accounts.models import Team
from storedesk.accounts.roles import Role
from storedesk.desk.models import Ticket
from storedesk.triage.models import Handoff, PlaybookStep, RoutingRule, SlaPolicy
from storedesk.triage.services import do_refresh_sla, do_save_rule
from tests.desk.builders import make_ticket
from tests.triage.workflow_helpers import analyse

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(make_user):
    return make_user(Role.LEAD, username="lead")


@pytest.fixture
def lead_client(lead):
    client = Client()
    client.force_login(lead)
    return client


def rules(lead, count):
    for n in range(count):
        do_save_rule(
            None, actor=lead, name=f"Rule {n}", condition=":has_order:", actions=f"tag r{n}"
        )


@pytest.mark.parametrize("count", [1, 12])
def test_rule_list_query_count_does_not_grow(lead_client, lead, count, django_assert_num_queries):
    rules(lead, count)
    with django_assert_num_queries(6):
        response = lead_client.get("/triage/")
    assert response.status_code == 200
    assert response.text.count('data-testid="rule-row"') == count


def test_agents_cannot_open_rules(agent_client):
    assert agent_client.get("/triage/").status_code == 403
    assert agent_client.get("/triage/sla/").status_code == 403


def test_creating_a_rule_and_a_syntax_error_shown_not_saved(lead_client):
    response = lead_client.post(
        "/triage/rules/new/",
        {"name": "Bad", "condition": ":intent: = ", "actions": "tag x", "do": "save"},
    )
    assert response.status_code == 400
    assert "When, column" in response.text
    assert not RoutingRule.objects.exists()
    response = lead_client.post(
        "/triage/rules/new/",
        {
            "name": "WISMO",
            "condition": ":intent: = 'order_status'",
            "actions": "wismo",
            "is_active": "1",
            "do": "save",
        },
    )
    assert response.status_code == 302
    assert RoutingRule.objects.get().parsed_actions == [{"action": "wismo"}]


def test_testing_a_rule_against_past_tickets_saves_nothing(lead_client):
    for n in range(3):
        ticket = make_ticket(requester=f"c{n}@mail.example", at=timezone.now())
        if n:
            analyse(ticket.messages.get(), "order_status")
    response = lead_client.post(
        "/triage/rules/new/",
        {"name": "T", "condition": ":intent: = 'order_status'", "actions": "tag x", "do": "test"},
    )
    assert response.status_code == 200
    assert "would have matched 2 tickets of the last 3" in response.text
    assert not RoutingRule.objects.exists()


def test_sla_policy_edit_with_bad_input_is_a_400(lead_client):
    policy = SlaPolicy.objects.get(name="Standard")
    bad = {"policy": policy.pk, "first_response_minutes": "abc", "next_response_minutes": "1"}
    response = lead_client.post("/triage/sla/", bad | {"resolution_minutes": "10"})
    assert response.status_code == 400
    good = {"policy": policy.pk, "first_response_minutes": "120", "next_response_minutes": "200"}
    response = lead_client.post(
        "/triage/sla/", good | {"resolution_minutes": "900", "warn_before_minutes": "30"}
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.first_response_minutes == 120


def test_calendar_page_lists_tet_and_refuses_bad_shifts(lead_client):
    calendar = SlaPolicy.objects.first().calendar
    response = lead_client.get(f"/triage/calendars/{calendar.pk}/")
    assert response.status_code == 200
    assert "Lunar New Year" in response.text or "Tết" in response.text
    response = lead_client.post(
        f"/triage/calendars/{calendar.pk}/",
        {
            "name": calendar.name,
            "timezone": "Asia/Ho_Chi_Minh",
            "working_days": ["0"],
            "hours": "17:00-08:00",
            "holiday_country": "VN",
        },
    )
    assert response.status_code == 400
    assert "must end after it starts" in response.text


def test_playbook_pages(lead_client):
    assert lead_client.get("/triage/playbooks/").status_code == 200
    assert (
        lead_client.post(
            "/triage/playbooks/new/", {"intent": "damaged", "title": "Dup", "steps": "x"}
        ).status_code
        == 400
    )


def test_ticket_panel_shows_clocks_reasons_checklist_and_hands_off(
    agent_client, django_assert_max_num_queries
):
    ticket = make_ticket(at=timezone.now())
    analyse(ticket.messages.get(), "delivered_not_received")
    do_refresh_sla(ticket)
    with django_assert_max_num_queries(14):
        response = agent_client.get(f"/triage/tickets/{ticket.number}/panel/")
    assert response.status_code == 200
    assert 'data-testid="sla-clocks"' in response.text
    assert response.text.count('data-testid="playbook-step"') == 5
    response = agent_client.post(
        f"/triage/tickets/{ticket.number}/playbook/", {"step": "tracking", "status": "done"}
    )
    assert response.status_code == 200
    assert PlaybookStep.objects.get().status == "done"
    bad = agent_client.post(
        f"/triage/tickets/{ticket.number}/playbook/", {"step": "x", "status": "done"}
    )
    assert bad.status_code == 400
    payments = Team.objects.get(slug="payments")
    response = agent_client.post(
        f"/triage/tickets/{ticket.number}/handoff/",
        {"team": payments.pk, "summary": "Chargeback threat"},
    )
    assert response.status_code == 200
    assert Handoff.objects.get().to_team == payments
    assert (
        agent_client.post(f"/triage/tickets/{ticket.number}/handoff/", {"team": "x"}).status_code
        == 400
    )
    queue = agent_client.get("/triage/departments/payments/")
    assert "Chargeback threat" in queue.text


def test_sla_at_risk_inbox_view(agent_client):
    soon = make_ticket(at=timezone.now() - timedelta(days=10), requester="late@mail.example")
    fresh = make_ticket(at=timezone.now(), requester="new@mail.example")
    do_refresh_sla(soon)
    do_refresh_sla(fresh)
    response = agent_client.get("/desk/", {"view": "sla_at_risk"})
    assert response.status_code == 200
    assert f"/desk/tickets/{soon.number}/" in response.text
    assert f"/desk/tickets/{fresh.number}/" not in response.text
    assert Ticket.objects.count() == 2
