"""Reads for triage pages and the API: the SLA report.

The SLA report covers the tickets created in a date range of the team's time zone, grouped by
SLA policy, priority or channel. Every figure comes from values stored on the ticket's clock
(`TicketSla.first_response_business_minutes`, `resolution_business_minutes`, `breach_count`),
never recomputed, and from a fixed number of queries whatever the number of tickets: one
aggregate for the counts, and one per time measure counting the tickets at each number of
minutes, from which the median and 90th percentile are read exactly.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, F, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.accounts.models import Team
from storedesk.desk.models import Channel, Ticket
from storedesk.desk.queries import not_merged
from storedesk.triage.calendar import calendar_of, default_calendar_record
from storedesk.triage.models import (
    BusinessCalendar,
    Handoff,
    IntentLabel,
    MessageAnalysis,
    Playbook,
    PriorityWeights,
    RoutingRule,
    SlaPolicy,
    TicketPriority,
    TicketSla,
)

GROUP_FIELDS = {
    "policy": "sla__policy__name",
    "priority": "priority",
    "channel": "channel",
}
MAX_REPORT_DAYS = 366
FIRST_RESPONSE = "sla__first_response_business_minutes"
RESOLUTION = "sla__resolution_business_minutes"
TOTAL = object()  # the key of the whole range's row


@dataclass(frozen=True)
class ReportRange:
    """Whole days `start`…`end` (inclusive) in the team's zone."""

    start: date
    end: date
    zone: str

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(0), zoneinfo.ZoneInfo(self.zone)).astimezone(UTC)

    @property
    def until(self) -> datetime:
        following = self.end + timedelta(days=1)
        return datetime.combine(following, time(0), zoneinfo.ZoneInfo(self.zone)).astimezone(UTC)


def team_zone() -> str:
    """The zone of the team's default calendar (the settings' team zone without one)."""
    return calendar_of(default_calendar_record()).zone


def report_range(start: str | date | None, end: str | date | None, zone: str) -> ReportRange:
    """Parse what a lead typed; by default the last 30 days up to today (team time). Raises
    ValueError with a message for the page."""
    today = datetime.now(zoneinfo.ZoneInfo(zone)).date()

    def parse(value, default: date, name: str) -> date:
        if value in (None, ""):
            return default
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(
                _("“%(value)s” is not a date for %(field)s; write it as YYYY-MM-DD.")
                % {"value": value, "field": name}
            ) from None

    end_day = parse(end, today, _("to"))
    start_day = parse(start, end_day - timedelta(days=29), _("from"))
    if start_day > end_day:
        raise ValueError(_("The range starts after it ends."))
    if (end_day - start_day).days >= MAX_REPORT_DAYS:
        raise ValueError(_("A report covers at most %(days)s days.") % {"days": MAX_REPORT_DAYS})
    return ReportRange(start_day, end_day, zone)


def report_tickets(period: ReportRange) -> QuerySet[Ticket]:
    """The tickets the report counts: created in the range, merged ones left out (their
    conversation lives on in the ticket they were merged into)."""
    return not_merged(
        Ticket.objects.filter(created_at__gte=period.since, created_at__lt=period.until)
    )


@dataclass
class SlaRow:
    key: object
    label: str
    tickets: int = 0
    open: int = 0
    responded: int = 0
    first_response_within: int = 0
    resolved: int = 0
    resolution_within: int = 0
    breaches: int = 0
    breached_tickets: int = 0
    first_response: dict = field(default_factory=dict)  # {"median", "p90"} business minutes
    resolution: dict = field(default_factory=dict)

    @property
    def first_response_within_pct(self) -> float | None:
        return _pct(self.first_response_within, self.responded)

    @property
    def resolution_within_pct(self) -> float | None:
        return _pct(self.resolution_within, self.resolved)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class SlaReport:
    period: ReportRange
    group_by: str
    rows: list[SlaRow]
    total: SlaRow


def _label(group_by: str, key) -> str:
    if group_by == "priority":
        return str(Ticket.Priority(key).label) if key in Ticket.Priority.values else str(key)
    if group_by == "channel":
        return str(Channel(key).label) if key in Channel.values else str(key)
    return key or _("No SLA policy")


def _at_ranks(histogram: Counter) -> dict:
    """Median (the mean of ranks ⌊(n+1)/2⌋ and ⌊(n+2)/2⌋) and nearest-rank 90th percentile
    (⌈9n/10⌉) of a histogram {minutes: tickets}; walks the distinct values, not the tickets."""
    size = sum(histogram.values())
    if not size:
        return {}
    ranks = {"lower": (size + 1) // 2, "upper": (size + 2) // 2, "p90": (size * 9 + 9) // 10}
    found, seen = {}, 0
    for value in sorted(histogram):
        seen += histogram[value]
        for name, rank in ranks.items():
            if name not in found and rank <= seen:
                found[name] = value
        if len(found) == len(ranks):
            break
    return {"median": (found["lower"] + found["upper"]) / 2, "p90": found["p90"]}


def _percentiles(tickets: QuerySet[Ticket], key: str, measure: str) -> dict:
    """{group key or TOTAL: {"median", "p90"}} of a stored measure, from one GROUP BY query
    returning how many tickets took each number of minutes in each group: exact, and one sort
    of the range's rows (window functions took two sorts per measure)."""
    counts = (
        tickets.filter(**{f"{measure}__isnull": False})
        .values_list(key, measure)
        .annotate(tickets=Count("pk"))
        .order_by()
    )
    by_group: dict = defaultdict(Counter)
    for group, minutes, count in counts:
        by_group[group][minutes] += count
        by_group[TOTAL][minutes] += count
    return {group: _at_ranks(histogram) for group, histogram in by_group.items()}


def _counts(tickets: QuerySet[Ticket], key: str):
    return (
        tickets.values(key)
        .annotate(
            n_tickets=Count("pk"),
            n_open=Count("pk", filter=Q(status__in=Ticket.OPEN_STATUSES)),
            n_responded=Count(FIRST_RESPONSE),
            n_first_within=Count(
                "pk",
                filter=Q(**{f"{FIRST_RESPONSE}__lte": F("sla__policy__first_response_minutes")}),
            ),
            n_resolved=Count(RESOLUTION),
            n_resolution_within=Count(
                "pk", filter=Q(**{f"{RESOLUTION}__lte": F("sla__policy__resolution_minutes")})
            ),
            n_breaches=Coalesce(Sum("sla__breach_count"), 0, output_field=IntegerField()),
            n_breached_tickets=Count("pk", filter=Q(sla__breach_count__gt=0)),
        )
        .order_by(key)
    )


def sla_report(period: ReportRange, group_by: str = "policy") -> SlaReport:
    """The report's rows and total, in three queries whatever the number of tickets."""
    if group_by not in GROUP_FIELDS:
        raise ValueError(_("Group by policy, priority or channel."))
    key = GROUP_FIELDS[group_by]
    tickets = report_tickets(period)
    first_response = _percentiles(tickets, key, FIRST_RESPONSE)
    resolution = _percentiles(tickets, key, RESOLUTION)
    rows = []
    total = SlaRow(key=TOTAL, label=_("All tickets"))
    for values in _counts(tickets, key):
        group = values[key]
        row = SlaRow(
            key=group,
            label=_label(group_by, group),
            tickets=values["n_tickets"],
            open=values["n_open"],
            responded=values["n_responded"],
            first_response_within=values["n_first_within"],
            resolved=values["n_resolved"],
            resolution_within=values["n_resolution_within"],
            breaches=values["n_breaches"],
            breached_tickets=values["n_breached_tickets"],
            first_response=first_response.get(group, {}),
            resolution=resolution.get(group, {}),
        )
        rows.append(row)
        for name in (
            "tickets",
            "open",
            "responded",
            "first_response_within",
            "resolved",
            "resolution_within",
            "breaches",
            "breached_tickets",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    total.first_response = first_response.get(TOTAL, {})
    total.resolution = resolution.get(TOTAL, {})
    return SlaReport(period=period, group_by=group_by, rows=rows, total=total)


def report_ticket_rows(period: ReportRange) -> QuerySet[Ticket]:
    """The tickets behind the report with their clocks, oldest first (page it)."""
    return (
        report_tickets(period)
        .select_related("sla", "sla__policy")
        .only(
            "number",
            "subject",
            "channel",
            "priority",
            "status",
            "created_at",
            "first_response_at",
            "solved_at",
            "sla__first_response_business_minutes",
            "sla__resolution_business_minutes",
            "sla__breach_count",
            "sla__policy__name",
            "sla__policy__first_response_minutes",
            "sla__policy__resolution_minutes",
        )
        .order_by("created_at", "pk")
    )


# --- SLA clocks ------------------------------------------------------------------------------


def sla_at_risk(now: datetime | None = None) -> QuerySet[TicketSla]:
    """Clocks whose next due time is within its warning window or past: the index on
    `warn_at` makes this a range scan."""
    now = now or timezone.now()
    return TicketSla.objects.filter(warn_at__lte=now, next_due_at__isnull=False)


def sla_overdue(now: datetime | None = None) -> QuerySet[TicketSla]:
    """Clocks past their next due time: a range scan of the next-due index."""
    now = now or timezone.now()
    return TicketSla.objects.filter(next_due_at__lte=now)


def sla_at_risk_ticket_ids(now: datetime) -> QuerySet:
    """The desk inbox's "SLA at risk" view (registered with the desk at start-up)."""
    return sla_at_risk(now).values("ticket_id")


def sla_overdue_ticket_ids(now: datetime) -> QuerySet:
    """The desk inbox's "Overdue" view (registered with the desk at start-up)."""
    return sla_overdue(now).values("ticket_id")


# --- the set-up pages ------------------------------------------------------------------------


def routing_rules() -> QuerySet[RoutingRule]:
    """The rules in the order they run, with who changed each last."""
    return RoutingRule.objects.select_related("updated_by").order_by("position", "pk")


def teams() -> QuerySet[Team]:
    """Every team, by name: the departments a rule or a hand-off can send a ticket to."""
    return Team.objects.order_by("name")


def sla_policies() -> QuerySet[SlaPolicy]:
    """The policies in the order they are tried, with their calendars."""
    return SlaPolicy.objects.select_related("calendar").order_by("position", "pk")


def business_calendars() -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.order_by("name")


def playbooks() -> QuerySet[Playbook]:
    return Playbook.objects.order_by("intent")


def priority_weights_history() -> QuerySet[PriorityWeights]:
    """Every saved version of the priority weights, newest first, with who saved it."""
    return PriorityWeights.objects.select_related("changed_by").order_by("-version")


# --- departments and the ticket panel --------------------------------------------------------


def departments_with_open_handoffs() -> list[tuple[Team, int]]:
    """Every team with the number of hand-offs waiting in its queue (two queries)."""
    counts = dict(
        Handoff.objects.filter(status=Handoff.Status.OPEN)
        .values_list("to_team")
        .annotate(n=Count("pk"))
        .values_list("to_team", "n")
    )
    return [(team, counts.get(team.pk, 0)) for team in teams()]


def department_queue(team: Team):
    """A department's open hand-offs, newest first (index: to_team, status, -created_at)."""
    return (
        Handoff.objects.filter(to_team=team, status=Handoff.Status.OPEN)
        .select_related("ticket", "created_by")
        .order_by("-created_at")
    )


def handoffs_with_tickets() -> QuerySet[Handoff]:
    return Handoff.objects.select_related("ticket")


def panel_tickets() -> QuerySet[Ticket]:
    """Tickets as the triage panel shows them (their team and owner at hand)."""
    return Ticket.objects.select_related("team", "assignee")


@dataclass
class TicketPanel:
    """What the triage panel beside a ticket shows besides its checklist."""

    sla: TicketSla | None
    score: TicketPriority | None
    open_handoff: Handoff | None
    other_teams: QuerySet[Team]


def ticket_panel(ticket: Ticket) -> TicketPanel:
    """The ticket's SLA clock, priority score and open hand-off, and the teams it could go to."""
    return TicketPanel(
        sla=TicketSla.objects.filter(ticket=ticket).select_related("policy").first(),
        score=TicketPriority.objects.filter(ticket=ticket).first(),
        open_handoff=Handoff.objects.filter(ticket=ticket, status=Handoff.Status.OPEN)
        .select_related("to_team", "from_team", "from_assignee")
        .first(),
        other_teams=teams().exclude(pk=ticket.team_id),
    )


# --- a message's analysis --------------------------------------------------------------------

ANALYSIS_FIELDS = (
    "intents",
    "primary_intent",
    "explanation",
    "order_refs",
    "needs_order_number",
    "mood",
    "anger",
    "threats",
    "language",
    "is_english",
    "model_version",
    "analysed_at",
    "ticket_id",
)


def ticket_by_number(number: int) -> Ticket | None:
    return Ticket.objects.filter(number=number).only("pk", "number").first()


def latest_analysis(ticket: Ticket) -> MessageAnalysis | None:
    """The analysis of the ticket's latest analysed message (the fields the panel shows)."""
    return (
        MessageAnalysis.objects.filter(ticket=ticket)
        .select_related("message")
        .only("message__id", "message__ticket_id", "message__created_at", *ANALYSIS_FIELDS)
        .order_by("-analysed_at", "-pk")
        .first()
    )


def intent_label(message_id: int) -> IntentLabel | None:
    """The intents an agent confirmed for a message, if one did."""
    return IntentLabel.objects.filter(message_id=message_id).only("intents").first()
