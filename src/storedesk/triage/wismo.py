"""Self-answering "where is my order": the live tracking status and ETA, sent automatically.

Only when the message is about order status and names (or the ticket links) one order of the
sender's own: an order number belonging to someone else is never looked up for them. The
reply is the shipped template filled from the shipment data; the ticket waits on the customer
(pending), and the agent sees the reply on the timeline like any other.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from storedesk.commerce.models import Order, Shipment
from storedesk.commerce.services.tracking import tracking_states
from storedesk.desk.models import ReplyTemplate, Ticket
from storedesk.triage.models import MessageAnalysis

IN_TRANSIT_TEMPLATE = "Where is my order: on its way"
NOT_SHIPPED_TEMPLATE = "Where is my order: still being made"
SIGNATURE = "The Care team"


def wismo_order(ticket: Ticket, analysis: MessageAnalysis) -> Order | None:
    """The one order the message is about, among the sender's own orders. When the message
    names orders (by number or tracking number), only those count: a number that is not the
    sender's is never answered, not even with their other order. Otherwise the sender's one
    recent order, or the one order linked to the ticket."""
    if not ticket.customer_id:
        return None
    own = Order.objects.filter(customer_id=ticket.customer_id)
    refs = [ref if isinstance(ref, dict) else {"value": str(ref)} for ref in analysis.order_refs]
    named = [ref for ref in refs if ref.get("kind") != "recent_order"]
    chosen = named or [ref for ref in refs if ref.get("kind") == "recent_order"]
    if chosen:
        # order_id: resolved as the sender's own by the analysis; else the number as written.
        resolved = {ref["order_id"] for ref in chosen if ref.get("order_id")}
        values = {str(ref.get("value", "")) for ref in chosen}
        numbers = {v if v.startswith("#") else f"#{v}" for v in values} | values
        found = list(own.filter(Q(pk__in=resolved) | Q(number__in=numbers)).distinct()[:2])
        return found[0] if len(found) == 1 else None
    linked = list(ticket.orders.filter(customer_id=ticket.customer_id)[:2])
    return linked[0] if len(linked) == 1 else None


def wismo_template(order: Order) -> ReplyTemplate | None:
    shipped = Shipment.objects.filter(order=order).exclude(tracking_number="").exists()
    name = IN_TRANSIT_TEMPLATE if shipped else NOT_SHIPPED_TEMPLATE
    return ReplyTemplate.objects.filter(name=name, is_active=True).first()


def wismo_held_reason(order: Order) -> str:
    """Why the automatic "on its way" answer would be wrong for this parcel ('' if it fits):
    stuck, delivered (the customer is asking about a parcel the carrier says arrived), or
    in trouble at the carrier. Such tickets are left to a person."""
    state = tracking_states([order.pk]).get(order.pk)
    if state is None:
        return ""
    if state.stuck:
        return _("the parcel is stuck (no carrier scan for days): left to a person")
    if state.delivered:
        return _("the carrier says delivered: left to a person")
    if state.exception or state.returned:
        return _("the carrier reports a problem: left to a person")
    return ""
