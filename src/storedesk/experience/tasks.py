"""Background work of the experience app: the outbox events it handles and its periodic jobs,
one section per feature."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.events import handles
from storedesk.core.scheduler import periodic
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


# --- tracking --------------------------------------------------------------------------------


@handles("shipment_tracking_updated")
def notice_carrier_exception(event) -> None:
    """A carrier exception or failed delivery is told to the customer before they write."""
    from storedesk.experience.services.tracking import (
        EXCEPTION_STATUSES,
        do_record_shipping_problem,
    )

    if event.payload.get("status") in EXCEPTION_STATUSES and event.payload.get("shipment_id"):
        do_record_shipping_problem(event.payload["shipment_id"], "exception")


@periodic("tracking-stuck-parcels", every=timedelta(hours=1))
@task()
def notice_stuck_parcels() -> int:
    """Hourly: parcels with no carrier scan for longer than their carrier's usual gap are
    recorded once and their customers told."""
    from storedesk.experience.queries import stuck_shipments
    from storedesk.experience.services.tracking import do_record_shipping_problem

    found = stuck_shipments()
    for shipment_id, _order_id, _last_seen in found:
        do_record_shipping_problem(shipment_id, "stuck")
    return len(found)
