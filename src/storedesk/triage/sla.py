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

from storedesk.desk.models import Ticket
from storedesk.triage.calendar import Calendar
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


# --- the sweep -------------------------------------------------------------------------------


# --- reads -----------------------------------------------------------------------------------


def customer_zone(ticket: Ticket) -> str:
    zone = getattr(ticket.customer, "timezone", "") if ticket.customer_id else ""
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = settings.TRIAGE_DEFAULT_CUSTOMER_ZONE
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
