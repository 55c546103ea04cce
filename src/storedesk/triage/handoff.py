"""Departments and hand-offs (C7): a ticket goes to another team's queue with a summary and
the facts they need (order, shipment, photos), and comes back to its owner when they are done.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.accounts.models import Team
from storedesk.audit.services import record_audit
from storedesk.commerce.models import Shipment
from storedesk.core.events import record_event
from storedesk.desk.models import Attachment, Message, Ticket
from storedesk.desk.services import _timeline, do_add_note, do_assign
from storedesk.triage.models import Handoff

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


@transaction.atomic
def do_hand_off(ticket: Ticket, *, to_team: Team, summary: str, actor) -> Handoff:
    """Send the ticket to a department's queue; the current owner is remembered."""
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError(_("Write a summary for the department."))
    if len(summary) > MAX_SUMMARY:
        raise ValidationError(_("The summary is too long."))
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if Handoff.objects.filter(ticket=ticket, status=Handoff.Status.OPEN).exists():
        raise ValidationError(_("This ticket is already with another department."))
    if ticket.team_id == to_team.pk:
        raise ValidationError(_("The ticket is already in that team's queue."))
    handoff = Handoff.objects.create(
        ticket=ticket,
        to_team=to_team,
        from_team_id=ticket.team_id,
        from_assignee_id=ticket.assignee_id,
        summary=summary,
        facts=handoff_facts(ticket),
        created_by=actor,
        created_at=timezone.now(),
    )
    do_assign(ticket, actor=actor, assignee=None, team=to_team)
    do_add_note(ticket, author=actor, text=f"Handed off to {to_team.name}: {summary}")
    _timeline(ticket, "handoff", actor, team=to_team.name, handoff=handoff.pk)
    record_audit(
        actor=actor,
        action="triage.handed_off",
        obj=ticket,
        changes={"team": to_team.slug, "handoff": handoff.pk},
    )
    record_event("ticket_handed_off", ticket_id=ticket.pk, handoff_id=handoff.pk)
    return handoff


@transaction.atomic
def do_return_handoff(handoff: Handoff, *, outcome: str, actor) -> Handoff:
    """The department is done: the ticket goes back to whoever had it, with the outcome."""
    handoff = Handoff.objects.select_for_update().select_related("ticket").get(pk=handoff.pk)
    if handoff.status != Handoff.Status.OPEN:
        raise ValidationError(_("This hand-off was already returned."))
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationError(_("Say what the department found or did."))
    handoff.status = Handoff.Status.RETURNED
    handoff.outcome = outcome[:MAX_SUMMARY]
    handoff.returned_at = timezone.now()
    handoff.save(update_fields=["status", "outcome", "returned_at"])
    ticket = handoff.ticket
    owner = handoff.from_assignee
    if owner is not None and not owner.is_active:
        owner = None  # the owner has left: back to their team's queue, not to nobody's inbox
    do_assign(ticket, actor=actor, assignee=owner, team=handoff.from_team)
    do_add_note(ticket, author=actor, text=f"Back from {handoff.to_team.name}: {outcome}")
    _timeline(ticket, "handoff_returned", actor, team=handoff.to_team.name, handoff=handoff.pk)
    record_audit(
        actor=actor,
        action="triage.handoff_returned",
        obj=ticket,
        changes={"team": handoff.to_team.slug, "handoff": handoff.pk},
    )
    return handoff


def department_queue(team: Team):
    """A department's open hand-offs, newest first (index: to_team, status, -created_at)."""
    return (
        Handoff.objects.filter(to_team=team, status=Handoff.Status.OPEN)
        .select_related("ticket", "created_by")
        .order_by("-created_at")
    )
