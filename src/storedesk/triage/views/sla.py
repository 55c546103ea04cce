"""SLA policies (targets per priority, channel and tier) and the SLA report (first response,
resolution and breaches for a range of days, as a page or CSV)."""

import csv
import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from storedesk.core.pagination import paginate
from storedesk.core.permissions import permission_required
from storedesk.desk.models import Channel, Ticket
from storedesk.triage import queries
from storedesk.triage.forms import SlaPolicyForm
from storedesk.triage.models import SlaPolicy
from storedesk.triage.services import do_save_policy
from storedesk.triage.views import PER_PAGE


@permission_required("triage.view_slapolicy")
def sla_policies(request):
    """The promises the desk keeps (reply and resolve within business minutes) and how many
    tickets are close to breaking one; leads change the targets here."""
    error, status = "", 200
    if request.method == "POST":
        if not request.user.has_perm("triage.change_slapolicy"):
            return render(request, "error.html", status=403)
        form = SlaPolicyForm(request.POST)
        policy = get_object_or_404(SlaPolicy, pk=form.policy_id())
        try:
            if not form.is_valid():
                raise ValidationError(form.first_error())
            do_save_policy(policy, actor=request.user, **form.targets())
            messages.success(request, _("Policy “%(name)s” saved.") % {"name": policy.name})
            return redirect("triage:sla")
        except ValidationError as problem:
            error, status = problem.messages[0], 400
    return render(
        request,
        "triage/sla.html",
        {
            "policies": queries.sla_policies(),
            "error": error,
            "at_risk_count": queries.sla_at_risk(timezone.now()).count(),
            "can_change": request.user.has_perm("triage.change_slapolicy"),
            "channels": dict(Channel.choices),
            "priorities": dict(Ticket.Priority.choices),
        },
        status=status,
    )


# --- the SLA report --------------------------------------------------------------------------

GROUP_LABELS = {
    "policy": gettext_lazy("SLA policy"),
    "priority": gettext_lazy("Priority"),
    "channel": pgettext_lazy("the way a ticket arrived: email, chat, web form", "Channel"),
}


def _minutes(value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _report_csv(report) -> HttpResponse:
    period = report.period
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="sla-report-{period.start}-{period.end}-{report.group_by}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        [
            report.group_by,
            "tickets",
            "open",
            "responded",
            "first_response_median_business_min",
            "first_response_p90_business_min",
            "first_response_within_target_pct",
            "resolved",
            "resolution_median_business_min",
            "resolution_p90_business_min",
            "resolution_within_target_pct",
            "breaches",
            "breached_tickets",
        ]
    )
    for row in [*report.rows, report.total]:
        writer.writerow(
            [
                row.label,
                row.tickets,
                row.open,
                row.responded,
                _minutes(row.first_response.get("median")),
                _minutes(row.first_response.get("p90")),
                _minutes(row.first_response_within_pct),
                row.resolved,
                _minutes(row.resolution.get("median")),
                _minutes(row.resolution.get("p90")),
                _minutes(row.resolution_within_pct),
                row.breaches,
                row.breached_tickets,
            ]
        )
    return response


class _Echo:
    def write(self, value):
        return value


def _tickets_csv(period) -> StreamingHttpResponse:
    """Every ticket of the range, streamed (read in chunks, never all in memory)."""
    writer = csv.writer(_Echo())
    zone = period.zone

    def rows():
        yield writer.writerow(
            [
                "ticket",
                "created_team_time",
                "channel",
                "priority",
                "status",
                "sla_policy",
                "first_response_business_min",
                "resolution_business_min",
                "breaches",
            ]
        )
        for ticket in queries.report_ticket_rows(period).iterator(chunk_size=2000):
            sla = getattr(ticket, "sla", None)
            yield writer.writerow(
                [
                    ticket.number,
                    timezone.localtime(ticket.created_at, zoneinfo.ZoneInfo(zone)).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                    ticket.channel,
                    ticket.priority,
                    ticket.status,
                    sla.policy.name if sla and sla.policy_id else "",
                    _minutes(sla.first_response_business_minutes if sla else None),
                    _minutes(sla.resolution_business_minutes if sla else None),
                    sla.breach_count if sla else 0,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="sla-tickets-{period.start}-{period.end}.csv"'
    )
    return response


@permission_required("triage.view_sla_report")
def sla_report_page(request):
    """First response, resolution and breaches per policy, priority or channel for a range of
    days in the team's zone; CSV of the figures or of the tickets behind them."""
    zone = queries.team_zone()
    group_by = request.GET.get("group", "policy")
    error, status = "", 200
    if group_by not in queries.GROUP_FIELDS:
        error, status, group_by = _("Group by policy, priority or channel."), 400, "policy"
    try:
        period = queries.report_range(request.GET.get("from"), request.GET.get("to"), zone)
    except ValueError as problem:
        error, status = str(problem), 400
        period = queries.report_range(None, None, zone)
    if not error and request.GET.get("format") == "csv":
        if request.GET.get("rows") == "tickets":
            return _tickets_csv(period)
        return _report_csv(queries.sla_report(period, group_by))
    query = {"from": period.start.isoformat(), "to": period.end.isoformat(), "group": group_by}
    return render(
        request,
        "triage/sla_report.html",
        {
            "report": queries.sla_report(period, group_by),
            "period": period,
            "group_by": group_by,
            "group_label": GROUP_LABELS[group_by],
            "groups": GROUP_LABELS,
            "page": paginate(request, queries.report_ticket_rows(period), PER_PAGE),
            "query": query,
            "error": error,
        },
        status=status,
    )
