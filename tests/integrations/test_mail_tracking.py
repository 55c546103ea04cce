"""Delivery tracking from email providers (anymail): a signed Mailgun event marks a campaign
message delivered or bounced (a bounce also suppresses the address); a forged one is refused
and changes nothing; a provider without its secrets is closed."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from storedesk.experience.models import CampaignRecipient, MarketingSuppression, Segment
from storedesk.experience.services import do_queue_campaign, do_send_campaign_batch
from tests.experience.outreach_builders import buyer, campaign, segment
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

SECRET = "webhook-user:webhook-pass"
MAILGUN_KEY = "mailgun-signing-key"
URL = "/mail/mailgun/tracking/"


@pytest.fixture(autouse=True)
def anymail_secrets(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


@pytest.fixture
def sent():
    store = StoreFactory()
    buyer(store, "Ann")
    buyer(store, "Bea")
    sale = campaign(store, segment(store, Segment.Kind.ALL_BUYERS))
    do_queue_campaign(sale.pk, actor=None)
    do_send_campaign_batch(sale.pk, rate=0)
    return list(CampaignRecipient.objects.filter(campaign=sale).order_by("pk"))


def mailgun_event(event: str, message_id: str, *, key: str = MAILGUN_KEY, **extra) -> str:
    """Mailgun's webhook JSON (webhooks API): a signature block and the event data, the
    message id without angle brackets as Mailgun sends it."""
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": {
                "event": event,
                "timestamp": float(timestamp),
                "id": "CPgfbmQMTCKtHW6uIWtuVe",
                "recipient": "ann@mail.example",
                "message": {"headers": {"message-id": message_id.strip("<>")}},
                **extra,
            },
        }
    )


def post(client, body, credentials=SECRET):
    auth = "Basic " + base64.b64encode(credentials.encode()).decode()
    return client.post(URL, body, content_type="application/json", HTTP_AUTHORIZATION=auth)


def test_delivered_and_bounced_events_reach_the_recipients(client, sent):
    first, second = sent
    assert post(client, mailgun_event("delivered", first.message_id)).status_code == 200
    bounce = mailgun_event("failed", second.message_id, severity="permanent", reason="bounce")
    assert post(client, bounce).status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.delivery == "delivered"
    assert second.delivery == "bounced"
    assert MarketingSuppression.objects.filter(email=second.email, reason="bounced").exists()


def test_a_temporary_failure_is_not_a_bounce(client, sent):
    first, _second = sent
    event = mailgun_event("failed", first.message_id, severity="temporary", reason="generic")
    assert post(client, event).status_code == 200
    first.refresh_from_db()
    assert first.delivery == ""


def test_a_forged_event_is_refused_and_changes_nothing(client, sent):
    first, _second = sent
    forged = mailgun_event("failed", first.message_id, key="not-the-key", severity="permanent")
    assert post(client, forged).status_code == 400
    assert post(client, mailgun_event("delivered", first.message_id), "x:y").status_code in (
        400,
        401,
        403,
    )
    first.refresh_from_db()
    assert first.delivery == ""
    assert not MarketingSuppression.objects.exists()


def test_an_event_for_another_message_is_acknowledged(client, sent):
    assert post(client, mailgun_event("delivered", "<not-ours@mail.example>")).status_code == 200


def test_closed_until_the_secrets_are_set(client, settings, sent):
    settings.ANYMAIL = {}
    first, _second = sent
    assert post(client, mailgun_event("delivered", first.message_id)).status_code == 404
