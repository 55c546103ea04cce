"""Background work of the experience app: the outbox events it handles, by feature."""

from storedesk.core.events import handles
from storedesk.experience.services import do_record_contact_after_help

# --- help center


@handles("contact_after_help")
def count_contact_after_help(event) -> None:
    """A contact form or chat opened by a visitor who had been shown help articles: the
    deflection report counts it as not deflected (recorded once per ticket)."""
    payload = event.payload
    do_record_contact_after_help(
        help_session=payload.get("help_session", ""),
        ticket_id=payload["ticket_id"],
        channel=payload.get("channel", ""),
        store_id=payload.get("store_id"),
    )
