"""What the desk tells the help center (a higher app) about customers who write to us after
it suggested articles: an outbox event the help center counts in its deflection report."""

from __future__ import annotations

import re

from storedesk.core.events import record_event
from storedesk.desk.models import Ticket

HELP_SESSION = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def record_contact_after_help(ticket: Ticket, help_session: str, channel: str) -> None:
    """Tell the help center (above us) that a visitor it may have shown articles to opened a
    ticket anyway: its deflection report counts those."""
    if help_session and HELP_SESSION.match(help_session):
        record_event(
            "contact_after_help",
            ticket_id=ticket.pk,
            help_session=help_session,
            channel=channel,
            store_id=ticket.store_id,
        )
