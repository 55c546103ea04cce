"""Desk search: full-text ranked, filtered, injection-safe, exact references first, index-driven.

Runs on SQLite (FTS5) and, in the PostgreSQL run, on tsvector + GIN: same assertions.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from storedesk.desk import search as desk_search
from storedesk.desk.models import Message, Ticket
from storedesk.desk.search import SearchError, SearchFilters, search, search_tickets
from storedesk.desk.services import (
    InboundMessage,
    do_add_note,
    do_assign,
    do_change_status,
    do_link_orders,
    do_open_ticket,
    do_receive_message,
    do_set_tags,
)
from tests.factories import OrderFactory, ShipmentFactory, StoreFactory

pytestmark = pytest.mark.django_db


def ticket_with(text: str, *, subject: str = "Question", email: str = "emma@mail.example", **kw):
    ticket = do_open_ticket(
        channel=kw.pop("channel", "email"), requester_email=email, subject=subject
    )
    do_receive_message(ticket, InboundMessage(channel=ticket.channel, from_email=email, text=text))
    return ticket


def numbers(page) -> list[int]:
    return [ticket.number for ticket in page.items]


def test_words_in_messages_and_subjects_are_found_with_stemming():
    shipped = ticket_with("My necklace shipped two weeks ago and never arrived.")
    ring = ticket_with("The ring is lovely", subject="Sizing question")
    assert numbers(search_tickets("shipping")) == [shipped.number]
    assert numbers(search_tickets("sizing")) == [ring.number]
    assert numbers(search_tickets("NECKLACE arrived")) == [shipped.number]
    assert numbers(search_tickets("necklace ring")) == []  # every word must match


def test_the_last_word_matches_as_a_prefix_while_typing():
    ticket = ticket_with("Is the moonstone pendant waterproof?")
    assert numbers(search_tickets("moonst")) == [ticket.number]


def test_a_word_in_more_documents_than_the_candidates_gives_the_newest_matches(monkeypatch):
    monkeypatch.setattr(desk_search, "CANDIDATES", 2)
    strong = ticket_with("Earring broke. The earring clasp is broken, the earring fell off.")
    weak = ticket_with("A question about an earring I bought for my mother last spring.")
    newest = ticket_with("My earring never came.")
    rare = ticket_with("The moonstone is cloudy.")
    ranked = search_tickets("earring").items
    assert [t.number for t in ranked] == [newest.number, weak.number]  # newest two, unranked
    assert {t.search_score for t in ranked} == {0.0}
    assert strong.number not in [t.number for t in ranked]
    found = search_tickets("moonstone").items
    assert [t.number for t in found] == [rare.number]
    assert found[0].search_score > 0  # a rare word is ranked (bm25, ts_rank)
    assert [t.number for t in search_tickets("moonst").items] == [rare.number]  # typing


def test_ranking_puts_the_better_match_first():
    weak = ticket_with("I have a question about an earring I bought for my mother last spring.")
    strong = ticket_with("Earring broke. The earring clasp is broken, the earring fell off.")
    subject = ticket_with("Hello there", subject="Earring earring")
    ranked = numbers(search_tickets("earring"))
    assert set(ranked) == {weak.number, strong.number, subject.number}
    assert ranked[-1] == weak.number
    scores = [ticket.search_score for ticket in search_tickets("earring").items]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        'refund" OR "x',
        "refund*",
        "NEAR(refund card)",
        "subject:refund",
        "refund AND NOT card",
        "refund'); DROP TABLE desk_ticket; --",
        "((( refund",
        "^refund -card +x",
        "refund & | ! :*",
        "\x00refund",
    ],
)
def test_fts_syntax_in_the_query_is_plain_text(query):
    ticket = ticket_with(
        "Please refund my card or x near subject and not drop table desk_ticket, it is wrong."
    )
    ticket_with("Please send my card")
    page = search_tickets(query)
    assert numbers(page) == [ticket.number]  # every word in it is just a word


def test_queries_with_only_punctuation_or_nothing_find_nothing():
    ticket_with("Refund please")
    for query in ["", "   ", '"""', "***", "()", "-"]:
        assert search(query).is_empty


def test_filters_status_channel_tag_assignee_and_date(make_user):
    agent = make_user(username="mai")
    email = ticket_with("refund for my order", channel="email")
    chat = ticket_with("refund for my order", channel="chat")
    do_change_status(chat, "solved", actor=None)
    do_set_tags(email, ["Angry Customer"], actor=None)
    do_assign(email, actor=None, assignee=agent)
    both = {email.number, chat.number}
    assert set(numbers(search_tickets("refund"))) == both
    assert numbers(search_tickets("refund", SearchFilters(statuses=("solved",)))) == [chat.number]
    assert numbers(search_tickets("refund", SearchFilters(channel="email"))) == [email.number]
    assert numbers(search_tickets("refund", SearchFilters(tag="angry-customer"))) == [email.number]
    assert numbers(search_tickets("refund", SearchFilters(assignee_id=agent.pk))) == [email.number]
    assert numbers(search_tickets("refund", SearchFilters(unassigned=True))) == [chat.number]
    now = timezone.now()
    recent = SearchFilters(
        created_from=now - timedelta(hours=1), created_to=now + timedelta(hours=1)
    )
    assert set(numbers(search_tickets("refund", recent))) == both
    old = SearchFilters(created_to=now - timedelta(days=1))
    assert numbers(search_tickets("refund", old)) == []
    messages = search("refund", SearchFilters(channel="chat"), kinds=["messages"])
    assert [m.ticket_id for m in messages.pages["messages"].items] == [chat.pk]


def test_bad_filters_are_clear_errors():
    with pytest.raises(SearchError, match="unknown status: lost"):
        SearchFilters(statuses=("lost",))
    with pytest.raises(SearchError, match="unknown channel"):
        SearchFilters(channel="fax")
    now = timezone.now()
    with pytest.raises(SearchError, match="start date"):
        SearchFilters(created_from=now, created_to=now)
    with pytest.raises(SearchError, match="unknown kind"):
        search("ring", kinds=["tickets", "invoices"])


def test_order_number_email_tracking_and_ticket_number_match_exactly():
    store = StoreFactory()
    order = OrderFactory(store=store, number="#TP20417", number_key="TP20417")
    ShipmentFactory(order=order, tracking_number="LX123456789VN")
    linked = ticket_with("where is it", email="noah@mail.example")
    do_link_orders(linked, [order], actor=None)
    other = ticket_with("order TP20417 mentioned in passing")
    assert numbers(search_tickets("#TP20417"))[0] == linked.number
    assert numbers(search_tickets("LX123456789VN")) == [linked.number]
    assert numbers(search_tickets("NOAH@mail.example")) == [linked.number]
    assert numbers(search_tickets(f"TP-{other.number}")) == [other.number]
    assert numbers(search_tickets(f"[#TP-{other.number}]")) == [other.number]
    assert numbers(search_tickets(f"SD-{other.number}")) == [other.number]
    assert numbers(search_tickets(f"[#SD-{other.number}]")) == [other.number]
    results = search(order.email)
    assert [o.number for o in results.pages["orders"].items] == ["#TP20417"]
    assert [c.email for c in results.pages["customers"].items] == [order.customer.email]
    assert [o.number for o in search("TP20417").pages["orders"].items] == ["#TP20417"]


def test_new_messages_edits_and_notes_are_searchable_at_once(agent):
    ticket = ticket_with("hello")
    assert numbers(search_tickets("turquoise")) == []
    do_receive_message(
        ticket, InboundMessage(channel="email", from_email="emma@mail.example", text="turquoise!")
    )
    assert numbers(search_tickets("turquoise")) == [ticket.number]
    note = do_add_note(ticket, author=agent, text="Customer prefers sapphire")
    assert numbers(search_tickets("sapphire")) == [ticket.number]
    Message.objects.filter(pk=note.pk).update(text="Customer prefers emerald")
    assert numbers(search_tickets("sapphire")) == []
    assert numbers(search_tickets("emerald")) == [ticket.number]
    Message.objects.filter(pk=note.pk).delete()
    assert numbers(search_tickets("emerald")) == []


def test_message_results_carry_escaped_highlighted_snippets():
    ticket_with("<script>alert(1)</script> my opal ring turned green after a week")
    page = search("opal", kinds=["messages"]).pages["messages"]
    snippet = str(page.items[0].search_snippet)
    assert "<mark>opal</mark>" in snippet
    assert "<script>" not in snippet
    assert "&lt;script&gt;" in snippet


def test_pages_do_not_repeat_or_skip():
    created = {ticket_with(f"bracelet clasp number {i}").number for i in range(7)}
    first = search_tickets("bracelet", per_page=3)
    second = search_tickets("bracelet", page=2, per_page=3)
    third = search_tickets("bracelet", page=3, per_page=3)
    assert [first.has_next, second.has_next, third.has_next] == [True, True, False]
    seen = numbers(first) + numbers(second) + numbers(third)
    assert sorted(seen) == sorted(created)


def test_search_queries_are_bounded(django_assert_max_num_queries):
    store = StoreFactory()
    for i in range(5):
        order = OrderFactory(store=store)
        do_link_orders(ticket_with(f"ring {i}"), [order], actor=None)
    with django_assert_max_num_queries(8):
        results = search("ring", per_page=25)
        assert len(results.pages["tickets"].items) == 5
        assert [t.customer for t in results.pages["tickets"].items]  # loaded with the page


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_search_sql_is_driven_by_the_full_text_indexes():
    ticket_with("ring")
    terms = desk_search.search_terms("ring resize")
    filters = SearchFilters(statuses=("open", "new"), tag="vip")
    tickets_plan = _plan(*desk_search.ranked_ticket_sql(terms, filters, [], 26, 0))
    messages_plan = _plan(*desk_search.ranked_message_sql(terms, filters, 26, 0))
    if connection.vendor == "sqlite":
        for plan in (tickets_plan, messages_plan):
            assert "VIRTUAL TABLE INDEX" in plan, plan
            assert "SCAN desk_message " not in plan + " ", plan
            assert "SCAN t " not in plan + " ", plan
        assert "desk_ticket_fts" in tickets_plan
    else:
        assert "desk_message_fts_idx" in messages_plan, messages_plan
        assert "desk_ticket_fts_idx" in tickets_plan, tickets_plan


def test_an_order_number_is_never_read_as_a_ticket_number():
    """'TP20417' is the order; before tickets had their own prefix it also named ticket 20417."""
    ticket = ticket_with("hello")
    Ticket.objects.filter(pk=ticket.pk).update(number=20417)

    assert numbers(search_tickets("TP20417")) == []
    assert numbers(search_tickets("TP-20417")) == [20417]
    assert numbers(search_tickets("SD20417")) == [20417]
