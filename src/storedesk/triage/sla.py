"""SLA clocks: first response, next response and resolution targets on business hours.

Due times are recomputed from the ticket's own timestamps whenever something happens to it
(a message, a reply, a status change), so they are never drifted counters. Waiting on the
customer (pending) pauses the resolution clock: the business minutes spent pending are added
back to its target. The sweep is set-based: one UPDATE marks every due warning or breach, and
one bulk insert writes their timeline events.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.audit.services import record_audit
from storedesk.core.scheduler import periodic
from storedesk.desk.models import Channel, Ticket, TicketEvent
from storedesk.triage.calendar import Calendar, calendar_of
from storedesk.triage.models import SlaPolicy, TicketSla

Target = TicketSla.Target
DEFAULT_CUSTOMER_ZONE = "America/New_York"


def _policies() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.filter(is_active=True).select_related("calendar"))


def policy_for(ticket: Ticket, policies: list[SlaPolicy] | None = None) -> SlaPolicy | None:
    """The first active policy (by position) whose priority, channel and tier fit the ticket."""
    is_vip = bool(ticket.customer_id and ticket.customer.is_vip)
    for policy in _policies() if policies is None else policies:
        if policy.priority is not None and policy.priority != ticket.priority:
            continue
        if policy.channel and policy.channel != ticket.channel:
            continue
        if policy.tier == SlaPolicy.Tier.VIP and not is_vip:
            continue
        if policy.tier == SlaPolicy.Tier.STANDARD and is_vip:
            continue
        return policy
    return None


def resolution_minutes(sla: TicketSla, ticket: Ticket, calendar: Calendar) -> int:
    """Business minutes from creation to solving, less those spent waiting on the customer."""
    worked = calendar.business_minutes_between(ticket.created_at, ticket.solved_at)
    return max(0, worked - sla.paused_business_minutes)


def compute_clocks(sla: TicketSla, ticket: Ticket, calendar: Calendar, now: datetime) -> None:
    """Fill the due times of `sla` from the ticket's state (no saving)."""
    policy = sla.policy
    if ticket.status == Ticket.Status.PENDING and sla.paused_since is None:
        sla.paused_since = now
    elif ticket.status != Ticket.Status.PENDING and sla.paused_since is not None:
        sla.paused_business_minutes += calendar.business_minutes_between(sla.paused_since, now)
        sla.paused_since = None
    sla.first_response_due_at = calendar.add_business_minutes(
        ticket.created_at, policy.first_response_minutes
    )
    if ticket.first_response_at and sla.first_response_business_minutes is None:
        sla.first_response_business_minutes = calendar.business_minutes_between(
            ticket.created_at, ticket.first_response_at
        )
    solved = ticket.status in (Ticket.Status.SOLVED, Ticket.Status.CLOSED) and ticket.solved_at
    if not solved:
        sla.resolution_business_minutes = None  # reopened: not resolved (yet)
    elif sla.resolution_business_minutes is None:
        sla.resolution_business_minutes = resolution_minutes(sla, ticket, calendar)
    customer_waiting = (
        ticket.first_response_at is not None
        and ticket.last_customer_message_at is not None
        and (
            ticket.last_agent_message_at is None
            or ticket.last_customer_message_at > ticket.last_agent_message_at
        )
    )
    sla.next_response_due_at = (
        calendar.add_business_minutes(ticket.last_customer_message_at, policy.next_response_minutes)
        if customer_waiting
        else None
    )
    running = ticket.status in (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.ON_HOLD)
    sla.resolution_due_at = (
        calendar.add_business_minutes(
            ticket.created_at, policy.resolution_minutes + sla.paused_business_minutes
        )
        if running
        else None
    )
    candidates = []
    if running:
        if ticket.first_response_at is None:
            candidates.append((sla.first_response_due_at, Target.FIRST_RESPONSE))
        if sla.next_response_due_at:
            candidates.append((sla.next_response_due_at, Target.NEXT_RESPONSE))
        candidates.append((sla.resolution_due_at, Target.RESOLUTION))
    if candidates:
        sla.next_due_at, sla.next_target = min(candidates)
        sla.warn_at = sla.next_due_at - timedelta(minutes=policy.warn_before_minutes)
    else:
        sla.next_due_at, sla.next_target, sla.warn_at = None, "", None


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


# --- the sweep -------------------------------------------------------------------------------


def sweep_sla(now: datetime | None = None) -> dict[str, int]:
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
            TicketEvent.objects.bulk_create(
                TicketEvent(
                    ticket_id=row["ticket_id"],
                    kind=kind,
                    actor_label="system",
                    data={"target": row["next_target"], "due": row["next_due_at"].isoformat()},
                    created_at=now,
                )
                for row in rows
            )
            updates = {mark_field: F("next_due_at")}
            if kind == "sla_breached":
                updates["breach_count"] = F("breach_count") + 1
            TicketSla.objects.filter(pk__in=[row["pk"] for row in rows]).update(**updates)
            counts[kind] = len(rows)
    return counts


@periodic("triage-sla-sweep", every=timedelta(minutes=1))
@task()
def sweep_sla_task() -> dict[str, int]:
    return sweep_sla()


# --- reads -----------------------------------------------------------------------------------


def at_risk(now: datetime | None = None):
    """Open tickets whose next due time is within its warning window or past: the index on
    `warn_at` makes this a range scan."""
    now = now or timezone.now()
    return TicketSla.objects.filter(warn_at__lte=now, next_due_at__isnull=False)


def customer_zone(ticket: Ticket) -> str:
    zone = getattr(ticket.customer, "timezone", "") if ticket.customer_id else ""
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = getattr(settings, "TRIAGE_DEFAULT_CUSTOMER_ZONE", DEFAULT_CUSTOMER_ZONE)
    return zone or DEFAULT_CUSTOMER_ZONE


def customer_time(moment: datetime, zone: str) -> str:
    """US English in the customer's zone: 'Monday, March 8 at 9:30 PM EST'."""
    local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    clock = local.strftime("%I:%M %p").lstrip("0")
    return f"{local:%A}, {local:%B} {local.day} at {clock} {local.tzname()}"


def acknowledgement_text(ticket: Ticket, reply_by: datetime) -> str:
    name = (
        ticket.customer.first_name if ticket.customer_id and ticket.customer.first_name else ""
    ) or (ticket.requester_name or "").split(" ")[0]
    store = ticket.store.name if ticket.store_id else "our store"
    when = customer_time(reply_by, customer_zone(ticket))
    greeting = f"Hi {name}," if name else "Hi,"
    return (
        f"{greeting}\n\nThanks for writing to {store}. We have your message, and a member of "
        f"our team will reply by {when} at the latest (your local time).\n\n"
        "If you have an order number or photos that help, just reply to this email.\n\n"
        f"{store}"
    )


def do_acknowledge(ticket: Ticket, *, now: datetime | None = None):
    """The automatic acknowledgement with an honest reply time, once per ticket."""
    from storedesk.desk.mail_out import do_send_acknowledgement

    if not getattr(settings, "TRIAGE_SEND_ACKNOWLEDGEMENT", True):
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
