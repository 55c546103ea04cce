"""What the desk adds to the layers below it, which cannot import the desk: commerce's pages
(Home's queues, the tickets of an order or a customer, via `commerce.extensions`), the
ticket in outgoing webhook bodies (via `core.webhooks.register_subject`), and a dispute's
conversation transcript and ticket lookup (via `disputes.extensions`). `DeskConfig.ready()`
calls `register()`."""

from django.db.models import Prefetch, Q

from storedesk.commerce import extensions
from storedesk.core.webhooks import register_subject
from storedesk.desk import queries
from storedesk.desk.models import Attachment, Message, Ticket
from storedesk.disputes import extensions as dispute_extensions

VIEW_TICKETS = "desk.view_ticket"
HOME_VIEWS = ("mine", "unassigned", "open", "urgent", "pending", "on_hold")
HOME_DEADLINES = ("overdue", "sla_at_risk")


def home_queues(*, user, now) -> dict:
    """The inbox's own views and counts (kept for the whole team, so Home and the inbox
    sidebar show the same figures), and the open tickets of each team."""
    views = queries.builtin_views(user, now) + queries.saved_inbox_views(
        user, queries.saved_views_of(user)
    )
    counted_at = queries.count_views_shared(user, views, now)
    teams, teams_counted_at = queries.team_queues(now)
    by_key = {view.key: view for view in views}
    return {
        "queue_views": [by_key[key] for key in HOME_VIEWS],
        "deadline_views": [by_key[key] for key in HOME_DEADLINES],
        "saved_views": [view for view in views if view.group == "saved"],
        "team_queues": teams,
        "counts_age": int((now - min(counted_at, teams_counted_at)).total_seconds()),
    }


def order_tickets(*, user, order) -> dict:
    """The tickets about the order and the customer's other tickets (two indexed queries)."""
    limit = queries.CUSTOMER_TICKETS
    about = queries.tickets_about_order(order, limit)
    others = queries.tickets_of_customer(order.customer_id, limit) if order.customer_id else []
    about_pks = {ticket.pk for ticket in about}
    return {
        "order_tickets": about[:limit],
        "more_order_tickets": len(about) > limit,
        "other_tickets": [ticket for ticket in others[:limit] if ticket.pk not in about_pks],
        "more_other_tickets": len(others) > limit,
    }


def customer_tickets(*, user, customer) -> dict:
    """The customer's latest tickets, and whether there are more."""
    tickets = queries.tickets_of_customer(customer.pk)
    return {
        "tickets": tickets[: queries.CUSTOMER_TICKETS],
        "more_tickets": len(tickets) > queries.CUSTOMER_TICKETS,
    }


def ticket_for_webhook(ticket_id: int) -> dict | None:
    """The ticket's public fields in one query (None once it is gone)."""
    ticket = (
        Ticket.objects.filter(pk=ticket_id)
        .values(
            "number",
            "subject",
            "status",
            "priority",
            "channel",
            "requester_email",
            "assignee__username",
            "team__name",
            "updated_at",
        )
        .first()
    )
    if ticket is not None:
        ticket["updated_at"] = ticket["updated_at"].isoformat()
        ticket["assignee"] = ticket.pop("assignee__username")
        ticket["team"] = ticket.pop("team__name")
    return ticket


def _iso(moment) -> str:
    return moment.isoformat() if moment else ""


def dispute_conversation(order) -> tuple[list[dict], list[dict]]:
    """The tickets about this order or from this customer, and every message of them (not
    internal notes), oldest first: the whole conversation, as the bank should read it."""
    about = Q(orders=order)
    if order.customer_id:
        about |= Q(customer_id=order.customer_id)
    elif order.email:
        about |= Q(requester_email=order.email.lower())
    tickets = list(
        Ticket.objects.filter(about)
        .distinct()
        .order_by("created_at")
        .only("pk", "number", "subject", "status", "created_at")
    )
    messages = (
        Message.objects.filter(ticket__in=[t.pk for t in tickets])
        .exclude(kind=Message.Kind.NOTE)
        .order_by("created_at", "pk")
        .only(
            "ticket_id",
            "kind",
            "from_name",
            "from_email",
            "subject",
            "text",
            "new_text",
            "created_at",
        )
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.only("message_id", "filename"))
        )
    )
    return (
        [
            {
                "id": t.pk,
                "number": t.number,
                "subject": t.subject,
                "status": t.status,
                "created_at": _iso(t.created_at),
            }
            for t in tickets
        ],
        [
            {
                "ticket": m.ticket_id,
                "from_customer": m.kind == Message.Kind.INBOUND,
                "author": m.from_name or m.from_email,
                "at": _iso(m.created_at),
                "subject": m.subject,
                "text": (m.new_text or m.text).strip(),
                "attachments": [a.filename for a in m.attachments.all()],
            }
            for m in messages
        ],
    )


def ticket_id_of(number: int) -> int | None:
    """The id of the ticket with this number (one indexed query), None when unknown."""
    return Ticket.objects.filter(number=number).values_list("pk", flat=True).first()


def register() -> None:
    extensions.register_page_section("home", "desk_queues", VIEW_TICKETS, home_queues)
    extensions.register_page_section("order", "desk_tickets", VIEW_TICKETS, order_tickets)
    extensions.register_page_section("customer", "desk_tickets", VIEW_TICKETS, customer_tickets)
    register_subject("ticket_id", "ticket", ticket_for_webhook)
    dispute_extensions.register_conversation_source(dispute_conversation)
    dispute_extensions.register_ticket_lookup(ticket_id_of)
