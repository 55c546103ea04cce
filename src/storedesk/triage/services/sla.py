"""Business calendars and SLA clocks: refreshing a ticket's clocks, the sweep that warns and
records breaches, the acknowledgement with an honest reply time, and the policies' targets."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.audit.services import record_audit
from storedesk.desk.mail_out import do_send_acknowledgement
from storedesk.desk.models import Channel, Ticket
from storedesk.desk.services import (
    do_add_timeline_events,
)
from storedesk.triage.calendar import Calendar, calendar_of, validate_calendar_fields
from storedesk.triage.models import (
    BusinessCalendar,
    SlaPolicy,
    TicketSla,
)
from storedesk.triage.sla import (
    acknowledgement_text,
    compute_clocks,
    policy_for,
    resolution_minutes,
)


@transaction.atomic
def do_save_calendar(
    calendar: BusinessCalendar | None,
    *,
    actor,
    name: str,
    timezone: str,
    working_days,
    hours,
    holiday_country: str,
    closed_days,
) -> BusinessCalendar:
    """Create or change a calendar; validated whole first, so nothing is half-saved."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("A calendar needs a name."))
    checked = validate_calendar_fields(
        timezone=timezone,
        working_days=working_days,
        hours=hours,
        holiday_country=holiday_country,
        closed_days=closed_days,
    )
    if (
        BusinessCalendar.objects.filter(name=name)
        .exclude(pk=getattr(calendar, "pk", None))
        .exists()
    ):
        raise ValidationError(_("Another calendar is called %(name)s.") % {"name": name})
    calendar = calendar or BusinessCalendar()
    calendar.name = name
    calendar.timezone = checked.zone
    calendar.working_days = sorted(checked.working_days)
    calendar.hours = [[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in checked.shifts]
    calendar.holiday_country = checked.holiday_country
    calendar.closed_days = sorted(day.isoformat() for day in checked.closed_days)
    calendar.save()
    record_audit(
        actor=actor,
        action="triage.calendar_saved",
        obj=calendar,
        changes={"hours": calendar.hours, "days": calendar.working_days},
    )
    return calendar


@transaction.atomic
def do_refresh_sla(ticket: Ticket, *, now: datetime | None = None) -> TicketSla | None:
    """Bring a ticket's clocks up to date (idempotent: run it as often as you like)."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_related("customer").get(pk=ticket.pk)
    sla = TicketSla.objects.select_for_update().filter(ticket=ticket).first()
    policy = policy_for(ticket)
    if policy is None:
        if sla is not None:
            TicketSla.objects.filter(pk=sla.pk).update(next_due_at=None, warn_at=None)
        return sla
    if sla is None:
        sla = TicketSla(ticket=ticket, updated_at=now)
    sla.policy = policy
    compute_clocks(sla, ticket, calendar_of(policy.calendar), now)
    sla.updated_at = now
    sla.save()
    return sla


def do_backfill_resolution_times(*, limit: int | None = None, batch_size: int = 500) -> int:
    """Store the resolution time of solved tickets whose clock predates it: one transaction
    per batch, the calendar arithmetic per ticket (it is what the figure is). Idempotent."""
    missing = (
        TicketSla.objects.filter(
            resolution_business_minutes__isnull=True,
            policy__isnull=False,
            ticket__status__in=(Ticket.Status.SOLVED, Ticket.Status.CLOSED),
            ticket__solved_at__isnull=False,
        )
        .order_by("pk")
        .values_list("ticket_id", flat=True)
    )
    done, after = 0, 0
    calendars: dict[int, Calendar] = {}
    while limit is None or done < limit:
        size = batch_size if limit is None else min(batch_size, limit - done)
        ids = list(missing.filter(pk__gt=after)[:size])
        if not ids:
            break
        with transaction.atomic():
            slas = (
                TicketSla.objects.select_for_update(of=("self",))
                .filter(ticket_id__in=ids)
                .select_related("ticket", "policy", "policy__calendar")
                .order_by("pk")
            )
            slas = list(slas)
            for sla in slas:
                calendar = calendars.setdefault(
                    sla.policy.calendar_id, calendar_of(sla.policy.calendar)
                )
                sla.resolution_business_minutes = resolution_minutes(sla, sla.ticket, calendar)
                after = max(after, sla.pk)
            TicketSla.objects.bulk_update(slas, ["resolution_business_minutes"])
        done += len(ids)
    return done


def do_sweep_sla(now: datetime | None = None) -> dict[str, int]:
    """Warn of due times coming close and record breaches, once per due time, set-based."""
    now = now or timezone.now()
    counts = {}
    with transaction.atomic():
        for kind, due_field, mark_field in (
            ("sla_breached", "next_due_at", "breached_for"),
            ("sla_warning", "warn_at", "warned_for"),
        ):
            due = TicketSla.objects.filter(**{f"{due_field}__lte": now}).filter(
                Q(**{f"{mark_field}__isnull": True}) | ~Q(**{mark_field: F("next_due_at")})
            )
            if kind == "sla_warning":
                due = due.filter(next_due_at__gt=now)
            rows = list(due.values("pk", "ticket_id", "next_due_at", "next_target")[:5000])
            if not rows:
                counts[kind] = 0
                continue
            do_add_timeline_events(
                kind,
                {
                    row["ticket_id"]: {
                        "target": row["next_target"],
                        "due": row["next_due_at"].isoformat(),
                    }
                    for row in rows
                },
                at=now,
            )
            updates = {mark_field: F("next_due_at")}
            if kind == "sla_breached":
                updates["breach_count"] = F("breach_count") + 1
            TicketSla.objects.filter(pk__in=[row["pk"] for row in rows]).update(**updates)
            counts[kind] = len(rows)
    return counts


def do_acknowledge(ticket: Ticket, *, now: datetime | None = None):
    """The automatic acknowledgement with an honest reply time, once per ticket."""
    if not settings.TRIAGE_SEND_ACKNOWLEDGEMENT:
        return None
    if ticket.channel not in (Channel.EMAIL, Channel.FORM) or not ticket.requester_email:
        return None
    with transaction.atomic():
        sla = TicketSla.objects.select_for_update().filter(ticket=ticket).first()
        if sla is None or sla.acknowledged_at or ticket.first_response_at:
            return None
        reply_by = sla.first_response_due_at
        if reply_by is None:
            return None
        message = do_send_acknowledgement(
            ticket, text=acknowledgement_text(ticket, reply_by), reason="acknowledgement"
        )
        TicketSla.objects.filter(pk=sla.pk).update(acknowledged_at=now or timezone.now())
        return message


@transaction.atomic
def do_save_policy(
    policy: SlaPolicy,
    *,
    actor,
    first_response_minutes: int | None,
    next_response_minutes: int | None,
    resolution_minutes: int | None,
    warn_before_minutes: int | None,
    is_active: bool = True,
) -> SlaPolicy:
    """Change a policy's targets (business minutes); open tickets pick them up on their next
    event. Every target is required and the order of targets must make sense."""
    targets = (first_response_minutes, next_response_minutes, resolution_minutes)
    if any(value is None or value <= 0 for value in targets):
        raise ValidationError(_("Every target is a number of business minutes above zero."))
    if resolution_minutes < first_response_minutes:
        raise ValidationError(_("The resolution target cannot be shorter than the first response."))
    before = {
        "first": policy.first_response_minutes,
        "next": policy.next_response_minutes,
        "resolution": policy.resolution_minutes,
    }
    policy.first_response_minutes = first_response_minutes
    policy.next_response_minutes = next_response_minutes
    policy.resolution_minutes = resolution_minutes
    policy.warn_before_minutes = warn_before_minutes or 0
    policy.is_active = is_active
    policy.save()
    record_audit(
        actor=actor,
        action="triage.sla_policy_saved",
        obj=policy,
        changes={"before": before, "after": targets},
    )
    return policy
