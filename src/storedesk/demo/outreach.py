"""The demo's outreach: the store's segments and two past campaigns (the last Mother's Day and
the last Black Friday inside the simulated window) with their results.

Everything goes through the experience services, as the desk would: segments saved, each
campaign queued on its day (recipients written set-based, the control group held out), sent
through a mail backend that discards (the demo e-mails nobody), then the provider's tracking
events replayed (a deterministic few bounce, a few unsubscribe). Orders "within 14 days" are
the simulated store's own orders, so the uplift shown is what the data says, not a made-up one.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.mail.backends.dummy import EmailBackend as DiscardingBackend

from storedesk.demo.scenarios import DemoContext, Scenario, scenario
from storedesk.experience import queries
from storedesk.experience.models import (
    Campaign,
    CampaignRecipient,
    MarketingSuppression,
    Segment,
)
from storedesk.experience.services import (
    OutreachError,
    do_queue_campaign,
    do_record_delivery,
    do_save_campaign,
    do_save_segment,
    do_send_campaign_batch,
    do_unsubscribe,
)

ACTOR = "demo"
SEGMENTS = [
    ("VIP customers", Segment.Kind.VIP, {"min_lifetime_value": "500"}),
    ("Lapsed buyers", Segment.Kind.LAPSED, {"days": 180}),
    ("Recent buyers", Segment.Kind.RECENT, {"days": 30}),
    ("Gift buyers", Segment.Kind.GIFT, {"days": 365}),
]
CAMPAIGNS = [
    {
        "name": "Mother's Day thank-you",
        "segment": "Gift buyers",
        "occasion": Campaign.Occasion.MOTHERS_DAY,
        "subject": "A little thank-you before Mother's Day, {{ first_name }}",
        "body": (
            "Hi {{ first_name }},\n\nLast time you chose a gift from {{ store_name }} for "
            "someone you love. Mother's Day is coming: {{ offer }}\n\nWith care,\nThe "
            "{{ store_name }} team"
        ),
        "offer_kind": Campaign.Offer.COUPON,
        "offer_amount": Decimal("15.00"),
        "offer_text": "",
        "control_percent": 10,
    },
    {
        "name": "Black Friday for our VIPs",
        "segment": "VIP customers",
        "occasion": Campaign.Occasion.BLACK_FRIDAY,
        "subject": "Early Black Friday access for you, {{ first_name }}",
        "body": (
            "Hi {{ first_name }},\n\nThank you for being one of our most loyal customers. "
            "{{ offer }}\n\nWarmly,\nThe {{ store_name }} team"
        ),
        "offer_kind": Campaign.Offer.SERVICE,
        "offer_amount": Decimal("0"),
        "offer_text": (
            "Free ring resizing and a complimentary polishing cloth with any order this week."
        ),
        "control_percent": 10,
    },
]
BOUNCE_EVERY = 41  # recipient ids divisible by these bounce / unsubscribe (deterministic)
UNSUBSCRIBE_EVERY = 67


@scenario("outreach", order=900)
class OutreachScenario(Scenario):
    def finish(self, ctx: DemoContext) -> None:
        store = ctx.store
        segments = {
            name: do_save_segment(
                actor=ACTOR, store=store, name=name, kind=kind, parameters=parameters
            )
            for name, kind, parameters in SEGMENTS
        }
        zone = ZoneInfo(store.timezone)
        for plan in CAMPAIGNS:
            day = _last_occasion(plan["occasion"], ctx.now.astimezone(zone).date())
            if day is None:
                continue
            sent_at = datetime.combine(day, time(9, 0), zone) - timedelta(days=2)
            if sent_at < ctx.start or sent_at + timedelta(days=14) > ctx.now:
                continue  # outside the simulated window: no orders to compare
            campaign = do_save_campaign(
                actor=ACTOR,
                store=store,
                **(plan | {"segment": segments[plan["segment"]], "send_on": sent_at.date()}),
            )
            try:
                do_queue_campaign(campaign.pk, actor=ACTOR, at=sent_at)
            except OutreachError:
                continue  # a tiny demo may have nobody in the segment
            do_send_campaign_batch(
                campaign.pk, limit=10**9, rate=0, connection_=DiscardingBackend(), at=sent_at
            )
            _replay_tracking(campaign, sent_at)
            ctx.counters["campaigns"] = ctx.counters.get("campaigns", 0) + 1

    def reset(self, store) -> None:
        for queryset in (
            CampaignRecipient.objects.filter(campaign__store=store),
            MarketingSuppression.objects.filter(store=store),
            Campaign.objects.filter(store=store),
            Segment.objects.filter(store=store),
        ):
            queryset._raw_delete(queryset.db)


def _last_occasion(occasion: str, today):
    day = queries.occasion_date(occasion, today.year)
    if day is None or day >= today:
        day = queries.occasion_date(occasion, today.year - 1)
    return day


def _replay_tracking(campaign: Campaign, sent_at: datetime) -> None:
    """The provider's events for each message sent: delivered, or a hard bounce; a few
    recipients click unsubscribe the next day."""
    rows = CampaignRecipient.objects.filter(
        campaign=campaign, status=CampaignRecipient.Status.SENT
    ).values_list("pk", "message_id")
    for recipient_id, message_id in rows.order_by("pk").iterator(chunk_size=1000):
        bounced = recipient_id % BOUNCE_EVERY == 0
        do_record_delivery(
            message_id, "bounced" if bounced else "delivered", at=sent_at + timedelta(minutes=2)
        )
        if not bounced and recipient_id % UNSUBSCRIBE_EVERY == 0:
            do_unsubscribe(recipient_id, source="demo", at=sent_at + timedelta(days=1))
