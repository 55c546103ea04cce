# ruff: noqa: S608 - SQL is assembled from constants and placeholders; values are parameters
"""One search over tickets, messages, customers and orders.

Tickets and messages are found through full-text indexes (desk migrations 0002 and 0007):
SQLite FTS5 tables kept in step by triggers, ranked with bm25; PostgreSQL GIN indexes on
stored tsvector columns, ranked with ts_rank. Both stem English, so "shipped" finds "shipping".
Customers and orders are found through commerce's indexed keys (exact order number, email and
tracking number, name prefix): those are what agents type for them, and B-tree lookups answer
them exactly.

Whatever is typed, only word characters reach the full-text engines, each term quoted, so no
input can be read as FTS syntax. Exact references (ticket number `SD-1234`, order number,
email, tracking number) are matched exactly too and come first.

Ranking reads at most `CANDIDATES` best matches per index before filters apply; like the big
helpdesks' search (Zendesk stops at 1,000 results), a very common word finds some of them, not
every one, and the query stays fast at millions of messages. On SQLite, words that match more
than `CANDIDATES` documents give the newest matches (bm25 would first count and rank every
one of them: seconds at a million messages); rarer words are ranked by bm25. PostgreSQL is
bounded the same way.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils.safestring import SafeString, mark_safe

from storedesk.commerce import queries as commerce_queries
from storedesk.commerce.models import Order
from storedesk.desk.models import Channel, Message, Ticket
from storedesk.desk.numbering import typed_ticket_number

KINDS = ("tickets", "messages", "customers", "orders")
CANDIDATES = 5000
MAX_TERMS = 12
MAX_TERM_LENGTH = 64
MAX_QUERY_LENGTH = 200
MAX_PER_PAGE = 100
MAX_EXACT = 50
SNIPPET_RADIUS = 90

_WORD = re.compile(r"\w+", re.UNICODE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_REFERENCE = re.compile(r"^#?[A-Za-z0-9-]{3,64}$")

# PostgreSQL's stored tsvector columns (desk migration 0007), each with its GIN index.
PG_TICKET_VECTOR = "{t}.search_vector"
PG_MESSAGE_VECTOR = "{m}.search_vector"


class SearchError(ValueError):
    """A filter the search cannot apply; the message says which and why."""


@dataclass(frozen=True)
class SearchFilters:
    """Filters on the ticket (and its messages): each one narrows, none set means all."""

    statuses: tuple[str, ...] = ()
    channel: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    tag: str = ""
    assignee_id: int | None = None
    unassigned: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.statuses) - set(Ticket.Status.values))
        if unknown:
            raise SearchError(f"unknown status: {', '.join(unknown)}")
        if self.channel and self.channel not in Channel.values:
            raise SearchError(f"unknown channel: {self.channel}")
        if self.created_from and self.created_to and self.created_from >= self.created_to:
            raise SearchError("the start date must be before the end date")

    @property
    def is_empty(self) -> bool:
        return self == SearchFilters()


@dataclass
class SearchPage:
    """One page of one kind of result, best first."""

    kind: str
    items: list[Any]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


@dataclass
class SearchResults:
    query: str
    terms: list[str]
    pages: dict[str, SearchPage] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not any(page.items for page in self.pages.values())


# --- terms -----------------------------------------------------------------------------------


def search_terms(query: str) -> list[str]:
    """The words of a query, lower-cased and bounded: all the engines ever see of it."""
    terms = []
    for word in _WORD.findall((query or "")[:MAX_QUERY_LENGTH].lower()):
        word = word.strip("_")[:MAX_TERM_LENGTH]
        if word and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def fts5_match(terms: list[str], *, prefix: bool = True) -> str:
    """An FTS5 MATCH expression: every term a quoted string (AND), the last also a prefix so
    results follow typing. Quoting makes AND/OR/NOT/NEAR, columns and `*` plain words."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
    if prefix and terms and len(terms[-1]) >= 3:
        quoted[-1] += " *"
    return " ".join(quoted)


def pg_tsquery(terms: list[str], *, prefix: bool = True) -> str:
    """A to_tsquery() text: terms are `\\w+` only (no operator can appear), joined with AND."""
    parts = [re.sub(r"[^\w]", "", term) for term in terms]
    parts = [part for part in parts if part]
    if prefix and parts and len(parts[-1]) >= 3:
        parts[-1] += ":*"
    return " & ".join(parts)


def highlight(text: str, terms: list[str], radius: int = SNIPPET_RADIUS) -> SafeString:
    """A short, escaped excerpt of `text` around the first term, terms wrapped in <mark>."""
    text = " ".join((text or "").split())
    if not terms:
        return mark_safe(html.escape(text[: radius * 2]))  # noqa: S308 - escaped just now
    pattern = re.compile(r"\b(" + "|".join(re.escape(term) for term in terms) + r")\w*", re.I)
    found = pattern.search(text)
    start = max(0, found.start() - radius) if found else 0
    excerpt = text[start : start + radius * 2]
    out, position = [], 0
    for match in pattern.finditer(excerpt):
        out.append(html.escape(excerpt[position : match.start()]))
        out.append(f"<mark>{html.escape(match.group(0))}</mark>")
        position = match.end()
    out.append(html.escape(excerpt[position:]))
    prefix = "…" if start else ""
    suffix = "…" if start + radius * 2 < len(text) else ""
    return mark_safe(prefix + "".join(out) + suffix)  # noqa: S308 - every piece escaped


# --- SQL pieces ------------------------------------------------------------------------------


def _ticket_conditions(filters: SearchFilters, alias: str = "t") -> tuple[list[str], list[Any]]:
    ops = connection.ops
    where, params = [], []
    if filters.statuses:
        where.append(f"{alias}.status IN ({', '.join(['%s'] * len(filters.statuses))})")
        params.extend(filters.statuses)
    if filters.channel:
        where.append(f"{alias}.channel = %s")
        params.append(filters.channel)
    if filters.unassigned:
        where.append(f"{alias}.assignee_id IS NULL")
    elif filters.assignee_id is not None:
        where.append(f"{alias}.assignee_id = %s")
        params.append(filters.assignee_id)
    if filters.created_from is not None:
        where.append(f"{alias}.created_at >= %s")
        params.append(ops.adapt_datetimefield_value(filters.created_from))
    if filters.created_to is not None:
        where.append(f"{alias}.created_at < %s")
        params.append(ops.adapt_datetimefield_value(filters.created_to))
    if filters.tag:
        where.append(
            "EXISTS (SELECT 1 FROM desk_ticket_tags tt JOIN desk_tag g ON g.id = tt.tag_id "
            f"WHERE tt.ticket_id = {alias}.id AND g.name = %s)"
        )
        params.append(filters.tag)
    return where, params


def _sqlite_hits(table: str, weights: str, terms: list[str]) -> tuple[str, list[Any]]:
    """(rid, score) from an FTS5 table: the best `CANDIDATES` by bm25, or, when the words
    (as typed, without the prefix) match more than that, the newest `CANDIDATES` with score 0.

    bm25 first counts every document holding each word, and ranking sorts every match: for a
    word found in a million messages that is seconds. Which branch runs is decided inside the
    statement: the other one gets LIMIT 0, which SQLite checks before reading anything."""
    exact, typed = fts5_match(terms, prefix=False), fts5_match(terms)
    common = f"(SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH %s LIMIT %s)) > %s"
    sql = (
        f"SELECT rid, score FROM (SELECT rowid AS rid, 0.0 AS score FROM {table}"
        f" WHERE {table} MATCH %s ORDER BY rowid DESC"
        f" LIMIT (CASE WHEN {common} THEN %s ELSE 0 END))"
        f" UNION ALL SELECT rid, score FROM (SELECT rowid AS rid,"
        f" -bm25({table}, {weights}) AS score FROM {table} WHERE {table} MATCH %s"
        f" ORDER BY score DESC LIMIT (CASE WHEN {common} THEN 0 ELSE %s END))"
    )
    counted = [exact, CANDIDATES + 1, CANDIDATES]
    return sql, [exact, *counted, CANDIDATES, typed, *counted, CANDIDATES]


def _postgres_hits(
    table: str, vector: str, id_column: str, ticket_column: str, terms: list[str]
) -> tuple[str, list[Any]]:
    """(hit_id, ticket_id, score) from a GIN-indexed stored tsvector column, bounded like
    `_sqlite_hits`: ranking every match of a common word sorts hundreds of thousands of rows,
    so above `CANDIDATES` matches the newest are taken unranked. The GIN index answers the
    count; LIMIT 0 keeps the other branch from running."""
    exact, typed = pg_tsquery(terms, prefix=False), pg_tsquery(terms)
    ticket = ticket_column or "NULL::bigint"
    common = (
        f"(SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {vector} @@"
        " to_tsquery('english', %s) LIMIT %s) c) > %s"
    )
    sql = (
        f"(SELECT {id_column} AS hit_id, {ticket} AS ticket_id, 0.0::real AS score"
        f" FROM {table} WHERE {vector} @@ to_tsquery('english', %s)"
        f" ORDER BY {id_column} DESC LIMIT (CASE WHEN {common} THEN %s ELSE 0 END))"
        f" UNION ALL (SELECT {id_column}, {ticket}, ts_rank({vector}, to_tsquery('english', %s))"
        f" AS score FROM {table} WHERE {vector} @@ to_tsquery('english', %s)"
        f" ORDER BY score DESC LIMIT (CASE WHEN {common} THEN 0 ELSE %s END))"
    )
    counted = [exact, CANDIDATES + 1, CANDIDATES]
    return sql, [exact, *counted, CANDIDATES, typed, typed, *counted, CANDIDATES]


def _message_hits_sql(terms: list[str]) -> tuple[str, list[Any]]:
    """(message id, ticket id, score) of the best-ranked messages; higher score is better."""
    if connection.vendor == "sqlite":
        hits, params = _sqlite_hits("desk_message_fts", "2.0, 1.0", terms)
        sql = (
            "SELECT m.id AS message_id, m.ticket_id AS ticket_id, f.score AS score FROM ("
            f"{hits}) f JOIN desk_message m ON m.id = f.rid"
        )
        return sql, params
    vector = PG_MESSAGE_VECTOR.format(m="m")
    sql, params = _postgres_hits("desk_message m", vector, "m.id", "m.ticket_id", terms)
    return f"SELECT hit_id AS message_id, ticket_id, score FROM ({sql}) mh", params


def _ticket_hits_sql(terms: list[str]) -> tuple[str, list[Any]]:
    """(ticket id, score) of tickets whose subject or requester matches."""
    if connection.vendor == "sqlite":
        hits, params = _sqlite_hits("desk_ticket_fts", "3.0, 1.5, 1.0", terms)
        return f"SELECT rid AS ticket_id, score FROM ({hits}) f", params
    sql, params = _postgres_hits(
        "desk_ticket dt", PG_TICKET_VECTOR.format(t="dt"), "dt.id", "", terms
    )
    return f"SELECT hit_id AS ticket_id, score FROM ({sql}) th", params


def full_text_available() -> bool:
    return connection.vendor in ("sqlite", "postgresql")


def ranked_ticket_sql(
    terms: list[str], filters: SearchFilters, exclude: list[int], limit: int, offset: int
) -> tuple[str, list[Any]]:
    """Tickets by their best match in the subject or any message, filtered, one page."""
    messages_sql, message_params = _message_hits_sql(terms)
    tickets_sql, ticket_params = _ticket_hits_sql(terms)
    where, where_params = _ticket_conditions(filters)
    if exclude:
        where.append(f"t.id NOT IN ({', '.join(['%s'] * len(exclude))})")
        where_params.extend(exclude)
    sql = (
        "SELECT t.id, MAX(h.score) AS best FROM ("
        f" SELECT ticket_id, score FROM ({tickets_sql}) th"
        f" UNION ALL SELECT ticket_id, score FROM ({messages_sql}) mh"
        ") h JOIN desk_ticket t ON t.id = h.ticket_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " GROUP BY t.id ORDER BY best DESC, t.id DESC LIMIT %s OFFSET %s"
    )
    return sql, [*ticket_params, *message_params, *where_params, limit, offset]


def ranked_message_sql(
    terms: list[str], filters: SearchFilters, limit: int, offset: int
) -> tuple[str, list[Any]]:
    messages_sql, message_params = _message_hits_sql(terms)
    date_filters = SearchFilters(created_from=filters.created_from, created_to=filters.created_to)
    ticket_filters = SearchFilters(
        statuses=filters.statuses,
        channel=filters.channel,
        tag=filters.tag,
        assignee_id=filters.assignee_id,
        unassigned=filters.unassigned,
    )
    where, where_params = _ticket_conditions(ticket_filters)
    message_where, message_where_params = _ticket_conditions(date_filters, alias="m")
    where += message_where
    sql = (
        f"SELECT h.message_id, h.score FROM ({messages_sql}) h"
        " JOIN desk_ticket t ON t.id = h.ticket_id"
        " JOIN desk_message m ON m.id = h.message_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY h.score DESC, h.message_id DESC LIMIT %s OFFSET %s"
    )
    return sql, [*message_params, *where_params, *message_where_params, limit, offset]


def _fetch(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- exact references ------------------------------------------------------------------------


_UNSET = object()


def _store(store):
    return commerce_queries.current_store() if store is _UNSET else store


def _exact_orders(query: str, store=_UNSET) -> list[Order]:
    """Orders the query names exactly: number, email or tracking number (not name prefixes)."""
    query = query.strip()
    store = _store(store)
    if store is None or not (_EMAIL.match(query) or _REFERENCE.match(query)):
        return []
    if not _EMAIL.match(query) and not any(ch.isdigit() for ch in query):
        return []  # a plain word is a name prefix, not a reference
    return list(commerce_queries.search_orders(store, query)[:MAX_EXACT])


def exact_ticket_ids(query: str, filters: SearchFilters, store=_UNSET) -> list[int]:
    """Tickets named by number, requester email, or an order (number, email, tracking) they
    are linked to; each lookup is one indexed query."""
    query = (query or "").strip()
    if not query:
        return []
    tickets = Ticket.objects.all()
    matches = []
    number = typed_ticket_number(query)
    if number is not None:
        matches += list(tickets.filter(number=number).values_list("pk", flat=True))
    if _EMAIL.match(query):
        matches += list(
            tickets.filter(requester_email=query.lower())
            .order_by("-created_at")
            .values_list("pk", flat=True)[:MAX_EXACT]
        )
    orders = _exact_orders(query, store)
    if orders:
        matches += list(
            Ticket.orders.through.objects.filter(order_id__in=[order.pk for order in orders])
            .order_by("-ticket_id")
            .values_list("ticket_id", flat=True)[:MAX_EXACT]
        )
    ids = list(dict.fromkeys(matches))[:MAX_EXACT]
    if not ids or filters.is_empty:
        return ids
    where, params = _ticket_conditions(filters)
    kept = {
        row[0]
        for row in _fetch(
            f"SELECT t.id FROM desk_ticket t WHERE t.id IN ({', '.join(['%s'] * len(ids))})"
            f" AND {' AND '.join(where)}",
            [*ids, *params],
        )
    }
    return [pk for pk in ids if pk in kept]


# --- the interface ---------------------------------------------------------------------------


def _page_bounds(page: int, per_page: int) -> tuple[int, int]:
    page = max(1, int(page))
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    return page, per_page


def search_tickets(
    query: str,
    filters: SearchFilters | None = None,
    *,
    page: int = 1,
    per_page: int = 25,
    store=_UNSET,
) -> SearchPage:
    """Tickets for a search box: exact references first, then by full-text rank.

    Each ticket carries `search_score` (None for an exact match). Three queries plus one per
    exact lookup; the inbox calls this from its text box.
    """
    filters = filters or SearchFilters()
    page, per_page = _page_bounds(page, per_page)
    terms = search_terms(query)
    exact = exact_ticket_ids(query, filters, store)
    offset = (page - 1) * per_page
    wanted = per_page + 1
    scored: list[tuple[int, float | None]] = [(pk, None) for pk in exact[offset : offset + wanted]]
    if terms and full_text_available() and len(scored) < wanted:
        ranked_offset = max(0, offset - len(exact))
        sql, params = ranked_ticket_sql(terms, filters, exact, wanted - len(scored), ranked_offset)
        scored += [(pk, score) for pk, score in _fetch(sql, params)]
    has_next = len(scored) > per_page
    scored = scored[:per_page]
    by_pk = Ticket.objects.select_related("assignee", "customer").in_bulk([pk for pk, _ in scored])
    items = []
    for pk, score in scored:
        ticket = by_pk.get(pk)
        if ticket is not None:
            ticket.search_score = score
            items.append(ticket)
    return SearchPage("tickets", items, page, per_page, has_next)


def search_messages(
    query: str,
    filters: SearchFilters | None = None,
    *,
    page: int = 1,
    per_page: int = 25,
    store=_UNSET,
) -> SearchPage:
    """Messages (and notes) by full-text rank, each with a highlighted `search_snippet`."""
    filters = filters or SearchFilters()
    page, per_page = _page_bounds(page, per_page)
    terms = search_terms(query)
    if not terms or not full_text_available():
        return SearchPage("messages", [], page, per_page, False)
    sql, params = ranked_message_sql(terms, filters, per_page + 1, (page - 1) * per_page)
    rows = _fetch(sql, params)
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    by_pk = Message.objects.select_related("ticket").in_bulk([pk for pk, _ in rows])
    items = []
    for pk, score in rows:
        message = by_pk.get(pk)
        if message is not None:
            message.search_score = score
            message.search_snippet = highlight(message.text, terms)
            items.append(message)
    return SearchPage("messages", items, page, per_page, has_next)


def _sliced(kind: str, queryset, page: int, per_page: int) -> SearchPage:
    page, per_page = _page_bounds(page, per_page)
    rows = list(queryset[(page - 1) * per_page : page * per_page + 1])
    return SearchPage(kind, rows[:per_page], page, per_page, len(rows) > per_page)


def _commerce_search(kind: str, find, query: str, filters, page: int, per_page: int, store):
    """Customers or orders by commerce's own indexed search, within the created-at filters."""
    store = _store(store)
    query = (query or "").strip()[:MAX_QUERY_LENGTH]
    if store is None or not query:
        return SearchPage(kind, [], max(1, page), per_page, False)
    found = find(store, query)
    filters = filters or SearchFilters()
    if filters.created_from:
        found = found.filter(created_at__gte=filters.created_from)
    if filters.created_to:
        found = found.filter(created_at__lt=filters.created_to)
    return _sliced(kind, found, page, per_page)


def search_customers(
    query: str,
    filters: SearchFilters | None = None,
    *,
    page: int = 1,
    per_page: int = 25,
    store=_UNSET,
) -> SearchPage:
    """Customers by exact email or name prefix (commerce's indexed keys)."""
    return _commerce_search(
        "customers", commerce_queries.search_customers, query, filters, page, per_page, store
    )


def search_orders(
    query: str,
    filters: SearchFilters | None = None,
    *,
    page: int = 1,
    per_page: int = 25,
    store=_UNSET,
) -> SearchPage:
    """Orders by exact number, email or tracking number, or the buyer's name prefix."""
    return _commerce_search(
        "orders", commerce_queries.search_orders, query, filters, page, per_page, store
    )


_SEARCHERS = {
    "tickets": search_tickets,
    "messages": search_messages,
    "customers": search_customers,
    "orders": search_orders,
}


def search(
    query: str,
    filters: SearchFilters | None = None,
    kinds: tuple[str, ...] | list[str] = KINDS,
    *,
    page: int = 1,
    per_page: int = 10,
) -> SearchResults:
    """The one search: the same query over each kind asked for, each paged on its own."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise SearchError(f"unknown kind: {', '.join(unknown)}")
    query = (query or "").strip()[:MAX_QUERY_LENGTH]
    results = SearchResults(query=query, terms=search_terms(query))
    store = commerce_queries.current_store() if query else None
    for kind in KINDS:
        if kind in kinds:
            results.pages[kind] = _SEARCHERS[kind](
                query, filters, page=page, per_page=per_page, store=store
            )
    return results
