"""Departments and hand-offs (C7): a ticket goes to another team's queue with a summary and
the facts they need (order, shipment, photos), and comes back to its owner when they are done.
"""

from __future__ import annotations

from storedesk.commerce.models import Shipment
from storedesk.desk.models import Attachment, Message, Ticket

MAX_SUMMARY = 4000


def handoff_facts(ticket: Ticket) -> dict:
    """What the receiving department should not have to look up: orders, shipment, photos."""
    orders = list(ticket.orders.order_by("-created_at")[:5])
    shipment = (
        Shipment.objects.filter(order__in=orders).order_by("-shipped_at", "-pk").first()
        if orders
        else None
    )
    photos = Attachment.objects.filter(
        message__ticket=ticket,
        message__kind=Message.Kind.INBOUND,
        content_type__startswith="image/",
    ).order_by("pk")[:20]
    return {
        "orders": [
            {"number": o.number, "total": str(o.total_price), "currency": o.currency}
            for o in orders
        ],
        "shipment": (
            {
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "status": shipment.status,
            }
            if shipment
            else None
        ),
        "photos": [{"id": a.pk, "filename": a.filename} for a in photos],
    }
