"""Reads the desk's pages need: inbox views with their counts, keyset pages, the ticket page.

Every read is a fixed number of indexed queries whatever the number of tickets or messages:
the inbox walks `(last_message_at, pk)` with a cursor instead of OFFSET (page 2000 of a
million tickets costs what page 1 costs), and the view counts come from one aggregate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from types import SimpleNamespace

from django.core.cache import cache
from django.db.models import (
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Order, Payment, Shipment, ShipmentEvent
from storedesk.commerce.queries import refunds_of_orders
from storedesk.desk.models import (
    Attachment,
    Channel,
    Message,
    ReplyTemplate,
    SavedView,
    Tag,
    Ticket,
    TicketEvent,
)
from storedesk.desk.numbering import typed_ticket_number
from storedesk.desk.replies import is_offered
from storedesk.disputes.queries import disputes_of_orders

PAGE_SIZE = 50
SNIPPET_CHARS = 160
SOLVED_RECENTLY = timedelta(days=7)
TAG_VIEWS_SHOWN = 12
COUNTS_FRESH_FOR = timedelta(seconds=30)
TAG_COUNTS_KEY = "desk:inbox:tag-counts"
TEAM_VIEW_COUNTS_KEY = "desk:inbox:team-view-counts"
TEAM_QUEUE_COUNTS_KEY = "desk:inbox:team-queue-counts"
COUNTS_REFRESH_EVERY = timedelta(seconds=20)  # under COUNTS_FRESH_FOR: never aged out
TIMELINE_MESSAGES = 100
LIVE_MESSAGES = 50  # appended at once; more means the page reloads to catch up
SIDE_PANEL_ORDERS = 5
PREVIOUS_TICKETS = 10
CUSTOMER_TICKETS = 10
OPEN = list(Ticket.OPEN_STATUSES)
LIVE = [*OPEN, Ticket.Status.SOLVED.value]  # the order of ticket_live_counts_idx's condition


# --- filters ---------------------------------------------------------------------------------


def has_tag(name: str) -> Exists:
    """A tag condition without a join, so a ticket never appears twice and counts stay exact."""
    return Exists(Ticket.tags.through.objects.filter(ticket_id=OuterRef("pk"), tag__name=name))


def ticket_number_in(text: str) -> int | None:
    """The ticket number an agent typed: '1234', '#1234', 'SD-1234', '[#SD-1234]' (and the
    legacy 'TP-1234')."""
    return typed_ticket_number(text)


def text_condition(text: str) -> Q:
    """What the search box means until full-text search exists: a ticket number or an email."""
    text = (text or "").strip()
    if not text:
        return Q()
    number = ticket_number_in(text)
    if number is not None:
        return Q(number=number)
    if "@" in text:
        return Q(requester_email=text.lower())
    return Q(requester_email=text.lower()) | Q(requester_name__iexact=text)


def filter_condition(filters: dict, user) -> Q:
    """A Q for the inbox filter keys (the filter form's cleaned data, or a saved view's)."""
    condition = Q()
    if filters.get("status"):
        condition &= Q(status=filters["status"])
    if filters.get("channel"):
        condition &= Q(channel=filters["channel"])
    if filters.get("tag"):
        condition &= has_tag(filters["tag"])
    assignee = filters.get("assignee")
    if assignee == "me":
        condition &= Q(assignee_id=user.pk)
    elif assignee == "none":
        condition &= Q(assignee__isnull=True)
    elif assignee:
        condition &= Q(assignee_id=int(assignee))
    if filters.get("team"):
        condition &= Q(team_id=int(filters["team"]))
    if filters.get("priority"):
        condition &= Q(priority=int(filters["priority"]))
    if filters.get("q"):
        condition &= text_condition(filters["q"])
    return condition


# --- views -----------------------------------------------------------------------------------


@dataclass
class InboxView:
    key: str
    label: str
    condition: Q | None  # None for the sidebar's tag views: `view_for_key` builds the one shown
    group: str = "views"
    count: int | None = None
    saved: SavedView | None = None


# SLA clocks belong to triage, a layer above the desk. Triage registers the two ticket-id
# subqueries when it starts (`TriageConfig.ready`), so the inbox offers the SLA views without the
# desk importing triage; without triage the views are simply empty.
SlaTicketIds = Callable[[datetime], QuerySet]
_sla_ticket_ids: dict[str, SlaTicketIds] = {}


def register_sla_ticket_ids(*, at_risk: SlaTicketIds, overdue: SlaTicketIds) -> None:
    """Called by the app that keeps SLA clocks: `now` → a `ticket_id` values subquery."""
    _sla_ticket_ids.update(at_risk=at_risk, overdue=overdue)


def sla_at_risk_ids(now: datetime):
    """Tickets within their SLA warning window or past due (a range scan of triage's index)."""
    source = _sla_ticket_ids.get("at_risk")
    return source(now) if source else []


def sla_overdue_ids(now: datetime):
    """Tickets past their next SLA due time (a range scan of triage's next-due index)."""
    source = _sla_ticket_ids.get("overdue")
    return source(now) if source else []


def builtin_views(user, now: datetime) -> list[InboxView]:
    """The views every agent has."""
    is_open = Q(status__in_constants=OPEN)
    views = [
        InboxView("mine", _("Mine"), is_open & Q(assignee_id=user.pk)),
        InboxView("unassigned", _("Unassigned"), is_open & Q(assignee__isnull=True)),
        InboxView("open", _("All open"), is_open),
        InboxView("urgent", _("Urgent"), is_open & Q(priority__gte=Ticket.Priority.HIGH)),
        InboxView("sla_at_risk", _("SLA at risk"), is_open & Q(pk__in=sla_at_risk_ids(now))),
        InboxView("overdue", _("Overdue"), is_open & Q(pk__in=sla_overdue_ids(now))),
        InboxView("pending", _("Waiting on customer"), Q(status=Ticket.Status.PENDING)),
        InboxView("on_hold", _("On hold"), Q(status=Ticket.Status.ON_HOLD)),
        InboxView(
            "solved",
            _("Solved recently"),
            Q(status=Ticket.Status.SOLVED, solved_at__gte=now - SOLVED_RECENTLY),
        ),
    ]
    views += [
        InboxView(f"channel:{value}", label, is_open & Q(channel=value), group="channels")
        for value, label in Channel.choices
    ]
    return views


def saved_views_of(user) -> list[SavedView]:
    """The user's own views and the team's shared ones."""
    return list(
        SavedView.objects.filter(Q(owner=user) | Q(is_shared=True)).order_by(
            "position", "name", "pk"
        )
    )


def saved_inbox_views(user, saved: list[SavedView]) -> list[InboxView]:
    views = []
    for view in saved:
        try:
            condition = filter_condition(view.filters, user)
        except (TypeError, ValueError):  # a hand-edited view with a bad value shows nothing
            condition = Q(pk__in=[])
        views.append(InboxView(f"saved:{view.pk}", view.name, condition, "saved", saved=view))
    return views


def count_views(views: list[InboxView], now: datetime) -> None:
    """Fill every view's count with one aggregate over the live tickets (open or solved lately):
    one pass, not one query per view.

    The live statuses are written exactly as `ticket_live_counts_idx`'s condition, so SQLite
    counts from that covering index alone (the built-in views read only its columns) instead of
    fetching some ten thousand wide rows from a table of a million."""
    live = Ticket.objects.filter(
        Q(status__in_constants=LIVE)
        & (~Q(status=Ticket.Status.SOLVED) | Q(solved_at__gte=now - SOLVED_RECENTLY))
    )
    totals = live.aggregate(
        **{f"v{n}": Count("pk", filter=view.condition) for n, view in enumerate(views)}
    )
    for n, view in enumerate(views):
        view.count = totals[f"v{n}"]


def view_counts_key(user) -> str:
    return f"desk:inbox:view-counts:{user.pk}"


def count_views_shared(user, views: list[InboxView], now: datetime) -> datetime:
    """`count_views`, kept for `COUNTS_FRESH_FOR` (the page says how old the counts are; the
    agent's own bulk actions drop them): at a million tickets the aggregate costs about 15 ms,
    a third of the page. The views that are the same for everyone are counted once for the
    whole team; an agent recounts only their own ("Mine", saved views). Returns when the
    oldest of the counts shown were made."""
    return min(
        _kept_counts(TEAM_VIEW_COUNTS_KEY, [view for view in views if not _personal(view)], now),
        _kept_counts(view_counts_key(user), [view for view in views if _personal(view)], now),
    )


def _personal(view: InboxView) -> bool:
    return view.key == "mine" or view.saved is not None


def _signature(views: list[InboxView]) -> list:
    return [(view.key, view.saved.filters if view.saved else None) for view in views]


def _keep_counts(key: str, views: list[InboxView], now: datetime) -> dict:
    count_views(views, now)
    kept = {"at": now.timestamp(), "views": _signature(views), "counts": [v.count for v in views]}
    cache.set(key, kept, timeout=COUNTS_FRESH_FOR.total_seconds())
    return kept


def _kept_counts(key: str, views: list[InboxView], now: datetime) -> datetime:
    cached = cache.get(key)
    if cached is None or cached["views"] != _signature(views):
        cached = _keep_counts(key, views, now)
    else:
        for view, count in zip(views, cached["counts"], strict=True):
            view.count = count
    return datetime.fromtimestamp(cached["at"], tz=UTC)


def count_tags(limit: int = TAG_VIEWS_SHOWN) -> list[tuple[str, int]]:
    """The most used tags on open tickets with their counts (one grouped query).

    Driven from the open tickets (a subquery on the status index), so its cost follows the
    backlog, not the years of closed history a join from the tag side would walk; still one
    index probe per open ticket (some 30 ms at a backlog of ten thousand), hence the cache in
    `tag_views`."""
    open_ids = Ticket.objects.filter(status__in_constants=OPEN).values("pk")
    rows = (
        Ticket.tags.through.objects.filter(ticket_id__in=open_ids)
        .values_list("tag__name")
        .annotate(count=Count("ticket_id"))
        .order_by("-count", "tag__name")[:limit]
    )
    return [(name, count) for name, count in rows]


def tag_views(now: datetime) -> tuple[list[InboxView], datetime]:
    """The sidebar's tag views and when their counts were made: one count serves every agent
    for `COUNTS_FRESH_FOR` (the page says how old it is), since the tags are the same for
    everyone and counting them costs more than the rest of the inbox."""
    cached = cache.get(TAG_COUNTS_KEY) or _keep_tag_counts(now)
    views = [
        InboxView(f"tag:{name}", name, None, group="tags", count=count)
        for name, count in cached["rows"]
    ]
    return views, datetime.fromtimestamp(cached["at"], tz=UTC)


def _keep_tag_counts(now: datetime) -> dict:
    kept = {"at": now.timestamp(), "rows": count_tags()}
    cache.set(TAG_COUNTS_KEY, kept, timeout=COUNTS_FRESH_FOR.total_seconds())
    return kept


def refresh_team_counts(now: datetime | None = None) -> None:
    """Count the team's views and tags ahead of the requests (`desk-inbox-counts`, more often
    than the counts age out), so an inbox request finds them kept even when agents come by
    once a minute; a request that finds none (no worker, another cache per process) counts."""
    now = now or timezone.now()
    nobody = SimpleNamespace(pk=None)  # the team's views do not depend on who looks
    team = [view for view in builtin_views(nobody, now) if not _personal(view)]
    _keep_counts(TEAM_VIEW_COUNTS_KEY, team, now)
    _keep_tag_counts(now)
    _keep_team_queues(now)


@dataclass(frozen=True)
class TeamQueue:
    """A team's open tickets: the inbox's "All open" view filtered by the team."""

    team_id: int
    name: str
    count: int


def count_team_queues() -> list[TeamQueue]:
    """Every team with its open tickets, by name: one grouped count over the open tickets
    (the status index, not the years of closed history) and the short list of teams."""
    from storedesk.accounts.models import Team

    counts = dict(
        Ticket.objects.filter(status__in_constants=OPEN, team__isnull=False)
        .values_list("team_id")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return [
        TeamQueue(team_id, name, counts.get(team_id, 0))
        for team_id, name in Team.objects.order_by("name", "pk").values_list("pk", "name")
    ]


def team_queues(now: datetime) -> tuple[list[TeamQueue], datetime]:
    """The teams' queues and when they were counted, kept like the inbox's team counts and
    refreshed by the same job, so Home and the inbox show the same figures."""
    cached = cache.get(TEAM_QUEUE_COUNTS_KEY) or _keep_team_queues(now)
    return [TeamQueue(*row) for row in cached["rows"]], datetime.fromtimestamp(cached["at"], tz=UTC)


def _keep_team_queues(now: datetime) -> dict:
    rows = [(queue.team_id, queue.name, queue.count) for queue in count_team_queues()]
    kept = {"at": now.timestamp(), "rows": rows}
    cache.set(TEAM_QUEUE_COUNTS_KEY, kept, timeout=COUNTS_FRESH_FOR.total_seconds())
    return kept


def view_for_key(key: str, views: list[InboxView]) -> InboxView | None:
    """The view a URL names; a tag view works for any tag, listed or not (its condition is
    built here, for the one view shown, not for every tag in the sidebar), and
    `customer:<id>` lists every ticket of one customer, whatever its status."""
    for view in views:
        if view.key == key and view.condition is not None:
            return view
    if key.startswith("customer:") and key[9:].isdigit() and len(key) <= 18:
        return InboxView(key, _("This customer's tickets"), Q(customer_id=int(key[9:])), "customer")
    if key.startswith("tag:") and key[4:]:
        name = key[4:]
        count = next((view.count for view in views if view.key == key), None)
        condition = Q(status__in_constants=OPEN) & has_tag(name)
        return InboxView(key, name, condition, group="tags", count=count)
    return None


# --- the ticket list, keyset-paginated ---------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the last row's (last_message_at, pk); `at` None for tickets that
    have no message yet, which sort after all others."""

    at: datetime | None
    pk: int

    def encode(self) -> str:
        micros = "n" if self.at is None else str(int(self.at.timestamp() * 1_000_000))
        return f"{micros}.{self.pk}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Raises ValueError for anything that is not a cursor we wrote."""
        micros, _, pk = (text or "").partition(".")
        if not pk.isdigit() or not (micros == "n" or micros.isdigit()):
            raise ValueError("not a cursor")
        if micros == "n":
            return cls(None, int(pk))
        at = datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC)
        return cls(at, int(pk))

    def after(self) -> Q:
        """Rows that come after this position in (last_message_at DESC NULLS LAST, pk DESC)."""
        if self.at is None:
            return Q(last_message_at__isnull=True, pk__lt=self.pk)
        return (
            Q(last_message_at__lt=self.at)
            | Q(last_message_at=self.at, pk__lt=self.pk)
            | Q(last_message_at__isnull=True)
        )


@dataclass
class TicketPage:
    tickets: list[ListedTicket]
    next_cursor: str | None
    is_first: bool


def _last_snippet() -> Subquery:
    """The start of the latest message a customer or agent wrote (notes excluded), read along
    the (ticket, created_at) index for the page's 50 rows only."""
    latest = (
        Message.objects.filter(ticket=OuterRef("pk"))
        .exclude(kind=Message.Kind.NOTE)
        .order_by("-created_at", "-pk")
        .values(snippet=Substr("new_text", 1, SNIPPET_CHARS))[:1]
    )
    return Subquery(latest)


def not_merged(tickets):
    """Tickets not merged into another, as an expression no index answers: nearly every row's
    `merged_into` is NULL, and a planner without statistics would walk that index (all of
    history) instead of the view's own index."""
    return tickets.alias(merged_or_zero=Coalesce("merged_into_id", 0)).filter(merged_or_zero=0)


@dataclass(frozen=True, slots=True)
class ListedTicket:
    """A ticket as a row of the list shows it, read as plain values: no model instances (nor
    their unused fields) for 50 tickets, their assignees, teams, tags and orders."""

    pk: int
    number: int
    subject: str
    requester_email: str
    requester_name: str
    channel: str
    status: str
    priority: int
    message_count: int
    created_at: datetime
    last_message_at: datetime | None
    assignee_name: str  # the display name; "" when nobody is assigned
    team_name: str
    snippet: str
    tags: list[str]
    orders: list[str]


# What a row of the list reads, in ListedTicket's order up to `last_message_at`, then the
# assignee's name columns, the team's name and the snippet: the rest of a ticket (and of its
# assignee) is not read, so 50 rows do not convert a dozen unused dates each.
ROW_FIELDS = (
    "pk",
    "number",
    "subject",
    "requester_email",
    "requester_name",
    "channel",
    "status",
    "priority",
    "message_count",
    "created_at",
    "last_message_at",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
    "team__name",
    "snippet",
)


def _display_name(username: str | None, first_name: str | None, last_name: str | None) -> str:
    """`User.display_name` from the row's columns; "" for no user."""
    if username is None:
        return ""
    return f"{first_name} {last_name}".strip() or username


def ticket_page(condition: Q, cursor: Cursor | None, size: int = PAGE_SIZE) -> TicketPage:
    """One page of tickets, newest activity first, with what each row shows: 4 queries.

    The page's ids are chosen first, reading only the ordering columns; the rows, their last
    message's snippet, tags and orders are then read for those 50 ids alone, so a view with
    thousands of tickets never computes a snippet for rows it does not show.
    """
    tickets = not_merged(Ticket.objects.filter(condition))
    if cursor is not None:
        tickets = tickets.filter(cursor.after())
    ids = list(
        tickets.order_by(F("last_message_at").desc(nulls_last=True), "-pk").values_list(
            "pk", flat=True
        )[: size + 1]
    )
    more = len(ids) > size
    ids = ids[:size]
    if not ids:
        return TicketPage([], None, cursor is None)
    tags: dict[int, list[str]] = {pk: [] for pk in ids}
    for ticket_id, name in (
        Ticket.tags.through.objects.filter(ticket_id__in=ids)
        .order_by("tag__name")
        .values_list("ticket_id", "tag__name")
    ):
        tags[ticket_id].append(name)
    orders: dict[int, list[str]] = {pk: [] for pk in ids}
    for ticket_id, number in (
        Ticket.orders.through.objects.filter(ticket_id__in=ids)
        .order_by("order_id")
        .values_list("ticket_id", "order__number")
    ):
        orders[ticket_id].append(number)
    by_pk = {}
    for *ticket, username, first_name, last_name, team_name, snippet in (
        Ticket.objects.filter(pk__in=ids).annotate(snippet=_last_snippet()).values_list(*ROW_FIELDS)
    ):
        pk = ticket[0]
        by_pk[pk] = ListedTicket(
            *ticket,
            assignee_name=_display_name(username, first_name, last_name),
            team_name=team_name or "",
            snippet=snippet or "",
            tags=tags[pk],
            orders=orders[pk],
        )
    rows = [by_pk[pk] for pk in ids if pk in by_pk]
    next_cursor = Cursor(rows[-1].last_message_at, rows[-1].pk).encode() if more and rows else None
    return TicketPage(rows, next_cursor, cursor is None)


def tickets_by_numbers(numbers: list[int]) -> list[Ticket]:
    """The tickets a bulk action names, locked order (by pk) for the services."""
    return list(Ticket.objects.filter(number__in=numbers).order_by("pk"))


# --- the ticket page ---------------------------------------------------------------------------


# What the ticket page shows of a ticket, its store and its customer: the rest (the customer's
# addresses and other JSON, the mailbox, the people on copy) is not read or decoded per view.
TICKET_PAGE_FIELDS = (
    "number",
    "subject",
    "requester_email",
    "requester_name",
    "channel",
    "status",
    "priority",
    "stage",
    "assignee",
    "team",
    "merged_into",
    "follow_up_at",
    "message_count",
    "created_at",
    "store__name",
    "follow_up_of__number",
    "customer__email",
    "customer__first_name",
    "customer__last_name",
    "customer__phone",
    "customer__timezone",
    "customer__is_vip",
    "customer__orders_count",
    "customer__total_spent",
    "customer__currency",
    "customer__first_order_at",
    "customer__last_order_at",
)


def ticket_for_page(number: int) -> Ticket:
    """One ticket with what its page shows, and no more: its tag names and linked orders
    are read as plain rows (`tag_names`, `linked_orders`), not through prefetch machinery.
    Raises Ticket.DoesNotExist."""
    ticket = (
        Ticket.objects.select_related("customer", "store", "follow_up_of")
        .only(*TICKET_PAGE_FIELDS)
        .get(number=number)
    )
    ticket.tag_names = list(
        Ticket.tags.through.objects.filter(ticket_id=ticket.pk)
        .order_by("tag__name")
        .values_list("tag__name", flat=True)
    )
    ticket.linked_orders = list(
        Order.objects.filter(tickets=ticket.pk).only("pk", "number").order_by("pk")
    )
    return ticket


def ticket_for_action(number: int) -> Ticket:
    """One ticket with everything an action on it may touch, and the page's `tag_names` and
    `linked_orders` (an action that fails shows the page again). Raises Ticket.DoesNotExist."""
    ticket = (
        Ticket.objects.select_related(
            "customer", "assignee", "team", "merged_into", "follow_up_of", "mailbox", "store"
        )
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name")),
            Prefetch("orders", queryset=Order.objects.only("pk", "number").order_by("pk")),
            "participants",
        )
        .get(number=number)
    )
    ticket.tag_names = [tag.name for tag in ticket.tags.all()]
    ticket.linked_orders = list(ticket.orders.all())
    return ticket


@dataclass
class TimelineItem:
    at: datetime
    kind: str  # "message" or "event"
    message: Message | None = None
    event: TicketEvent | None = None


@dataclass
class Timeline:
    items: list[TimelineItem] = field(default_factory=list)
    earlier_hidden: int = 0
    last_message_pk: int = 0


# What the conversation shows of a message and its author: the headers, references and the
# rest of a message are not read (nor their JSON decoded) for every message on screen.
MESSAGE_SHOWN_FIELDS = (
    "kind",
    "author",
    "from_email",
    "from_name",
    "cc",
    "text",
    "html",
    "new_text",
    "quoted_text",
    "is_automatic",
    "automatic_reason",
    "delivery",
    "delivery_error",
    "created_at",
    "author__username",
    "author__first_name",
    "author__last_name",
)


def _messages_shown(ticket: Ticket):
    return (
        Message.objects.filter(ticket=ticket)
        .select_related("author")
        .only(*MESSAGE_SHOWN_FIELDS)
        .prefetch_related(
            Prefetch(
                "attachments",
                queryset=Attachment.objects.order_by("pk"),
                to_attr="attachment_list",  # a list per message, not a queryset per message
            )
        )
    )


def timeline_of(ticket: Ticket, limit: int = TIMELINE_MESSAGES) -> Timeline:
    """Messages and timeline events in time order: the latest `limit` messages with their
    attachments (`attachment_list`) and the events of the same period (3 queries)."""
    messages = list(_messages_shown(ticket).order_by("-created_at", "-pk")[: limit + 1])
    hidden = 0
    if len(messages) > limit:
        messages = messages[:limit]
        hidden = max(ticket.message_count - limit, 1)
    messages.reverse()
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor")
    if hidden and messages:
        events = events.filter(created_at__gte=messages[0].created_at)
    items = [TimelineItem(m.created_at, "message", message=m) for m in messages]
    items += [TimelineItem(e.created_at, "event", event=e) for e in events.order_by("pk")]
    items.sort(key=lambda item: (item.at, item.kind == "message"))
    last = max((m.pk for m in messages), default=0)
    return Timeline(items, hidden, last)


def messages_after(
    ticket: Ticket, after_message_pk: int, limit: int = LIVE_MESSAGES
) -> list[Message]:
    """The ticket's messages newer than the one the page shows last, as the timeline renders
    them (author, attachments): what the live ticket page appends (2 queries)."""
    return list(_messages_shown(ticket).filter(pk__gt=after_message_pk).order_by("pk")[:limit])


def replies_since(ticket: Ticket, after_message_pk: int, user) -> list[Message]:
    """Replies other people sent on this ticket after the given message: the collision check."""
    return list(
        Message.objects.filter(ticket=ticket, kind=Message.Kind.OUTBOUND, pk__gt=after_message_pk)
        .exclude(author_id=user.pk)
        .select_related("author")
        .order_by("-pk")[:5]
    )


def last_message_pk(ticket: Ticket) -> int:
    return Message.objects.filter(ticket=ticket).aggregate(last=Max("pk"))["last"] or 0


# What the side panel shows of an order, its payments, shipments and risk: not the addresses,
# the provider's raw payment objects or the risk's signals, decoded for every order shown.
SIDE_PANEL_ORDER_FIELDS = (
    "number",
    "created_at",
    "currency",
    "total_price",
    "financial_status",
    "fulfillment_status",
    "risk__status",
    "risk__score",
)
SIDE_PANEL_PAYMENT_FIELDS = (
    "order",
    "gateway",
    "method",
    "status",
    "card_brand",
    "card_last4",
    "payer_status",
    "seller_protection",
    "avs_line1_check",
    "avs_postal_check",
    "cvc_check",
    "risk_level",
)
SIDE_PANEL_SHIPMENT_FIELDS = ("order", "carrier", "tracking_number", "tracking_url", "status")


def side_panel_orders(
    ticket: Ticket,
    limit: int = SIDE_PANEL_ORDERS,
    *,
    with_refunds: bool = False,
    with_disputes: bool = False,
) -> list[Order]:
    """The linked orders and the customer's latest ones, with payments, shipments and their
    tracking events (`payment_list`, `shipment_list`, `event_list`: lists, not a queryset
    built per order and per shipment), and the risk assessment: 4 queries for any number of
    orders; their refunds (`refund_list`) and disputes (`dispute_list`) one more each."""
    linked = [order.pk for order in ticket.linked_orders]
    condition = Q(pk__in=linked)
    if ticket.customer_id:
        latest = list(
            Order.objects.filter(customer_id=ticket.customer_id)
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)[:limit]
        )
        condition |= Q(pk__in=latest)
    if not linked and not ticket.customer_id:
        return []
    orders = list(
        Order.objects.filter(condition)
        .select_related("risk")
        .only(*SIDE_PANEL_ORDER_FIELDS)
        .prefetch_related(
            Prefetch(
                "payments",
                queryset=Payment.objects.only(*SIDE_PANEL_PAYMENT_FIELDS).order_by(
                    "created_at", "pk"
                ),
                to_attr="payment_list",
            ),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.only(*SIDE_PANEL_SHIPMENT_FIELDS)
                .order_by("shipped_at", "pk")
                .prefetch_related(
                    Prefetch(
                        "events",
                        queryset=ShipmentEvent.objects.only(
                            "shipment", "happened_at", "status", "message", "city", "country"
                        ).order_by("-happened_at", "-pk"),
                        to_attr="event_list",
                    )
                ),
                to_attr="shipment_list",
            ),
        )
        .order_by("-created_at", "-pk")
    )
    ids = [order.pk for order in orders]
    refunds = refunds_of_orders(ids) if with_refunds else {}
    disputes = disputes_of_orders(ids) if with_disputes else {}
    for order in orders:
        order.is_linked = order.pk in linked
        order.refund_list = refunds.get(order.pk, [])
        order.dispute_list = disputes.get(order.pk, [])
    orders.sort(key=lambda order: not order.is_linked)  # stable: linked first, newest first
    return orders


def previous_tickets(ticket: Ticket, limit: int = PREVIOUS_TICKETS) -> list[Ticket]:
    """The requester's other tickets, newest first, along the customer or requester index."""
    if ticket.customer_id:
        others = Ticket.objects.filter(customer_id=ticket.customer_id)
    elif ticket.requester_email:
        others = Ticket.objects.filter(requester_email=ticket.requester_email)
    else:
        return []
    return list(
        others.exclude(pk=ticket.pk)
        .only("pk", "number", "subject", "status", "created_at")
        .order_by("-created_at", "-pk")[:limit]
    )


def attachment_for_download(pk: int) -> Attachment:
    """Raises Attachment.DoesNotExist."""
    return Attachment.objects.select_related("message").get(pk=pk)


def reply_templates() -> list[ReplyTemplate]:
    """The composer's template picker: active templates by category and name."""
    return list(
        ReplyTemplate.objects.filter(is_active=True)
        .only("pk", "name", "category", "version", "subject", "body")
        .order_by("category", "name")
    )


def reply_template_groups(
    facts: frozenset[str] | None = None,
) -> list[tuple[str, list[tuple[str, str]]]]:
    """`reply_templates` as the picker lists them: (category label, [(pk, name)]), the labels
    looked up once rather than per template. With the ticket's `facts`, only the templates
    it has every fact for (`replies.is_offered`)."""
    labels = {value: str(label) for value, label in ReplyTemplate.Category.choices}
    templates = reply_templates()
    if facts is not None:
        templates = [template for template in templates if is_offered(template, facts)]
    return [
        (label, [(str(template.pk), template.name) for template in group])
        for label, group in groupby(
            templates, key=lambda template: labels.get(template.category, template.category)
        )
    ]


# What a ticket list on a customer or order page shows of each ticket.
TICKET_ROW_FIELDS = ("pk", "number", "subject", "status", "channel", "created_at")


def tickets_of_customer(customer_id: int, limit: int = CUSTOMER_TICKETS) -> list[Ticket]:
    """The customer's latest tickets, newest first, along `ticket_customer_idx` (one query;
    `limit + 1` rows are read, so the page knows whether there are more than it shows)."""
    return list(
        Ticket.objects.filter(customer_id=customer_id)
        .only(*TICKET_ROW_FIELDS)
        .order_by("-created_at", "-pk")[: limit + 1]
    )


def tickets_about_order(order: Order, limit: int = CUSTOMER_TICKETS) -> list[Ticket]:
    """The tickets linked to the order, newest first (one query through the link table)."""
    return list(
        Ticket.objects.filter(orders=order.pk)
        .only(*TICKET_ROW_FIELDS)
        .order_by("-created_at", "-pk")[: limit + 1]
    )
