"""Query counts of the desk's and triage's API reads, pinned exactly and parametrised by row
count so an N+1 (a query per ticket, message, attachment, tag, order or version) fails.

A bearer request costs AUTH queries before the endpoint's own (see test_query_counts.py).
"""

import pytest

from storedesk.accounts.roles import Role
from storedesk.desk.models import ReplyTemplate
from storedesk.desk.replies import do_create_template
from storedesk.desk.services import (
    AttachmentIn,
    InboundMessage,
    do_add_note,
    do_link_orders,
    do_open_ticket,
    do_receive_message,
    do_reply,
    do_set_tags,
)
from storedesk.triage.priority import DEFAULT_WEIGHTS
from storedesk.triage.services import do_refresh_sla, do_save_priority_weights
from tests.desk.builders import make_ticket
from tests.factories import OrderFactory
from tests.triage.workflow_helpers import hanoi

pytestmark = pytest.mark.django_db

AUTH = 3  # token+user, user permissions, group permissions
# the store (order numbers), the full-text hits, the page's tickets, the same tickets with
# assignee and team, their tags, their orders
SEARCH_QUERIES = 6
WEIGHTS_QUERIES = 1  # the newest saved version with who saved it
# the default calendar, first-response and resolution minutes per group (the percentiles),
# the counts per group
SLA_QUERIES = 4


@pytest.fixture
def lead_api(token_client):
    return token_client(Role.LEAD, username="lead-api")


def _ticket(n: int, *, rows: int, agent=None, text="Where is my ring?"):
    """A ticket with `rows` customer messages (each with an attachment), tags and orders."""
    email = f"buyer{n}@mail.example"
    ticket = do_open_ticket(channel="email", requester_email=email, subject=f"My ring {n}")
    for m in range(rows):
        photo = AttachmentIn(f"photo{m}.jpg", "image/jpeg", b"\xff\xd8 a photo")
        message = InboundMessage(channel="email", from_email=email, text=f"{text} {m}")
        message.attachments = [photo]
        do_receive_message(ticket, message)
    do_set_tags(ticket, [f"tag{t}" for t in range(rows)], actor=None)
    do_link_orders(ticket, [OrderFactory() for _ in range(rows)], actor=None)
    if agent is not None:
        for m in range(rows):
            do_reply(ticket, author=agent, text=f"On its way {m}")
            do_add_note(ticket, author=agent, text=f"Checked the carrier {m}")
    return ticket


@pytest.mark.parametrize("rows", [1, 5])
def test_one_ticket_costs_a_fixed_number_of_queries(agent_api, django_assert_num_queries, rows):
    ticket = _ticket(1, rows=rows)

    # the ticket with assignee and team, its tags, its orders
    with django_assert_num_queries(AUTH + 3):
        response = agent_api.get(f"/api/v1/tickets/{ticket.number}")

    assert response.status_code == 200
    assert len(response.json()["tags"]) == rows


@pytest.mark.parametrize("rows", [1, 5])
def test_a_conversation_costs_a_fixed_number_of_queries(agent_api, django_assert_num_queries, rows):
    ticket = _ticket(1, rows=rows, agent=agent_api.user)

    # the ticket's key, the messages with their authors, their attachments
    with django_assert_num_queries(AUTH + 3):
        response = agent_api.get(f"/api/v1/tickets/{ticket.number}/messages")

    assert response.status_code == 200
    assert len(response.json()["items"]) == 3 * rows


@pytest.mark.parametrize("rows", [1, 6])
def test_search_costs_a_fixed_number_of_queries(agent_api, django_assert_num_queries, rows):
    for n in range(rows):
        _ticket(n, rows=2, text="Where is my sapphire ring?")

    with django_assert_num_queries(AUTH + SEARCH_QUERIES):
        response = agent_api.get("/api/v1/tickets/search", {"q": "sapphire"})

    assert response.status_code == 200
    assert len(response.json()["items"]) == rows


@pytest.mark.parametrize("rows", [1, 8])
def test_templates_cost_one_query(agent_api, django_assert_num_queries, rows):
    for n in range(rows):
        do_create_template(
            name=f"Shipping {n}",
            category="where_is_my_order",
            subject="Your order",
            body="It ships.",
        )

    with django_assert_num_queries(AUTH + 1):
        response = agent_api.get("/api/v1/templates")

    assert response.status_code == 200
    assert len(response.json()["items"]) == ReplyTemplate.objects.filter(is_active=True).count()


@pytest.mark.parametrize("versions", [0, 4])
def test_the_priority_weights_cost_a_fixed_number_of_queries(
    lead_api, django_assert_num_queries, versions
):
    for n in range(versions):
        do_save_priority_weights(DEFAULT_WEIGHTS | {"vip": n}, actor=lead_api.user)

    with django_assert_num_queries(AUTH + WEIGHTS_QUERIES):
        response = lead_api.get("/api/v1/triage/priority-weights")

    assert response.status_code == 200


@pytest.mark.parametrize("tickets", [1, 9])
@pytest.mark.parametrize("group", ["policy", "priority", "channel"])
def test_the_sla_report_costs_a_fixed_number_of_queries(
    lead_api, django_assert_num_queries, tickets, group
):
    for n in range(tickets):
        ticket = make_ticket(at=hanoi(2026, 6, 3, 9, n), requester=f"buyer{n}@mail.example")
        do_refresh_sla(ticket, now=hanoi(2026, 6, 3, 10, n))

    with django_assert_num_queries(AUTH + SLA_QUERIES):
        response = lead_api.get(
            "/api/v1/triage/sla-report", {"from": "2026-06-01", "to": "2026-06-08", "group": group}
        )

    assert response.status_code == 200, response.content
