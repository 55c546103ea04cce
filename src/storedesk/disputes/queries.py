"""Reads of disputes: the workspace queue and page, and what other apps' pages need; each
one query (or a fixed number) whatever the number of rows."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from storedesk.disputes import extensions
from storedesk.disputes.extensions import BusinessCalendar
from storedesk.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeReminder,
    DisputeSubmission,
    EarlyFraudWarning,
)


def disputes_of_orders(order_ids: list[int]) -> dict[int, list[Dispute]]:
    """Each order's disputes, oldest first, in one query along `dispute_order_idx`: what a
    panel showing several orders needs (status, amount, evidence deadline), without `raw`."""
    by_order: dict[int, list[Dispute]] = {pk: [] for pk in order_ids}
    if order_ids:
        disputes = Dispute.objects.filter(order_id__in=order_ids).only(
            "order",
            "gateway",
            "kind",
            "reason",
            "status",
            "amount",
            "currency",
            "opened_at",
            "evidence_due_by",
        )
        for dispute in disputes.order_by("opened_at", "pk"):
            by_order[dispute.order_id].append(dispute)
    return by_order


# --- The disputes workspace ------------------------------------------------------------------

URGENT_BUSINESS_HOURS = 48
# The gateway waits for the merchant: Stripe's (warning_)needs_response, PayPal's
# WAITING_FOR_SELLER_RESPONSE (and OPEN, before PayPal asks either side).
NEEDS_RESPONSE_STATUSES = (
    "needs_response",
    "warning_needs_response",
    "WAITING_FOR_SELLER_RESPONSE",
    "OPEN",
)
WAITING = Q(closed_at__isnull=True, responded_at__isnull=True, status__in=NEEDS_RESPONSE_STATUSES)


def team_calendar() -> BusinessCalendar:
    """The team's business-hours calendar (the same one the SLA clocks follow)."""
    return extensions.business_calendar()


def urgent_cutoff(now=None, calendar=None) -> datetime:
    """The moment 48 business hours from now: a deadline before it is urgent."""
    calendar = calendar or team_calendar()
    return calendar.add_business_minutes(now or timezone.now(), URGENT_BUSINESS_HOURS * 60)


@dataclass(frozen=True)
class QueueFilter:
    gateway: str = ""
    stage: str = ""
    family: str = ""
    owner: int | None = None  # a user id; 0: nobody
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    status: str = "open"  # open, responded, closed, all
    due_before: datetime | None = None


def dispute_queue(chosen: QueueFilter) -> QuerySet[Dispute]:
    """Disputes by deadline, soonest (overdue) first, those without a deadline last; read
    along `dispute_open_due_idx` for the open ones. One query per page with the order and
    owner joined."""
    disputes = Dispute.objects.select_related("order", "owner").only(
        "gateway",
        "provider_id",
        "kind",
        "stage",
        "family",
        "reason",
        "network_reason_code",
        "status",
        "amount",
        "currency",
        "opened_at",
        "evidence_due_by",
        "closed_at",
        "responded_at",
        "outcome",
        "owner__username",
        "owner__first_name",
        "owner__last_name",
        "order__number",
        "order__email",
    )
    if chosen.status == "open":
        disputes = disputes.filter(WAITING)
    elif chosen.status == "responded":
        disputes = disputes.filter(closed_at__isnull=True).exclude(WAITING)
    elif chosen.status == "closed":
        disputes = disputes.filter(closed_at__isnull=False)
    for name in ("gateway", "stage", "family"):
        value = getattr(chosen, name)
        if value:
            disputes = disputes.filter(**{name: value})
    if chosen.owner is not None:
        disputes = disputes.filter(owner_id=chosen.owner or None)
    if chosen.min_amount is not None:
        disputes = disputes.filter(amount__gte=chosen.min_amount)
    if chosen.max_amount is not None:
        disputes = disputes.filter(amount__lte=chosen.max_amount)
    if chosen.due_before is not None:
        disputes = disputes.filter(evidence_due_by__lt=chosen.due_before)
    return disputes.order_by(F("evidence_due_by").asc(nulls_last=True), "id")


def urgency(dispute: Dispute, now: datetime, cutoff: datetime) -> str:
    """overdue / urgent (within 48 business hours) / later / none, for the row's badge."""
    if (
        dispute.closed_at is not None
        or dispute.responded_at is not None
        or dispute.status not in NEEDS_RESPONSE_STATUSES
    ):
        return "done"
    if dispute.evidence_due_by is None:
        return "none"
    if dispute.evidence_due_by <= now:
        return "overdue"
    return "urgent" if dispute.evidence_due_by <= cutoff else "later"


def needing_response_count(now=None) -> tuple[int, int]:
    """(open disputes awaiting our response, of which due within 48 business hours or
    overdue), for the navigation badge: one query."""
    cutoff = urgent_cutoff(now)
    counts = Dispute.objects.filter(WAITING).aggregate(
        open=Count("pk"), urgent=Count("pk", filter=Q(evidence_due_by__lte=cutoff))
    )
    return counts["open"], counts["urgent"]


def dispute_for_page(pk: int) -> Dispute:
    return Dispute.objects.select_related(
        "order", "order__customer", "order__store", "payment", "owner", "pack"
    ).get(pk=pk)


def timeline(dispute: Dispute) -> list[DisputeEvent]:
    return list(dispute.events.order_by("happened_at", "pk"))


def submissions(dispute: Dispute) -> list[DisputeSubmission]:
    return list(dispute.submissions.order_by("created_at", "pk"))


def my_reminders(user, limit: int = 10) -> list[DisputeReminder]:
    """Reminders of the user's disputes still open, newest first."""
    return list(
        DisputeReminder.objects.filter(
            owner=user, dispute__closed_at__isnull=True, dispute__responded_at__isnull=True
        )
        .select_related("dispute", "dispute__order")
        .order_by("-created_at")[:limit]
    )


def early_fraud_cases(limit: int = 20) -> list[EarlyFraudWarning]:
    """Actionable early fraud warnings whose order has no dispute yet: the urgent cases."""
    return list(
        EarlyFraudWarning.objects.filter(actionable=True, order__isnull=False)
        .exclude(order__disputes__isnull=False)
        .select_related("order")
        .order_by("-warned_at")[:limit]
    )


def disputes_of_ticket_orders(order_ids: list[int]) -> list[Dispute]:
    return [d for disputes in disputes_of_orders(order_ids).values() for d in disputes]


def ticket_dispute_risk(ticket_number: int) -> dict | None:
    """For a ticket whose customer threatened a chargeback (Triage's threat detection): each
    linked order's dispute risk (amount still at stake, delivery, warnings, disputes), so the
    agent offers a resolution before the bank is asked. None for an unknown ticket."""
    from storedesk.commerce.models import Order

    ticket_id = extensions.ticket_id_of(ticket_number)
    if ticket_id is None:
        return None
    threatened = extensions.threatened_chargeback(ticket_id)
    orders = list(
        Order.objects.filter(tickets=ticket_id)
        .annotate(
            dispute_count=Count("disputes", distinct=True),
            warning_count=Count("early_fraud_warnings", distinct=True),
        )
        .only("number", "total_price", "total_refunded", "currency", "fulfillment_status")
        .order_by("-created_at")[:5]
    )
    rows = []
    for order in orders:
        at_stake = order.total_price - order.total_refunded
        level = (
            "high" if threatened and at_stake > 0 else ("medium" if order.warning_count else "low")
        )
        if order.dispute_count:
            level = "disputed"
        rows.append({"order": order, "at_stake": at_stake, "level": level})
    return {
        "ticket": {"pk": ticket_id, "number": ticket_number},
        "threatened": threatened,
        "orders": rows,
    }
