"""Two senders and two "send" clicks at once, on PostgreSQL with real connections: every
recipient is written once and gets exactly one message."""

from collections import Counter

import pytest
from django.core import mail
from django.db import connection

from storedesk.experience.models import Campaign, CampaignRecipient, Segment
from storedesk.experience.services import do_queue_campaign, do_send_campaign_batch
from tests.concurrency import run_at_once
from tests.experience.outreach_builders import buyer, campaign, segment
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_queue_and_send_give_everyone_one_message(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks and concurrent connections (PostgreSQL)")
    # The senders below race each other, not the task a queued campaign starts.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    store = StoreFactory()
    for n in range(30):
        buyer(store, f"Racer{n:02d}")
    sale = campaign(store, segment(store, Segment.Kind.ALL_BUYERS))

    queued = run_at_once(*[lambda: do_queue_campaign(sale.pk, actor=None) for _ in range(3)])
    assert sum(result.added for result in queued) == 30
    assert CampaignRecipient.objects.filter(campaign=sale).count() == 30

    reports = run_at_once(*[lambda: do_send_campaign_batch(sale.pk, rate=0) for _ in range(3)])
    assert sum(report.sent for report in reports) == 30
    assert Counter(message.to[0] for message in mail.outbox) == Counter(
        {f"racer{n:02d}@mail.example": 1 for n in range(30)}
    )
    assert Campaign.objects.get(pk=sale.pk).status == Campaign.Status.SENT
