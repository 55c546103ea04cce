"""Hand-offs: sending a ticket to a department and getting it back with the outcome."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.accounts.models import Team
from storedesk.audit.services import record_audit
from storedesk.core.events import record_event
from storedesk.desk.models import Ticket
from storedesk.desk.services import (
    do_add_note,
    do_add_timeline_event,
    do_assign,
    lock_ticket,
)
from storedesk.triage.handoff import MAX_SUMMARY, handoff_facts
from storedesk.triage.models import (
    Handoff,
)


@transaction.atomic
def do_hand_off(ticket: Ticket, *, to_team: Team, summary: str, actor) -> Handoff:
    """Send the ticket to a department's queue; the current owner is remembered."""
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError(_("Write a summary for the department."))
    if len(summary) > MAX_SUMMARY:
        raise ValidationError(_("The summary is too long."))
    ticket = lock_ticket(ticket.pk)
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
    do_add_timeline_event(ticket, "handoff", actor=actor, team=to_team.name, handoff=handoff.pk)
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
    do_add_timeline_event(
        ticket, "handoff_returned", actor=actor, team=handoff.to_team.name, handoff=handoff.pk
    )
    record_audit(
        actor=actor,
        action="triage.handoff_returned",
        obj=ticket,
        changes={"team": handoff.to_team.slug, "handoff": handoff.pk},
    )
    return handoff
