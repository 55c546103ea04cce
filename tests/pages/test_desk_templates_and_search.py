"""The reply-template library (list, detail with versions and diff, propose, decide) and the
desk search page; query counts pinned."""

import pytest
from django.test import Client

from storedesk.accounts.roles import Role
from storedesk.desk.models import ReplyTemplate, ReplyTemplateVersion
from storedesk.desk.replies import do_create_template, do_propose_template_edit
from storedesk.desk.services import InboundMessage, do_open_ticket, do_receive_message
from tests.factories import OrderFactory


@pytest.fixture
def lead_client(make_user):
    client = Client()
    client.force_login(make_user(Role.LEAD, username="lead"))
    return client


@pytest.fixture
def template(db):
    return do_create_template(
        name="Sizing help",
        category="product",
        subject="Your size",
        body="Hi {{ first_name }},\nTry a jeweler.\nBye",
    )


def test_library_lists_templates_by_category_with_usage(agent_client, template):
    ReplyTemplate.objects.filter(pk=template.pk).update(usage_count=7)
    response = agent_client.get("/desk/templates/")
    assert response.status_code == 200
    html = response.text
    assert "Sizing help" in html
    assert 'data-category="product"' in html
    assert '<td class="num" data-testid="usage">7</td>' in html
    only = agent_client.get("/desk/templates/", {"category": "warranty"}).text
    assert "Sizing help" not in only


def test_library_query_count_is_fixed(agent_client, template, django_assert_num_queries):
    for i in range(5):
        do_create_template(name=f"T{i}", category="refund", subject="", body="Hi")
    # session, user, permissions (2), templates page count, templates
    with django_assert_num_queries(6):
        assert agent_client.get("/desk/templates/").status_code == 200


def test_agent_proposes_and_lead_sees_the_diff_and_approves(
    agent_client, lead_client, template, agent
):
    response = agent_client.post(
        f"/desk/templates/{template.pk}/propose/",
        {"subject": "Your size", "body": "Hi {{ first_name }},\nVisit a jeweler.\nBye", "note": ""},
    )
    assert response.status_code == 302
    proposal = ReplyTemplateVersion.objects.get(status="proposed")
    assert proposal.proposed_by == agent
    page = lead_client.get(f"/desk/templates/{template.pk}/").text
    assert "<del>Try a jeweler.</del>" in page
    assert "<ins>Visit a jeweler.</ins>" in page
    assert 'value="approve"' in page
    assert 'value="approve"' not in agent_client.get(f"/desk/templates/{template.pk}/").text
    forbidden = agent_client.post(
        f"/desk/templates/{template.pk}/versions/{proposal.pk}/decide/", {"decision": "approve"}
    )
    assert forbidden.status_code == 403
    decided = lead_client.post(
        f"/desk/templates/{template.pk}/versions/{proposal.pk}/decide/", {"decision": "approve"}
    )
    assert decided.status_code == 302
    template.refresh_from_db()
    assert (template.version, template.body) == (2, "Hi {{ first_name }},\nVisit a jeweler.\nBye")


def test_a_bad_proposal_shows_why_and_changes_nothing(agent_client, template):
    response = agent_client.post(
        f"/desk/templates/{template.pk}/propose/", {"subject": "", "body": "Hi {{ frist_name }}"}
    )
    assert response.status_code == 400
    assert "Unknown variable: frist_name" in response.text
    assert not ReplyTemplateVersion.objects.filter(status="proposed").exists()


def test_lead_rejects_with_a_note(lead_client, template, agent):
    proposal = do_propose_template_edit(template, author=agent, subject="", body="Yo")
    lead_client.post(
        f"/desk/templates/{template.pk}/versions/{proposal.pk}/decide/",
        {"decision": "reject", "note": "Too casual"},
    )
    proposal.refresh_from_db()
    assert (proposal.status, proposal.note) == ("rejected", "Too casual")


def test_preview_lists_missing_values_and_escapes(agent_client, template):
    ticket = do_open_ticket(
        channel="email", requester_email="x@mail.example", requester_name="<b>Ann</b>"
    )
    page = agent_client.get(f"/desk/templates/{template.pk}/", {"ticket": ticket.number}).text
    assert "Hi &lt;b&gt;Ann&lt;/b&gt;," in page
    nobody = do_open_ticket(channel="email", requester_email="y@mail.example")
    missing = agent_client.get(f"/desk/templates/{template.pk}/", {"ticket": nobody.number}).text
    assert "[[first_name]]" in missing
    assert 'data-testid="missing"' in missing
    unknown = agent_client.get(f"/desk/templates/{template.pk}/", {"ticket": "99999x"})
    assert "No ticket number 99999X." in unknown.text


def test_detail_query_count_is_fixed(agent_client, template, agent, django_assert_num_queries):
    for i in range(3):
        do_propose_template_edit(template, author=agent, subject="", body=f"Version {i}")
    # session, user, permissions (2), template, versions count, versions
    with django_assert_num_queries(7):
        assert agent_client.get(f"/desk/templates/{template.pk}/").status_code == 200


def test_unknown_template_is_404(agent_client, db):
    assert agent_client.get("/desk/templates/999999/").status_code == 404


def test_search_page_finds_tickets_messages_and_orders(agent_client, db):
    order = OrderFactory(number="#TP40001", number_key="TP40001")
    ticket = do_open_ticket(channel="email", requester_email="emma@mail.example", subject="Opal")
    do_receive_message(
        ticket,
        InboundMessage(channel="email", from_email="emma@mail.example", text="my opal <i>ring</i>"),
    )
    response = agent_client.get("/desk/search/", {"q": "opal"})
    assert response.status_code == 200
    html = response.text
    assert 'data-kind="tickets"' in html
    assert ticket.token in html
    assert "my <mark>opal</mark> &lt;i&gt;ring&lt;/i&gt;" in html
    orders = agent_client.get("/desk/search/", {"q": "#TP40001"}).text
    assert f'href="/orders/{order.pk}/"' in orders
    none = agent_client.get("/desk/search/", {"q": "unobtainium"}).text
    assert "Nothing matches “unobtainium”." in none


def test_search_page_filters_and_bad_input(agent_client, db):
    ticket = do_open_ticket(channel="chat", requester_email="emma@mail.example", subject="Opal")
    found = agent_client.get("/desk/search/", {"q": "opal", "channel": "chat", "kind": "tickets"})
    assert ticket.token in found.text
    other = agent_client.get("/desk/search/", {"q": "opal", "channel": "email"})
    assert ticket.token not in other.text
    bad = agent_client.get("/desk/search/", {"q": "opal", "status": "lost", "date_from": "x"})
    assert bad.status_code == 400
    reversed_dates = agent_client.get(
        "/desk/search/", {"q": "opal", "date_from": "2026-05-02", "date_to": "2026-05-01"}
    )
    assert "the start date must be before the end date" in reversed_dates.text


def test_search_page_query_count_is_fixed(agent_client, db, django_assert_max_num_queries):
    for i in range(6):
        ticket = do_open_ticket(channel="email", requester_email=f"c{i}@mail.example", subject="x")
        do_receive_message(
            ticket, InboundMessage(channel="email", from_email=ticket.requester_email, text="ring")
        )
    # session, user, perms (2), store, tickets (rank, rows), messages (rank, rows),
    # customers, orders (tracking lookup, rows)
    with django_assert_max_num_queries(12):
        assert agent_client.get("/desk/search/", {"q": "ring"}).status_code == 200


def test_search_and_library_need_a_desk_role(client, make_user):
    client.force_login(make_user(None, username="nobody"))
    assert client.get("/desk/search/").status_code == 403
    assert client.get("/desk/templates/").status_code == 403
