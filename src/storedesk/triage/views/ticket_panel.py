"""The triage panel beside a ticket: its SLA clocks, priority score and reasons, the intent's
checklist, and handing the ticket off to a department and back."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from storedesk.core.permissions import permission_required
from storedesk.desk.models import Ticket
from storedesk.triage import queries
from storedesk.triage.forms import ChecklistStepForm, HandoffForm, HandoffReturnForm
from storedesk.triage.playbooks import checklist
from storedesk.triage.services import do_hand_off, do_return_handoff, do_set_step


def _ticket(number: int) -> Ticket:
    return get_object_or_404(queries.panel_tickets(), number=number)


def _panel(request, ticket: Ticket, *, error: str = "", status: int = 200):
    playbook, steps = checklist(ticket)
    panel = queries.ticket_panel(ticket)
    return render(
        request,
        "triage/_ticket_panel.html",
        {
            "ticket": ticket,
            "sla": panel.sla,
            "now": timezone.now(),
            "score": panel.score,
            "playbook": playbook,
            "steps": steps,
            "open_handoff": panel.open_handoff,
            "teams": panel.other_teams,
            "error": error,
            "can_change": request.user.has_perm("desk.change_ticket"),
        },
        status=status,
    )


@permission_required("desk.view_ticket")
def ticket_panel(request, number: int):
    """Loaded by htmx beside the ticket, so the ticket page's own queries stay the same."""
    return _panel(request, _ticket(number))


@require_POST
@permission_required("desk.change_ticket")
def ticket_step(request, number: int):
    """Tick a checklist step (done, skipped, to do), so the next agent sees what is done."""
    ticket = _ticket(number)
    playbook, _steps = checklist(ticket)
    if playbook is None:
        return _panel(request, ticket, error=_("This ticket has no playbook."), status=400)
    form = ChecklistStepForm(request.POST)
    form.is_valid()  # free text: the service checks the step and the status
    try:
        do_set_step(
            ticket,
            playbook,
            form.cleaned_data["step"],
            form.cleaned_data["status"],
            actor=request.user,
        )
    except ValidationError as problem:
        return _panel(request, ticket, error=problem.messages[0], status=400)
    return _panel(request, ticket)


@require_POST
@permission_required("desk.change_ticket")
def ticket_handoff(request, number: int):
    """Send the ticket to a department with a summary; its owner gets it back afterwards."""
    ticket = _ticket(number)
    form = HandoffForm(request.POST)
    if not form.is_valid():
        return _panel(request, ticket, error=form.first_error(), status=400)
    try:
        do_hand_off(
            ticket,
            to_team=form.cleaned_data["team"],
            summary=form.cleaned_data["summary"],
            actor=request.user,
        )
    except ValidationError as problem:
        return _panel(request, ticket, error=problem.messages[0], status=400)
    return _panel(request, _ticket(number))


@require_POST
@permission_required("desk.change_ticket")
def handoff_return(request, pk: int):
    """The department is done: the ticket goes back to its owner with the outcome."""
    handoff = get_object_or_404(queries.handoffs_with_tickets(), pk=pk)
    form = HandoffReturnForm(request.POST)
    form.is_valid()  # free text: the service checks it
    try:
        do_return_handoff(handoff, outcome=form.cleaned_data["outcome"], actor=request.user)
    except ValidationError as problem:
        return _panel(request, handoff.ticket, error=problem.messages[0], status=400)
    return _panel(request, _ticket(handoff.ticket.number))
