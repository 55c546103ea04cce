"""The ticket as outgoing webhooks show it: registered with `core.webhooks` (which sits below
the desk) by `DeskConfig.ready()`, so each ticket event's body carries the ticket as it is now."""

from storedesk.core.webhooks import register_subject
from storedesk.desk.models import Ticket


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


def register() -> None:
    register_subject("ticket_id", "ticket", ticket_for_webhook)
