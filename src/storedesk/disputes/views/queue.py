"""The disputes workspace: every gateway's disputes by deadline, in the team's time zone."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from storedesk.commerce.queries import current_store
from storedesk.core.permissions import permission_required
from storedesk.disputes import queries
from storedesk.disputes.forms import QueueFilterForm

PAGE_SIZE = 50
VIEW = "disputes.view_dispute"


@permission_required(VIEW)
def queue(request):
    """Overdue first, then due within 48 business hours, then later; filters never 500."""
    form = QueueFilterForm(request.GET or None, user=request.user)
    chosen = form.queue_filter()
    page = Paginator(queries.dispute_queue(chosen), PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    calendar = queries.team_calendar()
    cutoff = queries.urgent_cutoff(now, calendar)
    rows = [(dispute, queries.urgency(dispute, now, cutoff)) for dispute in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "disputes/queue.html",
        {
            "store": current_store(),
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "team_zone": calendar.zone,
            "reminders": queries.my_reminders(request.user),
            "warnings": queries.early_fraud_cases(),
        },
    )


@permission_required(VIEW)
def nav_count(request):
    """The navigation badge, loaded by htmx so other pages keep their query counts."""
    waiting, urgent = queries.needing_response_count()
    return render(request, "disputes/_nav_count.html", {"waiting": waiting, "urgent": urgent})


urlpatterns = [
    path("", queue, name="queue"),
    path("count/", nav_count, name="nav_count"),
]


@permission_required(VIEW)
def ticket_risk(request, number: int):
    """The ticket's dispute-risk panel (loaded by htmx on the ticket page)."""
    risk = queries.ticket_dispute_risk(number)
    if risk is None:
        raise Http404
    return render(request, "disputes/_ticket_risk.html", risk)


urlpatterns.append(path("ticket/<int:number>/risk/", ticket_risk, name="ticket_risk"))
