"""The demo store's outreach: two past campaigns (Mother's Day, Black Friday), sent through the
services, with deliveries, bounces, unsubscribes and orders against the control group."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from storedesk.experience import queries
from storedesk.experience.models import Campaign, MarketingSuppression, Segment

pytestmark = pytest.mark.django_db


def test_the_demo_has_two_past_campaigns_with_their_results():
    call_command("demo", "--orders", "2500", "--end", "2026-06-30", stdout=StringIO())
    assert Segment.objects.count() == 4
    campaigns = list(Campaign.objects.order_by("send_on"))
    assert [c.occasion for c in campaigns] == ["black_friday", "mothers_day"]
    assert [c.send_on.isoformat() for c in campaigns] == ["2025-11-26", "2026-05-08"]
    assert not mail.outbox  # the demo e-mails nobody
    for campaign in campaigns:
        assert campaign.status == Campaign.Status.SENT
        results = queries.campaign_results(campaign)
        assert results.sent > 0
        assert results.control > 0
        assert results.delivered + results.bounced == results.sent
        assert results.bounced > 0
        assert results.uplift is not None
    total = sum(queries.campaign_results(c).unsubscribed for c in campaigns)
    assert total == MarketingSuppression.objects.filter(reason="unsubscribed").count() > 0
