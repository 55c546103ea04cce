"""Department queues: the tickets other teams handed off to a department."""

from django.shortcuts import get_object_or_404, render

from storedesk.accounts.models import Team
from storedesk.core.pagination import paginate
from storedesk.core.permissions import permission_required
from storedesk.triage import queries
from storedesk.triage.views import PER_PAGE


@permission_required("desk.view_ticket")
def departments(request):
    """Every department with how many hand-offs wait for it, to see where work piles up."""
    return render(
        request,
        "triage/departments.html",
        {"teams": queries.departments_with_open_handoffs()},
    )


@permission_required("desk.view_ticket")
def department(request, slug: str):
    """One department's open hand-offs, newest first: its to-do list."""
    team = get_object_or_404(Team, slug=slug)
    return render(
        request,
        "triage/department.html",
        {"team": team, "page": paginate(request, queries.department_queue(team), PER_PAGE)},
    )
