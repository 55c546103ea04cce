"""Chat: a visitor starts, writes and reads replies (poll and server-sent events); the secret token
is required; offline visitors leave an email; cross-site rules and rate limits hold."""

import json

import pytest
from django.core.cache import cache

from storedesk.desk import chat, live
from storedesk.desk.models import ChatSession, Message, Participant, Ticket
from storedesk.desk.services import do_add_note, do_merge, do_open_ticket, do_reply
from storedesk.desk.views import public as public_views
from tests.factories import CustomerFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

STORE_SITE = "https://shop.tinypearl.example"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Presence and rate limits live in the cache: each test starts without them."""
    settings.DESK_WIDGET_ORIGINS = [STORE_SITE]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def short_streams(monkeypatch):
    monkeypatch.setattr(live, "STREAM_SECONDS", 0.3)
    monkeypatch.setattr(live, "POLL_SECONDS", 0.05)


def post(client, name, data, token=None, origin=STORE_SITE):
    headers = {"Origin": origin} if origin else {}
    if token:
        headers["X-Chat-Token"] = token
    return client.post(
        f"/help/chat/{name}", json.dumps(data), content_type="application/json", headers=headers
    )


def get(client, path, token=None, origin=STORE_SITE):
    headers = {"Origin": origin} if origin else {}
    if token:
        headers["X-Chat-Token"] = token
    return client.get(f"/help/chat/{path}", headers=headers)


def start(client, text="Hi, is the moonstone ring real silver?", **extra):
    response = post(client, "start", {"text": text, "page_url": f"{STORE_SITE}/rings"} | extra)
    assert response.status_code == 201, response.content
    return response.json()


def sse_events(response) -> list[dict]:
    """The `message` events of a finished stream."""
    body = b"".join(response.streaming_content).decode()
    return [
        json.loads(block.split("data: ", 1)[1])
        for block in body.split("\n\n")
        if "event: message" in block
    ]


def test_start_opens_a_chat_ticket_with_the_first_message(client):
    store = StoreFactory(slug="tiny-pearl")
    customer = CustomerFactory(store=store, email="ava@mail.example")
    data = start(client, name="Ava", email="Ava@mail.example", store="tiny-pearl")

    session = ChatSession.objects.get(token=data["token"])
    ticket = session.ticket
    assert data["ticket"] == ticket.token
    assert (ticket.channel, ticket.status, ticket.store, ticket.customer) == (
        "chat",
        "new",
        store,
        customer,
    )
    assert ticket.subject == "Chat: Hi, is the moonstone ring real silver?"
    assert session.page_url == f"{STORE_SITE}/rings"
    assert len(data["token"]) >= 40
    assert data["messages"] == [
        {
            "id": ticket.messages.get().pk,
            "author": "",
            "from_visitor": True,
            "text": "Hi, is the moonstone ring real silver?",
            "at": ticket.messages.get().created_at.isoformat(),
        }
    ]
    assert data["agents_online"] is False


def test_status_says_whether_an_agent_was_in_the_desk_lately(client):
    assert get(client, "status").json()["agents_online"] is False
    chat.mark_agent_present(UserFactory())
    data = get(client, "status").json()
    assert data["agents_online"] is True
    assert data["stylesheet"].endswith("/static/css/chat-widget.css")


def test_visitor_messages_and_agent_replies_but_never_notes(client):
    data = start(client)
    token = data["token"]
    assert post(client, "send", {"text": "Also, do you ship to Hawaii?"}, token).status_code == 201
    ticket = ChatSession.objects.get(token=token).ticket
    agent = UserFactory(first_name="Mai", last_name="")
    do_add_note(ticket, author=agent, text="Check the Hawaii surcharge")
    answer = do_reply(ticket, author=agent, text="Yes! Shipping to Hawaii is free.")

    lines = get(client, f"messages?after={data['messages'][0]['id']}", token).json()["messages"]

    assert [(line["from_visitor"], line["text"]) for line in lines] == [
        (True, "Also, do you ship to Hawaii?"),
        (False, "Yes! Shipping to Hawaii is free."),
    ]
    assert lines[1]["id"] == answer.pk
    assert lines[1]["author"] == answer.from_name
    assert "Hawaii surcharge" not in json.dumps(lines)


def test_events_stream_delivers_a_reply_written_while_it_is_open(client):
    data = start(client)
    token, first = data["token"], data["messages"][0]["id"]
    ticket = ChatSession.objects.get(token=token).ticket
    response = get(client, f"events?after={first}", token)
    assert response["Content-Type"] == "text/event-stream"
    assert response["Access-Control-Allow-Origin"] == STORE_SITE
    stream = iter(response.streaming_content)
    assert next(stream) == b"retry: 1000\n\n"

    reply = do_reply(ticket, author=UserFactory(), text="Hello from the desk!")
    body = b"".join(stream).decode()

    assert f"id: {reply.pk}\nevent: message\n" in body
    assert "Hello from the desk!" in body


def test_events_resume_from_last_event_id(client):
    data = start(client)
    token = data["token"]
    ticket = ChatSession.objects.get(token=token).ticket
    first = do_reply(ticket, author=UserFactory(), text="One")
    second = do_reply(ticket, author=UserFactory(), text="Two")
    response = client.get(
        "/help/chat/events", headers={"X-Chat-Token": token, "Last-Event-ID": str(first.pk)}
    )
    assert [event["id"] for event in sse_events(response)] == [second.pk]


@pytest.mark.parametrize("token", ["", "not-a-real-token", "x" * 200])
@pytest.mark.parametrize(
    ("method", "path"), [("post", "send"), ("get", "messages"), ("get", "events")]
)
def test_the_token_is_required(client, token, method, path):
    start(client)
    if method == "post":
        response = post(client, path, {"text": "hello"}, token)
    else:
        response = get(client, path, token)
    assert response.status_code == 401
    assert response.json()["code"] == "chat_not_found"
    assert Message.objects.count() == 1


def test_offline_visitor_leaves_an_email_and_the_ticket_continues_by_email(client):
    data = start(client, text="Anyone there?")
    assert data["agents_online"] is False
    response = post(client, "email", {"email": "Noah@Mail.example", "name": "Noah"}, data["token"])

    assert response.status_code == 200
    assert response.json() == {"email": "noah@mail.example"}
    session = ChatSession.objects.get(token=data["token"])
    assert session.visitor_email == "noah@mail.example"
    ticket = session.ticket
    assert (ticket.requester_email, ticket.requester_name) == ("noah@mail.example", "Noah")
    assert Participant.objects.filter(ticket=ticket, email="noah@mail.example").exists()
    assert ticket.events.filter(kind="chat_email_left").exists()


@pytest.mark.parametrize("email", ["", "not-an-email", "a@b"])
def test_a_bad_email_is_a_clear_error(client, email):
    data = start(client)
    response = post(client, "email", {"email": email}, data["token"])
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": "   "}, "Please type a message."),
        ({"text": "x" * 5001}, "Please keep a message under 5000 characters."),
        ({"text": "hi", "email": "nope"}, "Enter a valid email address."),
    ],
)
def test_bad_input_to_start_is_a_clear_error(client, body, message):
    response = post(client, "start", body)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "message": message}
    assert not Ticket.objects.exists()


def test_broken_json_is_a_clear_error(client):
    response = client.post(
        "/help/chat/start", b"{not json", content_type="application/json", headers={}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "The request was not valid JSON."


def test_preflight_allows_the_store_site_only(client):
    allowed = client.options("/help/chat/send", headers={"Origin": STORE_SITE})
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == STORE_SITE
    assert "X-Chat-Token" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed
    other = client.options("/help/chat/send", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other


def test_requests_from_other_sites_are_refused(client):
    response = post(client, "start", {"text": "hi"}, origin="https://evil.example")
    assert response.status_code == 403
    assert response.json()["code"] == "origin_not_allowed"
    assert not Ticket.objects.exists()


def test_with_no_configured_origins_only_our_own_pages_may_chat(client, settings):
    settings.DESK_WIDGET_ORIGINS = []
    assert post(client, "start", {"text": "hi"}).status_code == 403
    assert post(client, "start", {"text": "hi"}, origin="http://testserver").status_code == 201


def test_sending_is_rate_limited_with_a_clear_message(client):
    token = start(client)["token"]
    for number in range(public_views.CHAT_SEND_SESSION.count):
        assert post(client, "send", {"text": f"message {number}"}, token).status_code == 201
    response = post(client, "send", {"text": "one more"}, token)
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["Access-Control-Allow-Origin"] == STORE_SITE


def test_starting_chats_is_rate_limited_per_address(client):
    for _ in range(public_views.CHAT_START.count):
        start(client)
    response = post(client, "start", {"text": "again"})
    assert response.status_code == 429
    assert Ticket.objects.count() == public_views.CHAT_START.count


def test_a_chat_on_a_closed_ticket_moves_to_its_follow_up(client):
    data = start(client)
    session = ChatSession.objects.get(token=data["token"])
    old = session.ticket
    Ticket.objects.filter(pk=old.pk).update(status=Ticket.Status.CLOSED)
    assert post(client, "send", {"text": "It broke again"}, data["token"]).status_code == 201
    session.refresh_from_db()
    assert session.ticket.follow_up_of == old
    lines = get(client, "messages", data["token"]).json()["messages"]
    assert [line["text"] for line in lines] == ["It broke again"]


def test_a_merged_chat_reads_and_writes_the_ticket_it_was_merged_into(client):
    data = start(client)
    session = ChatSession.objects.get(token=data["token"])
    target = do_open_ticket(channel="email", requester_email="ava@mail.example")
    do_merge(session.ticket, target, actor=None)
    do_reply(target, author=UserFactory(), text="Merged answer")
    assert post(client, "send", {"text": "thanks"}, data["token"]).status_code == 201
    lines = get(client, "messages", data["token"]).json()["messages"]
    assert [line["text"] for line in lines][-2:] == ["Merged answer", "thanks"]
    assert target.messages.filter(text="thanks").exists()


def test_widget_script_is_served_by_us(client):
    response = client.get("/help/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"X-Chat-Token" in response.content
    assert b"innerHTML" not in response.content


def test_reading_marks_the_visitor_connected_and_silence_marks_them_gone(client):
    data = start(client)
    session = ChatSession.objects.get(token=data["token"])
    assert chat.visitor_is_connected(session.ticket)
    ChatSession.objects.filter(pk=session.pk).update(
        visitor_seen_at=session.visitor_seen_at - chat.VISITOR_CONNECTED
    )
    assert not chat.visitor_is_connected(session.ticket)
    get(client, "messages", data["token"])
    assert chat.visitor_is_connected(session.ticket)


def test_agent_ticket_stream_needs_a_desk_login(client):
    ticket = do_open_ticket(channel="chat", requester_email="")
    response = client.get(f"/desk/live/tickets/{ticket.number}/stream")
    assert response.status_code == 302


def test_agent_ticket_stream_shows_notes_and_marks_the_agent_present(client, agent):
    client.force_login(agent)
    data = start(client)
    ticket = ChatSession.objects.get(token=data["token"]).ticket
    note = do_add_note(ticket, author=agent, text="VIP, be quick")
    assert chat.agents_online() is False

    response = client.get(f"/desk/live/tickets/{ticket.number}/stream?after=0")
    events = sse_events(response)

    assert [(event["kind"], event["text"]) for event in events] == [
        ("inbound", "Hi, is the moonstone ring real silver?"),
        ("note", "VIP, be quick"),
    ]
    assert events[1]["id"] == note.pk
    assert chat.agents_online() is True
    assert client.get("/desk/live/tickets/999999/stream").status_code == 404


def test_agent_inbox_stream_starts_from_now_and_shows_new_customer_messages(client, agent):
    client.force_login(agent)
    start(client, text="old chat")
    response = client.get("/desk/live/inbox/stream")
    stream = iter(response.streaming_content)
    next(stream)
    start(client, text="new chat")
    body = b"".join(stream).decode()
    assert "new chat" in body
    assert "old chat" not in body


def test_presence_heartbeat(client, agent):
    client.force_login(agent)
    assert client.post("/desk/live/presence").json() == {"present": True}
    assert chat.agents_online() is True


def test_full_house_turns_streams_into_quick_polls(client):
    data = start(client, text="hi")
    taken = []
    while live._streams.acquire(blocking=False):
        taken.append(1)
    try:
        response = get(client, "events", data["token"], origin=None)
        body = b"".join(response.streaming_content).decode()
    finally:
        for _ in taken:
            live._streams.release()
    assert body.startswith("retry: 1000")
    assert '"text":"hi"' in body


def test_polling_costs_two_queries(client, django_assert_num_queries):
    token = start(client)["token"]
    with django_assert_num_queries(2):  # the session by token, the new messages
        response = get(client, "messages?after=0", token)
    assert len(response.json()["messages"]) == 1
