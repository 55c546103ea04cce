"""Triage pages: routing rules (with "test against past tickets"), SLA policies, calendars,
playbooks, department queues, and the ticket panel (clocks, priority, checklist, hand-off).
Views check input and permissions and call the services; they hold no business rules."""

from __future__ import annotations

import csv
import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from storedesk.accounts.models import Team
from storedesk.core.permissions import permission_required
from storedesk.core.tasks import enqueue_on_commit
from storedesk.desk.models import Channel, Ticket
from storedesk.triage import calendar as calendars
from storedesk.triage.facts import ATTRIBUTES
from storedesk.triage.handoff import department_queue, do_hand_off, do_return_handoff
from storedesk.triage.intents import Intent, Mood, Threat
from storedesk.triage.jobs import rescore_open_tickets
from storedesk.triage.playbooks import checklist, do_save_playbook, do_set_step, steps_text
from storedesk.triage.priority import (
    LEVEL_KEYS,
    WeightsError,
    bands_text,
    do_save_priority_weights,
    latest_weights,
    level_thresholds,
    weights_from_form,
    weights_of,
)
from storedesk.triage.queries import (
    GROUP_FIELDS,
    report_range,
    report_ticket_rows,
    sla_report,
    team_zone,
)
from storedesk.triage.rules import (
    ACTION_NAMES,
    RuleSyntaxError,
    do_delete_rule,
    do_move_rule,
    do_save_rule,
    try_condition,
)
from storedesk.triage.sla import do_save_policy
from storedesk.triage.workflow_models import (
    BusinessCalendar,
    Handoff,
    Playbook,
    PriorityWeights,
    RoutingRule,
    SlaPolicy,
    TicketPriority,
    TicketSla,
)

PER_PAGE = 50
WEEKDAY_NAMES = [
    gettext_lazy("Monday"),
    gettext_lazy("Tuesday"),
    gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"),
    gettext_lazy("Friday"),
    gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
]


def _page(request, queryset, per_page=PER_PAGE):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


# --- rules -----------------------------------------------------------------------------------


@permission_required("triage.view_routingrule")
def rule_list(request):
    rules = RoutingRule.objects.select_related("updated_by").order_by("position", "pk")
    return render(
        request,
        "triage/rule_list.html",
        {
            "page": _page(request, rules),
            "can_change": request.user.has_perm("triage.change_routingrule"),
        },
    )


@permission_required("triage.view_routingrule")
def rule_edit(request, pk: int | None = None):
    rule = get_object_or_404(RoutingRule, pk=pk) if pk else None
    data = {
        "name": rule.name if rule else "",
        "condition": rule.condition if rule else "",
        "actions": rule.actions if rule else "",
        "stop_processing": rule.stop_processing if rule else False,
        "is_active": rule.is_active if rule else True,
    }
    error, error_field, test = "", "", None
    can_save = request.user.has_perm(
        "triage.add_routingrule" if rule is None else "triage.change_routingrule"
    )
    if request.method == "POST":
        data = {
            "name": request.POST.get("name", ""),
            "condition": request.POST.get("condition", ""),
            "actions": request.POST.get("actions", ""),
            "stop_processing": bool(request.POST.get("stop_processing")),
            "is_active": bool(request.POST.get("is_active")),
        }
        try:
            if request.POST.get("do") == "test":
                test = try_condition(data["condition"])
            elif not can_save:
                error = _("Your role can read rules but not change them.")
            else:
                saved = do_save_rule(rule, actor=request.user, **data)
                messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
                return redirect("triage:rules")
        except RuleSyntaxError as problem:
            error, error_field = problem.messages[0], problem.field
    status = 400 if error else 200
    return render(
        request,
        "triage/rule_form.html",
        {
            "rule": rule,
            "data": data,
            "error": error,
            "error_field": error_field,
            "test": test,
            "can_save": can_save,
            "attributes": sorted(ATTRIBUTES.items()),
            "action_names": ACTION_NAMES,
            "teams": Team.objects.order_by("name"),
        },
        status=status,
    )


@require_POST
@permission_required("triage.change_routingrule")
def rule_move(request, pk: int):
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponseBadRequest(_("Move a rule up or down."))
    do_move_rule(
        get_object_or_404(RoutingRule, pk=pk),
        actor=request.user,
        direction=-1 if direction == "up" else 1,
    )
    return redirect("triage:rules")


@require_POST
@permission_required("triage.delete_routingrule")
def rule_delete(request, pk: int):
    rule = get_object_or_404(RoutingRule, pk=pk)
    do_delete_rule(rule, actor=request.user)
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("triage:rules")


# --- SLA policies and calendars --------------------------------------------------------------


def _int_field(request, name: str) -> int | None:
    value = request.POST.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationError(_("%(field)s must be a whole number.") % {"field": name})
    return int(value)


@permission_required("triage.view_slapolicy")
def sla_policies(request):
    error, status = "", 200
    if request.method == "POST":
        if not request.user.has_perm("triage.change_slapolicy"):
            return render(request, "error.html", status=403)
        policy_id = request.POST.get("policy", "")
        policy = get_object_or_404(SlaPolicy, pk=int(policy_id) if policy_id.isdigit() else 0)
        try:
            do_save_policy(
                policy,
                actor=request.user,
                first_response_minutes=_int_field(request, "first_response_minutes"),
                next_response_minutes=_int_field(request, "next_response_minutes"),
                resolution_minutes=_int_field(request, "resolution_minutes"),
                warn_before_minutes=_int_field(request, "warn_before_minutes"),
                is_active=bool(request.POST.get("is_active")),
            )
            messages.success(request, _("Policy “%(name)s” saved.") % {"name": policy.name})
            return redirect("triage:sla")
        except ValidationError as problem:
            error, status = problem.messages[0], 400
    policies = SlaPolicy.objects.select_related("calendar").order_by("position", "pk")
    at_risk = TicketSla.objects.filter(warn_at__lte=timezone.now(), next_due_at__isnull=False)
    return render(
        request,
        "triage/sla.html",
        {
            "policies": policies,
            "error": error,
            "at_risk_count": at_risk.count(),
            "can_change": request.user.has_perm("triage.change_slapolicy"),
            "channels": dict(Channel.choices),
            "priorities": dict(Ticket.Priority.choices),
        },
        status=status,
    )


@permission_required("triage.view_businesscalendar")
def calendar_list(request):
    return render(
        request,
        "triage/calendar_list.html",
        {"calendars": BusinessCalendar.objects.order_by("name")},
    )


def _hours_from_text(text: str) -> list[list[str]]:
    """'08:30-12:00, 13:30-17:30' → [['08:30', '12:00'], ['13:30', '17:30']]."""
    shifts = []
    for part in (text or "").replace(";", ",").split(","):
        if not part.strip():
            continue
        if "-" not in part:
            raise ValidationError(_("Write shifts as 08:30-12:00, 13:30-17:30."))
        start, end = part.split("-", 1)
        shifts.append([start.strip(), end.strip()])
    return shifts


@permission_required("triage.view_businesscalendar")
def calendar_edit(request, pk: int | None = None):
    calendar = get_object_or_404(BusinessCalendar, pk=pk) if pk else None
    data = {
        "name": calendar.name if calendar else "",
        "timezone": calendar.timezone if calendar else "Asia/Ho_Chi_Minh",
        "working_days": calendar.working_days if calendar else [0, 1, 2, 3, 4, 5],
        "hours": ", ".join(f"{a}-{b}" for a, b in (calendar.hours if calendar else [])),
        "holiday_country": calendar.holiday_country if calendar else "VN",
        "closed_days": "\n".join(calendar.closed_days) if calendar else "",
    }
    error, status = "", 200
    if request.method == "POST":
        if not request.user.has_perm("triage.change_businesscalendar"):
            return render(request, "error.html", status=403)
        data = {
            "name": request.POST.get("name", ""),
            "timezone": request.POST.get("timezone", "").strip(),
            "working_days": [int(d) for d in request.POST.getlist("working_days") if d.isdigit()],
            "hours": request.POST.get("hours", ""),
            "holiday_country": request.POST.get("holiday_country", ""),
            "closed_days": request.POST.get("closed_days", ""),
        }
        try:
            saved = calendars.do_save_calendar(
                calendar,
                actor=request.user,
                name=data["name"],
                timezone=data["timezone"],
                working_days=data["working_days"],
                hours=_hours_from_text(data["hours"]),
                holiday_country=data["holiday_country"],
                closed_days=[d for d in data["closed_days"].split() if d],
            )
            messages.success(request, _("Calendar “%(name)s” saved.") % {"name": saved.name})
            return redirect("triage:calendar", saved.pk)
        except ValidationError as problem:
            error, status = problem.messages[0], 400
    year = timezone.now().year
    holidays = (
        calendars.holiday_names(data["holiday_country"], year)
        + calendars.holiday_names(data["holiday_country"], year + 1)
        if data["holiday_country"] and not error
        else []
    )
    return render(
        request,
        "triage/calendar_form.html",
        {
            "calendar": calendar,
            "data": data,
            "error": error,
            "weekdays": list(enumerate(WEEKDAY_NAMES)),
            "holidays": holidays,
            "can_change": request.user.has_perm("triage.change_businesscalendar"),
        },
        status=status,
    )


# --- playbooks -------------------------------------------------------------------------------


@permission_required("triage.view_playbook")
def playbook_list(request):
    return render(
        request, "triage/playbook_list.html", {"playbooks": Playbook.objects.order_by("intent")}
    )


@permission_required("triage.view_playbook")
def playbook_edit(request, pk: int | None = None):
    playbook = get_object_or_404(Playbook, pk=pk) if pk else None
    data = {
        "intent": playbook.intent if playbook else "",
        "title": playbook.title if playbook else "",
        "steps": steps_text(playbook) if playbook else "",
    }
    error, status = "", 200
    if request.method == "POST":
        if not request.user.has_perm("triage.change_playbook"):
            return render(request, "error.html", status=403)
        data = {key: request.POST.get(key, "") for key in ("intent", "title", "steps")}
        try:
            saved = do_save_playbook(playbook, actor=request.user, **data)
            messages.success(request, _("Playbook “%(title)s” saved.") % {"title": saved.title})
            return redirect("triage:playbooks")
        except ValidationError as problem:
            error, status = problem.messages[0], 400
    return render(
        request,
        "triage/playbook_form.html",
        {
            "playbook": playbook,
            "data": data,
            "error": error,
            "intents": Intent.choices,
            "can_change": request.user.has_perm("triage.change_playbook"),
        },
        status=status,
    )


# --- departments -----------------------------------------------------------------------------


@permission_required("desk.view_ticket")
def departments(request):
    teams = Team.objects.order_by("name")
    counts = dict(
        Handoff.objects.filter(status=Handoff.Status.OPEN)
        .values_list("to_team")
        .annotate(n=Count("pk"))
        .values_list("to_team", "n")
    )
    return render(
        request,
        "triage/departments.html",
        {"teams": [(team, counts.get(team.pk, 0)) for team in teams]},
    )


@permission_required("desk.view_ticket")
def department(request, slug: str):
    team = get_object_or_404(Team, slug=slug)
    return render(
        request,
        "triage/department.html",
        {"team": team, "page": _page(request, department_queue(team))},
    )


# --- the ticket panel ------------------------------------------------------------------------


def _ticket(number: int) -> Ticket:
    return get_object_or_404(Ticket.objects.select_related("team", "assignee"), number=number)


def _panel(request, ticket: Ticket, *, error: str = "", status: int = 200):
    playbook, steps = checklist(ticket)
    sla = TicketSla.objects.filter(ticket=ticket).select_related("policy").first()
    score = TicketPriority.objects.filter(ticket=ticket).first()
    open_handoff = (
        Handoff.objects.filter(ticket=ticket, status=Handoff.Status.OPEN)
        .select_related("to_team", "from_team", "from_assignee")
        .first()
    )
    return render(
        request,
        "triage/_ticket_panel.html",
        {
            "ticket": ticket,
            "sla": sla,
            "now": timezone.now(),
            "score": score,
            "playbook": playbook,
            "steps": steps,
            "open_handoff": open_handoff,
            "teams": Team.objects.exclude(pk=ticket.team_id).order_by("name"),
            "error": error,
            "can_change": request.user.has_perm("desk.change_ticket"),
        },
        status=status,
    )


@permission_required("desk.view_ticket")
def ticket_panel(request, number: int):
    return _panel(request, _ticket(number))


@require_POST
@permission_required("desk.change_ticket")
def ticket_step(request, number: int):
    ticket = _ticket(number)
    playbook, _steps = checklist(ticket)
    if playbook is None:
        return _panel(request, ticket, error=_("This ticket has no playbook."), status=400)
    try:
        do_set_step(
            ticket,
            playbook,
            request.POST.get("step", ""),
            request.POST.get("status", ""),
            actor=request.user,
        )
    except ValidationError as problem:
        return _panel(request, ticket, error=problem.messages[0], status=400)
    return _panel(request, ticket)


@require_POST
@permission_required("desk.change_ticket")
def ticket_handoff(request, number: int):
    ticket = _ticket(number)
    team_id = request.POST.get("team", "")
    team = Team.objects.filter(pk=int(team_id)).first() if team_id.isdigit() else None
    if team is None:
        return _panel(request, ticket, error=_("Choose a department."), status=400)
    try:
        do_hand_off(
            ticket, to_team=team, summary=request.POST.get("summary", ""), actor=request.user
        )
    except ValidationError as problem:
        return _panel(request, ticket, error=problem.messages[0], status=400)
    return _panel(request, _ticket(number))


@require_POST
@permission_required("desk.change_ticket")
def handoff_return(request, pk: int):
    handoff = get_object_or_404(Handoff.objects.select_related("ticket"), pk=pk)
    try:
        do_return_handoff(handoff, outcome=request.POST.get("outcome", ""), actor=request.user)
    except ValidationError as problem:
        return _panel(request, handoff.ticket, error=problem.messages[0], status=400)
    return _panel(request, _ticket(handoff.ticket.number))


# --- priority weights ------------------------------------------------------------------------

WEIGHT_LABELS = {
    "anger": gettext_lazy("Anger (times the 0–1 level)"),
    "vip": gettext_lazy("VIP customer"),
    "open_dispute": gettext_lazy("Open dispute on the order"),
    "early_fraud_warning": gettext_lazy("Early fraud warning on the payment"),
    "payment_in_review": gettext_lazy("Payment in risk review"),
    "shipment_stuck": gettext_lazy("Parcel stuck (no carrier scan)"),
    "delivered_said_missing": gettext_lazy("Delivered per the carrier, customer says not"),
    "age_points_per_hour": gettext_lazy("Waiting time: points per hour"),
    "age_max": gettext_lazy("Waiting time: at most"),
    "sla_breached": gettext_lazy("SLA breached"),
    "sla_close": gettext_lazy("SLA due within the hour"),
    "order_value": gettext_lazy("Order value (USD at or above : points)"),
    "lifetime_spend": gettext_lazy("Lifetime spend (USD at or above : points)"),
    "levels.urgent": gettext_lazy("Urgent from score"),
    "levels.high": gettext_lazy("High from score"),
    "levels.normal": gettext_lazy("Normal from score (below: low)"),
}
HISTORY_SHOWN = 20


def _weight_sections(value) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The page's fields as (section, [(name, label, value)]); `value(name)` fills them."""

    def fields(names_labels):
        return [(name, str(label), value(name)) for name, label in names_labels]

    return [
        (_("What the message says"), fields((f"intent.{k}", v) for k, v in Intent.choices)),
        (
            _("Mood and threats"),
            fields(
                [
                    *((f"mood.{k}", v) for k, v in Mood.choices),
                    ("anger", WEIGHT_LABELS["anger"]),
                    *((f"threat.{k}", v) for k, v in Threat.choices),
                ]
            ),
        ),
        (
            _("What is at stake"),
            fields(
                (name, WEIGHT_LABELS[name])
                for name in (
                    "order_value",
                    "vip",
                    "lifetime_spend",
                    "open_dispute",
                    "early_fraud_warning",
                    "payment_in_review",
                    "shipment_stuck",
                    "delivered_said_missing",
                )
            ),
        ),
        (
            _("Time"),
            fields(
                (name, WEIGHT_LABELS[name])
                for name in ("age_points_per_hour", "age_max", "sla_breached", "sla_close")
            ),
        ),
        (
            _("Priority levels"),
            fields((f"levels.{key}", WEIGHT_LABELS[f"levels.{key}"]) for key in LEVEL_KEYS),
        ),
    ]


def _weight_value(w: dict):
    levels = level_thresholds(w)

    def value(name: str) -> str:
        group, _dot, key = name.partition(".")
        if group in ("intent", "mood", "threat"):
            return str(w[group].get(key, 0))
        if group == "levels":
            return str(levels[key])
        if group in ("order_value", "lifetime_spend"):
            return bands_text(w[group])
        return str(w[group])

    return value


@permission_required("triage.view_priorityweights")
def priority_weights(request):
    """The priority score's weights: leads change them (a new version, audited); new scores
    use them at once, open tickets when re-scored."""
    can_change = request.user.has_perm("triage.change_priorityweights")
    error, error_field, status = "", "", 200
    current = latest_weights()
    value = _weight_value(weights_of(current))
    note = ""
    if request.method == "POST":
        if not can_change:
            return render(request, "error.html", status=403)
        if request.POST.get("do") == "rescore":
            enqueue_on_commit(rescore_open_tickets)
            messages.success(
                request,
                _(
                    "Re-scoring the open tickets with the current weights; priorities set by "
                    "hand stay."
                ),
            )
            return redirect("triage:priority")
        note = request.POST.get("note", "")
        try:
            saved = do_save_priority_weights(
                weights_from_form(request.POST), actor=request.user, note=note
            )
        except WeightsError as problem:
            error, error_field, status = problem.messages[0], problem.field, 400

            def value(name: str) -> str:
                return request.POST.get(name, "")

        else:
            if saved is current:
                messages.info(request, _("Nothing changed; no new version."))
            else:
                messages.success(
                    request,
                    _(
                        "Weights saved as version %(version)s. Tickets scored from now on use "
                        "them; re-score the open tickets to apply them there too."
                    )
                    % {"version": saved.version},
                )
            return redirect("triage:priority")
    history = PriorityWeights.objects.select_related("changed_by").order_by("-version")
    return render(
        request,
        "triage/priority_weights.html",
        {
            "sections": _weight_sections(value),
            "current": current,
            "history": history[:HISTORY_SHOWN],
            "note": note,
            "error": error,
            "error_field": error_field,
            "can_change": can_change,
        },
        status=status,
    )


# --- SLA report ------------------------------------------------------------------------------

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
        for ticket in report_ticket_rows(period).iterator(chunk_size=2000):
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
    zone = team_zone()
    group_by = request.GET.get("group", "policy")
    error, status = "", 200
    if group_by not in GROUP_FIELDS:
        error, status, group_by = _("Group by policy, priority or channel."), 400, "policy"
    try:
        period = report_range(request.GET.get("from"), request.GET.get("to"), zone)
    except ValueError as problem:
        error, status = str(problem), 400
        period = report_range(None, None, zone)
    if not error and request.GET.get("format") == "csv":
        if request.GET.get("rows") == "tickets":
            return _tickets_csv(period)
        return _report_csv(sla_report(period, group_by))
    query = {"from": period.start.isoformat(), "to": period.end.isoformat(), "group": group_by}
    return render(
        request,
        "triage/sla_report.html",
        {
            "report": sla_report(period, group_by),
            "period": period,
            "group_by": group_by,
            "group_label": GROUP_LABELS[group_by],
            "groups": GROUP_LABELS,
            "page": _page(request, report_ticket_rows(period)),
            "query": query,
            "error": error,
        },
        status=status,
    )
