"""What rules and the priority score see of a ticket: one flat dict of named values.

Built for many tickets at once in a fixed number of queries, so testing a rule against
thousands of past tickets, or scoring one new ticket, costs the same few queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, Q
from django.utils import timezone

from storedesk.commerce.services.tracking import TrackingState, tracking_states
from storedesk.desk.models import Ticket
from storedesk.disputes.models import Dispute, EarlyFraudWarning
from storedesk.disputes.services import CLOSED_STATUSES
from storedesk.risk.language import ValueType
from storedesk.risk.models import OrderRisk
from storedesk.triage.calendar import calendar_of, default_calendar_record
from storedesk.triage.intents import Intent, Threat
from storedesk.triage.models import MessageAnalysis

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRIORITY_NAMES = {1: "low", 2: "normal", 3: "high", 4: "urgent"}

N, T, B = ValueType.NUMBER, ValueType.TEXT, ValueType.BOOLEAN
NO_TRACKING = TrackingState()
SAYS_NOT_RECEIVED = {Intent.NOT_RECEIVED, Intent.DELIVERED_NOT_RECEIVED}
ATTRIBUTES: dict[str, ValueType] = {
    "intent": T,
    "second_intent": T,
    "mood": T,
    "anger": N,
    "has_threat": B,
    **{f"threat_{threat.value}": B for threat in Threat},
    "language": T,
    "is_english": B,
    "needs_order_number": B,
    "channel": T,
    "status": T,
    "priority": T,
    "subject": T,
    "from_email": T,
    "tags": T,
    "has_order": B,
    "order_value": N,
    "customer_vip": B,
    "customer_tier": T,
    "lifetime_spend": N,
    "orders_count": N,
    "open_dispute": B,
    "early_fraud_warning": B,
    "payment_in_review": B,
    "shipment_stuck": B,
    "delivered_said_missing": B,
    "hour": N,
    "weekday": T,
    "is_business_hours": B,
    "age_hours": N,
    "message_count": N,
    "is_first_message": B,
    "sla_minutes_left": N,
    "sla_breached": B,
    "assigned": B,
    "team": T,
}


def tickets_for_facts(ids: Sequence[int]):
    """The tickets with what `facts_for_tickets` reads of them, in a fixed number of queries."""
    return (
        Ticket.objects.filter(pk__in=ids)
        .select_related("customer", "sla", "team")
        .prefetch_related("tags", Prefetch("orders"))
    )


def orders_with_open_dispute(order_ids) -> set[int]:
    """Orders with a dispute still open: not closed by date, nor by a closing status (a
    gateway report may say `won` or `RESOLVED` without a closing time)."""
    return set(
        Dispute.objects.filter(order_id__in=order_ids, closed_at__isnull=True)
        .filter(~Q(status__in=CLOSED_STATUSES))
        .values_list("order_id", flat=True)
    )


def orders_with_early_fraud_warning(order_ids) -> set[int]:
    """Orders whose payment drew an issuer's early fraud warning that a refund can still act
    on (most become fraud disputes if nothing is done)."""
    return set(
        EarlyFraudWarning.objects.filter(order_id__in=order_ids, actionable=True).values_list(
            "order_id", flat=True
        )
    )


def orders_in_risk_review(order_ids) -> set[int]:
    """Orders whose payment waits in the risk review queue."""
    return set(
        OrderRisk.objects.filter(
            order_id__in=order_ids, status=OrderRisk.Status.IN_REVIEW
        ).values_list("order_id", flat=True)
    )


def facts_for_tickets(
    tickets: Sequence[Ticket] | Sequence[int], now: datetime | None = None
) -> dict[int, dict]:
    """Facts per ticket id. Pass ids (loaded here) or tickets loaded by `tickets_for_facts`."""
    now = now or timezone.now()
    if tickets and isinstance(tickets[0], int):
        tickets = list(tickets_for_facts(tickets))
    ids = [ticket.pk for ticket in tickets]
    latest: dict[int, MessageAnalysis] = {}
    for analysis in MessageAnalysis.objects.filter(ticket_id__in=ids).order_by(
        "ticket_id", "-analysed_at", "-pk"
    ):
        latest.setdefault(analysis.ticket_id, analysis)
    order_ids = {order.pk for ticket in tickets for order in ticket.orders.all()}
    disputed = orders_with_open_dispute(order_ids)
    warned = orders_with_early_fraud_warning(order_ids)
    in_review = orders_in_risk_review(order_ids)
    tracking = tracking_states(order_ids, now)
    calendar = calendar_of(default_calendar_record())
    local_now = now.astimezone(calendar.tzinfo)
    result = {}
    for ticket in tickets:
        analysis = latest.get(ticket.pk)
        orders = list(ticket.orders.all())
        customer = ticket.customer
        sla = getattr(ticket, "sla", None)
        intents = [item.get("intent") for item in (analysis.intents if analysis else [])]
        threats = set(analysis.threats if analysis else [])
        facts = {
            "intent": analysis.primary_intent if analysis else None,
            "second_intent": intents[1] if len(intents) > 1 else None,
            "mood": analysis.mood if analysis else None,
            "anger": Decimal(str(round(analysis.anger, 3))) if analysis else None,
            "has_threat": bool(analysis and analysis.has_threat),
            **{f"threat_{threat.value}": threat.value in threats for threat in Threat},
            "language": (analysis.language or None) if analysis else None,
            "is_english": analysis.is_english if analysis else True,
            "needs_order_number": bool(analysis and analysis.needs_order_number),
            "channel": ticket.channel,
            "status": ticket.status,
            "priority": PRIORITY_NAMES.get(ticket.priority, "normal"),
            "subject": ticket.subject,
            "from_email": ticket.requester_email,
            "tags": ",".join(sorted(tag.name for tag in ticket.tags.all())),
            "has_order": bool(orders),
            "order_value": max((order.total_price for order in orders), default=None),
            "customer_vip": bool(customer and customer.is_vip),
            "customer_tier": "vip" if customer and customer.is_vip else "standard",
            "lifetime_spend": customer.total_spent if customer else Decimal(0),
            "orders_count": Decimal(customer.orders_count if customer else 0),
            "open_dispute": any(order.pk in disputed for order in orders),
            "early_fraud_warning": any(order.pk in warned for order in orders),
            "payment_in_review": any(order.pk in in_review for order in orders),
            "shipment_stuck": any(tracking.get(order.pk, NO_TRACKING).stuck for order in orders),
            "delivered_said_missing": bool(
                {analysis.primary_intent if analysis else None, *intents} & SAYS_NOT_RECEIVED
            )
            and any(tracking.get(order.pk, NO_TRACKING).delivered for order in orders),
            "hour": Decimal(local_now.hour),
            "weekday": WEEKDAYS[local_now.weekday()],
            "is_business_hours": calendar.is_open_at(now),
            "age_hours": Decimal(int((now - ticket.created_at).total_seconds() // 3600)),
            "message_count": Decimal(ticket.message_count),
            "is_first_message": ticket.message_count <= 1,
            "sla_minutes_left": (
                Decimal(int((sla.next_due_at - now).total_seconds() // 60))
                if sla and sla.next_due_at
                else None
            ),
            "sla_breached": bool(sla and sla.next_due_at and sla.next_due_at <= now),
            "assigned": ticket.assignee_id is not None,
            "team": ticket.team.slug if ticket.team_id else None,
        }
        result[ticket.pk] = facts
    return result


def facts_for(ticket: Ticket, now: datetime | None = None) -> dict:
    return facts_for_tickets([ticket.pk], now)[ticket.pk]
