"""The inbox: views and their counts, keyset pages, filters, saved views, bulk actions."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.core.scheduler import registered_jobs
from storedesk.desk.models import SavedView, Ticket, TicketEvent
from storedesk.desk.queries import TAG_COUNTS_KEY, TEAM_VIEW_COUNTS_KEY, Cursor, view_counts_key
from storedesk.desk.services import do_set_tags
from storedesk.desk.tasks import refresh_inbox_counts
from tests.desk.builders import make_ticket, make_tickets
from tests.factories import BASE_TIME, OrderFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(db):
    return StoreFactory()


def counts(response) -> dict[str, int]:
    context = response.context
    views = [*context["views"], *context["channel_views"], *context["saved_views"]]
    return {view.key: view.count for view in views} | {
        view.key: view.count for view in context["tag_views"]
    }


def numbers(response) -> list[int]:
    return [ticket.number for ticket in response.context["page"].tickets]


def test_views_list_the_right_tickets_with_counts(agent_client, agent, make_user, store):
    other = make_user(Role.AGENT, username="lan")
    mine = make_ticket(at=BASE_TIME, assignee=agent, status="open")
    unassigned = make_ticket(at=BASE_TIME + timedelta(hours=1), priority=4)
    theirs = make_ticket(at=BASE_TIME + timedelta(hours=2), assignee=other, status="pending")
    held = make_ticket(at=BASE_TIME + timedelta(hours=3), status="on_hold", channel="chat")
    solved = make_ticket(at=BASE_TIME + timedelta(hours=4))
    from storedesk.desk.services import do_change_status

    do_change_status(solved, "solved", actor=agent)
    do_set_tags(unassigned, ["Angry customer"], actor=agent)

    response = agent_client.get("/desk/")
    assert response.status_code == 200
    assert counts(response) == {
        "mine": 1,
        "unassigned": 2,
        "open": 4,
        "urgent": 1,
        "sla_at_risk": 0,
        "overdue": 0,
        "pending": 1,
        "on_hold": 1,
        "solved": 1,
        "channel:email": 3,
        "channel:chat": 1,
        "channel:form": 0,
        "channel:api": 0,
        "channel:phone": 0,
        "tag:angry-customer": 1,
    }
    assert numbers(response) == [held.number, theirs.number, unassigned.number, mine.number]
    assert numbers(agent_client.get("/desk/", {"view": "mine"})) == [mine.number]
    assert numbers(agent_client.get("/desk/", {"view": "urgent"})) == [unassigned.number]
    assert numbers(agent_client.get("/desk/", {"view": "pending"})) == [theirs.number]
    assert numbers(agent_client.get("/desk/", {"view": "solved"})) == [solved.number]
    assert numbers(agent_client.get("/desk/", {"view": "channel:chat"})) == [held.number]
    assert numbers(agent_client.get("/desk/", {"view": "tag:angry-customer"})) == [
        unassigned.number
    ]


def test_rows_show_requester_snippet_order_assignee_and_tags(agent_client, agent, store):
    ticket = make_ticket(subject="Ring too small", assignee=agent)
    order = OrderFactory(store=store, number="#TP20077", number_key="TP20077")
    ticket.orders.add(order)
    do_set_tags(ticket, ["sizing"], actor=agent)
    response = agent_client.get("/desk/")
    row = response.text[response.text.index(f'data-number="{ticket.number}"') :]
    row = row[: row.index("</tr>")]
    for expected in ["emma@mail.example", "Ring too small", "Message 1: Ring too small"]:
        assert expected in row
    for expected in ["#TP20077", "sizing", agent.display_name, "New", "Normal"]:
        assert expected in row


def test_rows_escape_what_customers_wrote(agent_client, store):
    ticket = make_ticket(subject='<img src=x onerror="alert(1)"> & co', requester_name="O'Neil <b>")
    response = agent_client.get("/desk/")
    row = response.text[response.text.index(f'data-number="{ticket.number}"') :]
    row = row[: row.index("</tr>")]
    assert "<img" not in row
    assert "<b>" not in row
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co" in row
    assert "O&#x27;Neil &lt;b&gt;" in row


def test_rows_without_subject_or_assignee_say_so(agent_client, store):
    make_ticket(subject="")
    text = agent_client.get("/desk/").text
    assert '<a href="/desk/tickets/' in text
    assert 'class="subject">(no subject)</a>' in text
    assert '<span class="muted">Unassigned</span>' in text


def test_keyset_pages_walk_every_ticket_once(agent_client, store):
    tickets = make_tickets(53)
    same_time = BASE_TIME + timedelta(hours=30)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[20:26]]).update(last_message_at=same_time)
    no_message = make_ticket(messages=0)
    first = agent_client.get("/desk/")
    assert len(first.context["page"].tickets) == 50
    cursor = first.context["page"].next_cursor
    assert cursor
    assert 'rel="next"' in first.text
    second = agent_client.get("/desk/", {"after": cursor})
    assert second.context["page"].next_cursor is None
    seen = numbers(first) + numbers(second)
    assert len(seen) == len(set(seen)) == 54
    assert seen[-1] == no_message.number  # tickets without a message come last
    expected = sorted(
        Ticket.objects.all(),
        key=lambda t: (t.last_message_at is not None, t.last_message_at or BASE_TIME, t.pk),
        reverse=True,
    )
    assert seen == [t.number for t in expected]


def test_a_bad_cursor_shows_the_first_page_with_a_message(agent_client, store):
    make_tickets(2)
    response = agent_client.get("/desk/", {"after": "12x.'; drop"})
    assert response.status_code == 200
    assert len(response.context["page"].tickets) == 2
    assert "That page link is not valid" in response.text


def test_cursor_round_trips():
    cursor = Cursor(BASE_TIME + timedelta(microseconds=7), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode(Cursor(None, 3).encode()) == Cursor(None, 3)
    for bad in ["", "1", "a.1", "1.a", "1.-2"]:
        with pytest.raises(ValueError, match="cursor"):
            Cursor.decode(bad)


def test_unknown_view_is_404(agent_client, store):
    assert agent_client.get("/desk/", {"view": "nope"}).status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "pending"}, ["pending"]),
        ({"channel": "chat"}, ["chat"]),
        ({"priority": "4"}, ["urgent"]),
        ({"tag": "Refund"}, ["tagged"]),
        ({"assignee": "me"}, ["mine"]),
        ({"assignee": "none", "channel": "email"}, ["pending", "urgent", "tagged"]),
        ({"q": "buyer-mine@mail.example"}, ["mine"]),
    ],
)
def test_filters_narrow_the_list(agent_client, agent, store, params, expected):
    made = {
        "mine": make_ticket(requester="buyer-mine@mail.example", assignee=agent),
        "pending": make_ticket(at=BASE_TIME + timedelta(hours=1), status="pending"),
        "chat": make_ticket(at=BASE_TIME + timedelta(hours=2), channel="chat"),
        "urgent": make_ticket(at=BASE_TIME + timedelta(hours=3), priority=4),
        "tagged": make_ticket(at=BASE_TIME + timedelta(hours=4)),
    }
    do_set_tags(made["tagged"], ["refund"], actor=None)
    response = agent_client.get("/desk/", params)
    assert response.status_code == 200
    by_number = {ticket.number: name for name, ticket in made.items()}
    assert sorted(by_number[n] for n in numbers(response)) == sorted(expected)


def test_search_box_finds_a_ticket_by_number(agent_client, store):
    tickets = make_tickets(3)
    response = agent_client.get("/desk/", {"q": f"TP-{tickets[1].number}"})
    assert numbers(response) == [tickets[1].number]


def test_invalid_filter_is_reported_not_a_500(agent_client, store):
    make_tickets(1)
    response = agent_client.get("/desk/", {"status": "lost", "priority": "9"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.text


def test_saved_views_mine_and_shared_with_counts(agent_client, agent, make_user, client, store):
    make_ticket(channel="chat")
    make_ticket(at=BASE_TIME + timedelta(hours=1))
    response = agent_client.post(
        "/desk/views/", {"name": "Chats", "channel": "chat", "is_shared": "on"}
    )
    view = SavedView.objects.get()
    assert view.filters == {"channel": "chat"}
    assert response.url == f"/desk/?view=saved%3A{view.pk}"
    listed = agent_client.get(response.url)
    assert counts(listed)[f"saved:{view.pk}"] == 1
    assert len(listed.context["page"].tickets) == 1

    private = SavedView.objects.create(name="Private", owner=agent, filters={"status": "new"})
    colleague = make_user(Role.AGENT, username="lan")
    client.force_login(colleague)
    theirs = client.get("/desk/")
    assert {v.saved.pk for v in theirs.context["saved_views"]} == {view.pk}
    assert client.post(f"/desk/views/{view.pk}/delete/").status_code == 400
    assert SavedView.objects.filter(pk=private.pk).exists()


def test_saving_a_view_without_filters_is_refused(agent_client, store):
    agent_client.post("/desk/views/", {"name": "Everything"})
    assert not SavedView.objects.exists()


def test_bulk_assign_status_tag_and_priority_go_through_the_services(agent_client, agent, store):
    tickets = make_tickets(3)
    chosen = [tickets[0].number, tickets[2].number]
    for data in [
        {"action": "assign", "assignee": "me"},
        {"action": "status", "status": "solved"},
        {"action": "tag", "tag": "Lost Parcel"},
        {"action": "priority", "priority": "3"},
    ]:
        response = agent_client.post("/desk/bulk/", {**data, "tickets": chosen})
        assert response.status_code == 302
    for ticket in Ticket.objects.filter(number__in=chosen):
        assert ticket.assignee == agent
        assert ticket.status == "solved"
        assert ticket.priority == 3
        assert list(ticket.tags.values_list("name", flat=True)) == ["lost-parcel"]
        kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
        assert {"assigned", "status", "tags", "priority"} <= kinds
    untouched = Ticket.objects.get(pk=tickets[1].pk)
    assert (untouched.assignee, untouched.status) == (None, "new")
    assert AuditEntry.objects.filter(action="desk.assigned").count() == 2


def test_bulk_merge_joins_the_newer_ticket_into_the_older(agent_client, store):
    older, newer = make_tickets(2, messages=2)
    agent_client.post("/desk/bulk/", {"action": "merge", "tickets": [newer.number, older.number]})
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.merged_into == older
    assert older.message_count == 4


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "merge"}, "Select exactly two tickets to merge."),
        ({"action": "status"}, "Choose a value for this action."),
        ({"action": "explode"}, "Select a valid choice."),
    ],
)
def test_bad_bulk_actions_change_nothing_and_say_why(agent_client, store, data, error):
    tickets = make_tickets(3)
    response = agent_client.post(
        "/desk/bulk/", {**data, "tickets": [t.number for t in tickets]}, follow=True
    )
    assert error in response.text
    assert not TicketEvent.objects.exclude(kind="created").exists()


def test_bulk_with_a_missing_ticket_changes_nothing(agent_client, store):
    ticket = make_ticket()
    response = agent_client.post(
        "/desk/bulk/",
        {"action": "status", "status": "solved", "tickets": [ticket.number, 999999]},
        follow=True,
    )
    assert "some selected tickets no longer exist" in response.text
    ticket.refresh_from_db()
    assert ticket.status == "new"


@pytest.mark.parametrize("url", ["/desk/", "/desk/bulk/"])
def test_users_without_desk_permissions_get_403(client, make_user, store, url):
    client.force_login(make_user(None, username="nobody"))
    response = client.post(url) if "bulk" in url else client.get(url)
    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_login(client, store):
    response = client.get("/desk/")
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_the_inbox_link_is_in_the_main_nav(agent_client, store):
    assert 'href="/desk/"' in agent_client.get("/").text


# session, user, permissions (2), agents, teams, saved views, view counts (the team's, the
# agent's own), tag counts, page ids, page rows, tags, orders; +1 for the search box's lookup
INBOX_QUERIES = 14


@pytest.mark.parametrize("count", [5, 50])
def test_inbox_query_count_is_fixed(agent_client, agent, store, django_assert_num_queries, count):
    tickets = make_tickets(count, assignee=agent)
    order = OrderFactory(store=store)
    for ticket in tickets:
        ticket.orders.add(order)
        do_set_tags(ticket, ["vip", "sizing"], actor=agent)
    SavedView.objects.create(name="Mine pending", owner=agent, filters={"status": "pending"})
    with django_assert_num_queries(INBOX_QUERIES):
        response = agent_client.get("/desk/", {"view": "mine"})
    assert len(response.context["page"].tickets) == count


def test_the_teams_view_counts_are_shared_and_mine_is_each_agents_own(
    agent_client, agent, make_user, store, django_assert_num_queries
):
    lan = make_user(Role.AGENT, username="lan")
    make_ticket(assignee=agent)
    make_ticket(assignee=agent)
    make_ticket(assignee=lan)
    first = counts(agent_client.get("/desk/"))
    other = Client()
    other.force_login(lan)

    with django_assert_num_queries(INBOX_QUERIES - 2):  # team view and tag counts are kept
        second = counts(other.get("/desk/"))

    assert (first["mine"], second["mine"]) == (2, 1)
    assert first["open"] == second["open"] == 3


def test_the_periodic_job_counts_ahead_of_the_first_request(
    agent_client, agent, django_assert_num_queries
):
    do_set_tags(make_ticket(assignee=agent), ["vip"], actor=agent)
    assert "desk-inbox-counts" in [job.name for job in registered_jobs()]

    refresh_inbox_counts.call()

    with django_assert_num_queries(INBOX_QUERIES - 2):  # only "Mine" is counted here
        response = agent_client.get("/desk/")
    assert (counts(response)["open"], counts(response)["tag:vip"]) == (1, 1)


def test_sidebar_counts_are_kept_for_a_while_and_say_their_age(
    agent_client, agent, store, django_assert_num_queries
):
    do_set_tags(make_ticket(assignee=agent), ["vip"], actor=agent)
    first = counts(agent_client.get("/desk/"))
    assert (first["mine"], first["tag:vip"]) == (1, 1)
    do_set_tags(make_ticket(assignee=agent), ["vip"], actor=agent)

    with django_assert_num_queries(INBOX_QUERIES - 3):  # all counts from the cache
        response = agent_client.get("/desk/")
    assert (counts(response)["mine"], counts(response)["tag:vip"]) == (1, 1)
    assert "ounted " not in response.text  # as good as new: no age shown

    twelve_seconds_ago = timezone.now().timestamp() - 12
    for key in [view_counts_key(agent), TEAM_VIEW_COUNTS_KEY, TAG_COUNTS_KEY]:
        cache.set(key, {**cache.get(key), "at": twelve_seconds_ago})
    text = agent_client.get("/desk/").text
    assert "Counted 12 seconds ago" in text  # the views
    assert "counted 12 seconds ago" in text  # the tags

    cache.delete_many([view_counts_key(agent), TEAM_VIEW_COUNTS_KEY, TAG_COUNTS_KEY])  # expired
    response = agent_client.get("/desk/")
    assert (counts(response)["mine"], counts(response)["tag:vip"]) == (2, 2)
    assert "ounted " not in response.text


def test_a_bulk_action_recounts_the_agents_views(agent_client, agent, store):
    ticket = make_ticket()
    assert counts(agent_client.get("/desk/"))["mine"] == 0
    agent_client.post(
        "/desk/bulk/", {"action": "assign", "assignee": "me", "tickets": [ticket.number]}
    )
    assert counts(agent_client.get("/desk/"))["mine"] == 1


def test_the_page_ids_are_read_along_an_index_on_sqlite(agent_client, agent, store):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite plan")
    make_tickets(3, assignee=agent)
    with CaptureQueriesContext(connection) as captured:
        agent_client.get("/desk/", {"view": "mine"})
    listing = next(
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "desk_ticket"."id"') and "LIMIT 51" in q["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {listing}")
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "SEARCH desk_ticket USING INDEX" in plan
    assert "SCAN desk_ticket" not in plan
