"""Reads of the experience app's pages and API, one section per feature."""

from __future__ import annotations

# --- outreach ----------------------------------------------------------------------------------
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import holidays
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from storedesk.commerce.models import Customer, Order, Store
from storedesk.commerce.queries import vip_thresholds
from storedesk.desk.models import Ticket
from storedesk.disputes.models import Dispute
from storedesk.experience.models import (
    Campaign,
    CampaignRecipient,
    MarketingSuppression,
    Segment,
)
from storedesk.resolutions.models import Resolution

# Orders that count as bought (cancelled and unpaid ones left out), as lifetime value counts them.
BOUGHT_STATUSES = ("paid", "partially_paid", "partially_refunded", "refunded")
RESULT_WINDOW_DAYS = 14
SAMPLE_SIZE = 10
HOLIDAY_NAMES = {
    Campaign.Occasion.VALENTINES_DAY: "Valentine's Day",
    Campaign.Occasion.MOTHERS_DAY: "Mother's Day",
    Campaign.Occasion.CHRISTMAS: "Christmas Day",
}


def occasion_date(occasion: str, year: int) -> date | None:
    """The day of a US occasion in `year`, from the `holidays` package's US calendar (public
    and unofficial days); Black Friday is the day after Thanksgiving. None for occasions
    without a fixed day (no occasion, a customer's first-order anniversary)."""
    calendar = holidays.US(years=year, categories=("public", "unofficial"))
    by_name = {name: day for day, name in calendar.items()}
    if occasion == Campaign.Occasion.BLACK_FRIDAY:
        return by_name["Thanksgiving Day"] + timedelta(days=1)
    name = HOLIDAY_NAMES.get(occasion)
    return by_name.get(name) if name else None


def next_occasion_date(occasion: str, today: date) -> date | None:
    """The occasion's next day on or after `today`."""
    this_year = occasion_date(occasion, today.year)
    if this_year is None or this_year >= today:
        return this_year
    return occasion_date(occasion, today.year + 1)


def _open_problem(store_id: int) -> Q:
    """Customers with something open: a ticket, a dispute on one of their orders, a
    resolution awaiting approval. An offer to them now would read as tone-deaf."""
    open_ticket = Ticket.objects.filter(customer=OuterRef("pk"), status__in=Ticket.OPEN_STATUSES)
    open_dispute = Dispute.objects.filter(order__customer=OuterRef("pk"), closed_at__isnull=True)
    pending = Resolution.objects.filter(
        customer=OuterRef("pk"), status=Resolution.Status.PENDING_APPROVAL
    )
    return Q(Exists(open_ticket)) | Q(Exists(open_dispute)) | Q(Exists(pending))


def _suppressed(store_id: int) -> Exists:
    return Exists(MarketingSuppression.objects.filter(store_id=store_id, email=OuterRef("email")))


def _kind_condition(segment: Segment, now: datetime) -> Q:
    """The segment's own rule, on the aggregates commerce keeps on the customer row
    (`total_spent` is the lifetime value: paid orders less succeeded refunds)."""
    parameters = segment.parameters or {}
    kind = segment.kind
    if kind == Segment.Kind.VIP:
        minimum = Decimal(str(parameters.get("min_lifetime_value", vip_thresholds()[0])))
        return Q(total_spent__gte=minimum)
    if kind == Segment.Kind.LAPSED:
        days = int(parameters.get("days", 180))
        return Q(last_order_at__lt=now - timedelta(days=days))
    if kind == Segment.Kind.RECENT:
        days = int(parameters.get("days", 30))
        return Q(last_order_at__gte=now - timedelta(days=days))
    if kind == Segment.Kind.GIFT:
        since = now - timedelta(days=int(parameters.get("days", 365)))
        gift_orders = Order.objects.filter(
            customer=OuterRef("pk"),
            created_at__gte=since,
            financial_status__in=BOUGHT_STATUSES,
        ).filter(
            ~Q(note="")
            | Q(tags__icontains="gift")
            | _different_recipient("first_name")
            | _different_recipient("last_name")
        )
        return Q(Exists(gift_orders))
    return Q(orders_count__gte=1)


def _different_recipient(key: str) -> Q:
    """Shipped to someone other than the buyer (Shopify's address keys): a gift."""
    return Q(**{"shipping_address__has_key": key, "billing_address__has_key": key}) & ~Q(
        **{f"shipping_address__{key}": F(f"billing_address__{key}")}
    )


def segment_members(segment: Segment, now: datetime | None = None) -> QuerySet[Customer]:
    """The segment's customers as one query (no rows read here): its rule, an e-mail address,
    less the suppressed addresses and the customers with an open problem."""
    now = now or timezone.now()
    return (
        Customer.objects.filter(store_id=segment.store_id)
        .filter(_kind_condition(segment, now))
        .exclude(email="")
        .exclude(_suppressed(segment.store_id))
        .exclude(_open_problem(segment.store_id))
    )


def anniversary_members(
    segment: Segment, today: date, now: datetime | None = None
) -> QuerySet[Customer]:
    """The segment's customers whose first order was on this month and day of an earlier year."""
    return segment_members(segment, now).filter(
        first_order_at__month=today.month,
        first_order_at__day=today.day,
        first_order_at__year__lt=today.year,
    )


def campaign_audience(
    campaign: Campaign, today: date | None = None, *, now: datetime | None = None
) -> QuerySet[Customer]:
    """Who the campaign would be queued to now (an anniversary campaign: today's)."""
    if campaign.is_recurring:
        return anniversary_members(campaign.segment, today or timezone.localdate(), now)
    return segment_members(campaign.segment, now)


@dataclass(frozen=True)
class Preview:
    count: int
    control: int
    sample: list[Customer]


def audience_preview(members: QuerySet[Customer], control_percent: int = 0) -> Preview:
    """The exact count, the expected control share and a sample (two queries)."""
    count = members.count()
    sample = list(
        members.only(
            "pk", "email", "first_name", "last_name", "total_spent", "last_order_at"
        ).order_by("-total_spent", "pk")[:SAMPLE_SIZE]
    )
    return Preview(count=count, control=count * control_percent // 100, sample=sample)


def last_order_id() -> Subquery:
    """The customer's newest bought order (the coupon is created against it)."""
    return Subquery(
        Order.objects.filter(customer=OuterRef("pk"), financial_status__in=BOUGHT_STATUSES)
        .order_by("-created_at", "-pk")
        .values("pk")[:1]
    )


def segments_for_list(store: Store) -> QuerySet[Segment]:
    return Segment.objects.filter(store=store).order_by("name", "pk")


def campaigns_for_list(store: Store) -> QuerySet[Campaign]:
    return (
        Campaign.objects.filter(store=store)
        .select_related("segment")
        .order_by("-created_at", "-pk")
    )


def campaign_for_page(store: Store, pk: int) -> Campaign:
    return Campaign.objects.select_related("segment", "created_by").get(store=store, pk=pk)


@dataclass(frozen=True)
class CampaignResults:
    """What a campaign did: messages, their fate, and orders placed within 14 days of the
    send by recipients against the held-out control group."""

    recipients: int
    control: int
    queued: int
    sent: int
    failed: int
    skipped: int
    delivered: int
    bounced: int
    unsubscribed: int
    buyers: int
    control_buyers: int
    orders: int
    control_orders: int
    revenue: Decimal
    window_days: int = RESULT_WINDOW_DAYS

    @property
    def treated(self) -> int:
        return self.sent + self.failed

    @property
    def conversion(self) -> float | None:
        return self.buyers / self.treated if self.treated else None

    @property
    def control_conversion(self) -> float | None:
        return self.control_buyers / self.control if self.control else None

    @property
    def uplift(self) -> float | None:
        """Percentage points of conversion the e-mail added over the control group."""
        if self.conversion is None or self.control_conversion is None:
            return None
        return self.conversion - self.control_conversion


def campaign_results(campaign: Campaign) -> CampaignResults:
    """Counted in three queries: the recipients by status and fate, their orders placed
    within the window after the campaign went out (the control's window starts then too), and
    the recipients' revenue."""
    counts = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
        recipients=Count("pk"),
        control=Count("pk", filter=Q(status=CampaignRecipient.Status.CONTROL)),
        queued=Count("pk", filter=Q(status=CampaignRecipient.Status.QUEUED)),
        sent=Count("pk", filter=Q(status=CampaignRecipient.Status.SENT)),
        failed=Count("pk", filter=Q(status=CampaignRecipient.Status.FAILED)),
        skipped=Count("pk", filter=Q(status=CampaignRecipient.Status.SKIPPED)),
        delivered=Count("pk", filter=Q(delivery=CampaignRecipient.Delivery.DELIVERED)),
        bounced=Count("pk", filter=Q(delivery=CampaignRecipient.Delivery.BOUNCED)),
        unsubscribed=Count("pk", filter=Q(unsubscribed_at__isnull=False)),
    )
    start = campaign.queued_at
    orders = {"buyers": 0, "control_buyers": 0, "orders": 0, "control_orders": 0}
    revenue = Decimal(0)
    if start is not None:
        end = start + timedelta(days=RESULT_WINDOW_DAYS)
        window = Q(
            customer__orders__created_at__gte=start,
            customer__orders__created_at__lt=end,
            customer__orders__financial_status__in=BOUGHT_STATUSES,
        )
        treated = Q(status__in=(CampaignRecipient.Status.SENT, CampaignRecipient.Status.FAILED))
        control = Q(status=CampaignRecipient.Status.CONTROL)
        row = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
            buyers=Count("customer", filter=window & treated, distinct=True),
            control_buyers=Count("customer", filter=window & control, distinct=True),
            orders=Count("customer__orders", filter=window & treated),
            control_orders=Count("customer__orders", filter=window & control),
        )
        orders = {key: value or 0 for key, value in row.items()}
        revenue = Order.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            financial_status__in=BOUGHT_STATUSES,
            customer__in=CampaignRecipient.objects.filter(
                campaign=campaign, status=CampaignRecipient.Status.SENT
            ).values("customer_id"),
        ).aggregate(total=Sum("total_price"))["total"] or Decimal(0)
    return CampaignResults(**counts, **orders, revenue=revenue)


def recipients_for_list(campaign: Campaign, status: str = "") -> QuerySet[CampaignRecipient]:
    rows = CampaignRecipient.objects.filter(campaign=campaign)
    if status in CampaignRecipient.Status.values:
        rows = rows.filter(status=status)
    return rows.order_by("pk")


def recipient_for_token(recipient_id: int) -> CampaignRecipient | None:
    return (
        CampaignRecipient.objects.select_related("campaign", "campaign__store")
        .filter(pk=recipient_id)
        .first()
    )


def is_suppressed(store_id: int, email: str) -> bool:
    return MarketingSuppression.objects.filter(store_id=store_id, email=email.lower()).exists()
