"""Desk API: tickets list/create/update, search, messages, reply and note, templates render."""

import pytest

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.desk.models import Message, ReplyTemplate, Ticket
from storedesk.desk.replies import do_create_template
from storedesk.desk.services import (
    InboundMessage,
    do_link_orders,
    do_open_ticket,
    do_receive_message,
    do_set_tags,
)
from tests.factories import CustomerFactory, OrderFactory

AUTH = 3  # token+user, user permissions, group permissions


def ticket_with(text="Where is my ring?", *, channel="email", email="emma@mail.example"):
    ticket = do_open_ticket(channel=channel, requester_email=email, subject="My ring")
    do_receive_message(ticket, InboundMessage(channel=channel, from_email=email, text=text))
    return ticket


@pytest.fixture
def lead_api(token_client):
    return token_client(Role.LEAD, username="lead-api")


def test_list_filters_and_pages_with_a_cursor(agent_api):
    tickets = [ticket_with(channel="chat" if i % 2 else "email") for i in range(5)]
    do_set_tags(tickets[0], ["vip"], actor=None)
    first = agent_api.get("/api/v1/tickets", {"limit": 2})
    assert first.status_code == 200, first.content
    body = first.json()
    assert [t["number"] for t in body["items"]] == [tickets[4].number, tickets[3].number]
    second = agent_api.get("/api/v1/tickets", {"limit": 2, "cursor": body["next_cursor"]})
    assert [t["number"] for t in second.json()["items"]] == [tickets[2].number, tickets[1].number]
    chat = agent_api.get("/api/v1/tickets", {"channel": "chat"}).json()["items"]
    assert {t["number"] for t in chat} == {tickets[1].number, tickets[3].number}
    vip = agent_api.get("/api/v1/tickets", {"tag": "vip"}).json()["items"]
    assert [(t["number"], t["tags"]) for t in vip] == [(tickets[0].number, ["vip"])]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"status": "lost"}, 422, "validation_error"),
        ({"channel": "fax"}, 422, "validation_error"),
        ({"cursor": "forged"}, 400, "invalid_cursor"),
        ({"created_after": "2026-05-01", "created_before": "2026-04-01"}, 400, "bad_request"),
    ],
)
def test_bad_list_parameters_are_clear_errors(agent_api, params, status, code):
    response = agent_api.get("/api/v1/tickets", params)
    assert response.status_code == status
    assert response.json()["code"] == code


def test_list_query_count_does_not_grow_with_rows(agent_api, django_assert_num_queries):
    for _ in range(4):
        ticket = ticket_with()
        do_set_tags(ticket, ["a", "b"], actor=None)
        do_link_orders(ticket, [OrderFactory()], actor=None)
    # tickets with assignee/team/follow-up, tags, orders
    with django_assert_num_queries(AUTH + 3):
        assert len(agent_api.get("/api/v1/tickets").json()["items"]) == 4


def test_search_ranks_words_and_matches_order_numbers(agent_api):
    order = OrderFactory(number="#TP30001", number_key="TP30001")
    linked = ticket_with("hello")
    do_link_orders(linked, [order], actor=None)
    worded = ticket_with("the clasp of my bracelet broke")
    found = agent_api.get("/api/v1/tickets/search", {"q": "bracelet clasp"}).json()
    assert [t["number"] for t in found["items"]] == [worded.number]
    by_order = agent_api.get("/api/v1/tickets/search", {"q": "#TP30001"}).json()
    assert [t["number"] for t in by_order["items"]] == [linked.number]
    assert agent_api.get("/api/v1/tickets/search", {"q": ""}).status_code == 422


def test_create_ticket_stores_the_first_message_and_links_orders(agent_api):
    customer = CustomerFactory(email="noah@mail.example")
    OrderFactory(customer=customer, store=customer.store, number="#TP30002", number_key="TP30002")
    response = agent_api.post(
        "/api/v1/tickets",
        {
            "requester_email": "Noah@Mail.example",
            "requester_name": "Noah",
            "subject": "Called about sizing",
            "text": "Customer called: ring too small.",
            "order_numbers": ["#TP30002"],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["channel"], body["requester_email"], body["orders"]) == (
        "api",
        "noah@mail.example",
        ["#TP30002"],
    )
    assert body["customer_id"] == customer.pk
    ticket = Ticket.objects.get(number=body["number"])
    assert ticket.messages.get().text == "Customer called: ring too small."


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"requester_email": "not-an-email", "text": "x"}, 422),
        ({"requester_email": "a@mail.example", "text": ""}, 422),
        ({"requester_email": "a@mail.example", "text": "x", "order_numbers": ["#TP1"]}, 422),
        ({"requester_email": "a@mail.example", "text": "x", "channel": "pigeon"}, 422),
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(agent_api, payload, status):
    response = agent_api.post("/api/v1/tickets", payload, content_type="application/json")
    assert response.status_code == status, response.content
    assert response.json()["code"] in ("refused", "validation_error")
    assert not Ticket.objects.exists()


def test_update_changes_status_priority_assignee_and_tags_with_audit(agent_api, make_user):
    ticket = ticket_with()
    colleague = make_user(Role.AGENT, username="mai")
    response = agent_api.patch(
        f"/api/v1/tickets/{ticket.number}",
        {"status": "pending", "priority": 4, "assignee_id": colleague.pk, "tags": ["Angry"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["assignee"], body["tags"]) == (
        "pending",
        4,
        "mai",
        ["angry"],
    )
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"desk.status_changed", "desk.priority_changed", "desk.assigned"} <= actions
    unassigned = agent_api.patch(
        f"/api/v1/tickets/{ticket.number}", {"assignee_id": None}, content_type="application/json"
    )
    assert unassigned.json()["assignee"] is None


def test_update_refuses_unknown_assignee_and_ticket(agent_api, make_user):
    ticket = ticket_with()
    outsider = make_user(None, username="nobody")
    bad = agent_api.patch(
        f"/api/v1/tickets/{ticket.number}",
        {"assignee_id": outsider.pk},
        content_type="application/json",
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "refused")
    missing = agent_api.patch("/api/v1/tickets/999999", {}, content_type="application/json")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_reply_is_idempotent_and_note_is_internal(agent_api):
    ticket = ticket_with()
    payload = {"text": "It ships today!", "status": "pending", "idempotency_key": "k-1"}
    first = agent_api.post(
        f"/api/v1/tickets/{ticket.number}/reply", payload, content_type="application/json"
    )
    again = agent_api.post(
        f"/api/v1/tickets/{ticket.number}/reply", payload, content_type="application/json"
    )
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["kind"] == "outbound"
    assert first.json()["author"] == "agent-api"
    ticket.refresh_from_db()
    assert ticket.status == "pending"
    note = agent_api.post(
        f"/api/v1/tickets/{ticket.number}/notes",
        {"text": "VIP, be generous"},
        content_type="application/json",
    )
    assert (note.status_code, note.json()["kind"], note.json()["delivery"]) == (
        201,
        "note",
        "none",
    )
    messages = agent_api.get(f"/api/v1/tickets/{ticket.number}/messages").json()["items"]
    assert [m["kind"] for m in messages] == ["inbound", "outbound", "note"]
    assert Message.objects.filter(ticket=ticket).count() == 3


def test_reply_with_a_template_counts_its_use(agent_api):
    ticket = ticket_with()
    template = do_create_template(name="Thanks", category="general", subject="", body="Thanks!")
    response = agent_api.post(
        f"/api/v1/tickets/{ticket.number}/reply",
        {"text": "Thanks!", "template_id": template.pk},
        content_type="application/json",
    )
    assert response.json()["template_id"] == template.pk
    template.refresh_from_db()
    assert template.usage_count == 1


def test_templates_list_and_render_with_missing_values(agent_api):
    ReplyTemplate.objects.all().delete()
    template = do_create_template(
        name="Coupon",
        category="angry",
        subject="For {{ first_name }}",
        body="Hi {{ first_name }}, use {{ coupon_code }} for <b>10%</b>.",
    )
    ticket = do_open_ticket(channel="email", requester_email="x@mail.example", requester_name="Ann")
    listed = agent_api.get("/api/v1/templates", {"category": "angry"}).json()["items"]
    assert [t["name"] for t in listed] == ["Coupon"]
    url = f"/api/v1/templates/{template.pk}/render"
    preview = agent_api.post(url, {"ticket_number": ticket.number}, content_type="application/json")
    assert preview.status_code == 200, preview.content
    assert preview.json()["missing"] == ["coupon_code"]
    assert preview.json()["text"] == "Hi Ann, use [[coupon_code]] for <b>10%</b>."
    filled = agent_api.post(
        url,
        {"ticket_number": ticket.number, "extra": {"coupon_code": "SORRY10"}},
        content_type="application/json",
    ).json()
    assert (filled["subject"], filled["missing"]) == ("For Ann", [])
    assert "&lt;b&gt;10%&lt;/b&gt;" in filled["html"]
    bad = agent_api.post(
        url,
        {"ticket_number": ticket.number, "extra": {"secret": "x"}},
        content_type="application/json",
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "refused")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/tickets"),
        ("post", "/api/v1/tickets"),
        ("get", "/api/v1/templates"),
    ],
)
def test_callers_without_desk_permissions_are_refused(token_client, method, path):
    client = token_client(None, username="no-role")
    payload = {"requester_email": "a@mail.example", "text": "x"} if method == "post" else None
    response = getattr(client, method)(path, payload, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_callers_get_401(client, db):
    assert client.get("/api/v1/tickets").status_code == 401


def test_openapi_lists_the_desk_endpoints(agent_api):
    paths = agent_api.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/tickets",
        "/api/v1/tickets/search",
        "/api/v1/tickets/{number}",
        "/api/v1/tickets/{number}/messages",
        "/api/v1/tickets/{number}/reply",
        "/api/v1/tickets/{number}/notes",
        "/api/v1/templates",
        "/api/v1/templates/{template_id}/render",
    ):
        assert path in paths, path


def test_a_reply_with_an_unfilled_placeholder_is_refused_with_its_names(agent_api):
    ticket = ticket_with()
    response = agent_api.post(
        f"/api/v1/tickets/{ticket.number}/reply",
        {"text": "It is on its way with [[carrier]]: [[tracking_link]]"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json() == {
        "code": "unfilled_placeholder",
        "message": "Fill in before sending: [[carrier]], [[tracking_link]].",
        "details": {"placeholders": ["carrier", "tracking_link"]},
    }
    assert not Message.objects.filter(ticket=ticket, kind="outbound").exists()
