"""Queueing and sending a campaign: recipients written once, a crash halfway and a resume
giving everyone exactly one message, the zero segment refused, the one-click unsubscribe
honoured at once and kept across campaigns, the headers and footer every message carries."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from storedesk.experience import queries
from storedesk.experience.models import Campaign, CampaignRecipient, MarketingSuppression, Segment
from storedesk.experience.services import (
    OutreachError,
    do_queue_campaign,
    do_record_delivery,
    do_send_campaign_batch,
    do_unsubscribe,
)
from storedesk.experience.services.outreach import recipient_from_token, unsubscribe_token
from tests.experience.outreach_builders import buyer, campaign, hand_built_store, segment
from tests.factories import OrderFactory, StoreFactory

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """The process dies: nothing after it runs (not an Exception a sender could catch)."""


class DyingBackend(EmailBackend):
    """Accepts `survive` messages (they are in the outbox), then dies right after accepting
    the next one: its row was claimed and the mail went out, but it was never marked sent."""

    def __init__(self, survive: int, **kwargs):
        super().__init__(**kwargs)
        self.survive = survive

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        self.survive -= 1
        if self.survive < 0:
            raise WorkerKilled
        return sent


class RefusingBackend(EmailBackend):
    """The provider is down after `accept` messages: it raises before accepting."""

    def __init__(self, accept: int, **kwargs):
        super().__init__(**kwargs)
        self.accept = accept

    def send_messages(self, messages):
        if self.accept <= 0:
            raise ConnectionRefusedError("connection refused")
        self.accept -= 1
        return super().send_messages(messages)


def many_buyers(count: int):
    store = StoreFactory()
    for n in range(count):
        buyer(store, f"Buyer{n:03d}", spent="100.00", days_ago=10)
    return store


def messages_per_address():
    return Counter(message.to[0] for message in mail.outbox)


def test_queue_writes_every_member_once_with_a_deterministic_control_share():
    store = many_buyers(40)
    seg = segment(store, Segment.Kind.ALL_BUYERS)
    first = campaign(store, seg, control_percent=25)
    result = do_queue_campaign(first.pk, actor=None)
    rows = CampaignRecipient.objects.filter(campaign=first)
    assert result.added == 40 == rows.count()
    control = set(rows.filter(status="control").values_list("customer_id", flat=True))
    assert 0 < len(control) < 20
    assert result.campaign.control_count == len(control)
    assert result.campaign.status == Campaign.Status.SENDING
    # Queueing again while it sends adds nobody and changes nothing.
    again = do_queue_campaign(first.pk, actor=None)
    assert again.already_queued
    assert rows.count() == 40
    # The same split for the same campaign and customers, every time it is computed.
    CampaignRecipient.objects.filter(campaign=first).delete()
    Campaign.objects.filter(pk=first.pk).update(status="draft")
    do_queue_campaign(first.pk, actor=None)
    assert set(rows.filter(status="control").values_list("customer_id", flat=True)) == control


def test_a_crash_halfway_and_a_resume_give_everyone_exactly_one_message(settings):
    settings.OUTREACH_CLAIM_LEASE_SECONDS = 0
    store = many_buyers(12)
    seg = segment(store, Segment.Kind.ALL_BUYERS)
    sale = campaign(store, seg, offer_kind="coupon", offer_amount=Decimal("15.00"))
    do_queue_campaign(sale.pk, actor=None)

    with pytest.raises(WorkerKilled):
        do_send_campaign_batch(sale.pk, rate=0, connection_=DyingBackend(survive=5))
    assert len(mail.outbox) == 6  # five marked sent, the sixth sent but never marked

    report = do_send_campaign_batch(sale.pk, rate=0)
    assert report.interrupted == 1  # the sixth: not sent again
    assert report.sent == 6
    assert report.left == 0
    assert len(mail.outbox) == 12
    assert set(messages_per_address().values()) == {1}
    assert len(messages_per_address()) == 12
    sale.refresh_from_db()
    assert sale.status == Campaign.Status.SENT
    # Each recipient's coupon is their own and stable (made from campaign + recipient).
    codes = [m.body.split("code ")[1].split(".")[0] for m in mail.outbox if "code " in m.body]
    assert len(codes) == 12
    assert len(set(codes)) == 12
    # Running the sender once more sends nothing.
    assert do_send_campaign_batch(sale.pk, rate=0).sent == 0
    assert len(mail.outbox) == 12


def test_a_provider_outage_puts_the_message_back_and_the_resume_sends_it_once():
    store = many_buyers(5)
    sale = campaign(store, segment(store, Segment.Kind.ALL_BUYERS))
    do_queue_campaign(sale.pk, actor=None)
    report = do_send_campaign_batch(sale.pk, rate=0, connection_=RefusingBackend(accept=2))
    assert report.sent == 2
    assert report.stopped
    assert report.left == 3
    assert CampaignRecipient.objects.filter(campaign=sale, status="queued").count() == 3
    assert do_send_campaign_batch(sale.pk, rate=0).sent == 3
    assert sorted(messages_per_address().values()) == [1] * 5


def test_a_campaign_to_a_segment_of_zero_is_refused_before_anything_is_written():
    store, _people = hand_built_store()
    empty = segment(store, Segment.Kind.VIP, min_lifetime_value="999999")
    nobody = campaign(store, empty)
    with pytest.raises(OutreachError) as refused:
        do_queue_campaign(nobody.pk, actor=None)
    assert refused.value.code == "empty_segment"
    assert not CampaignRecipient.objects.exists()
    nobody.refresh_from_db()
    assert nobody.status == Campaign.Status.DRAFT


def test_a_sent_campaign_cannot_be_sent_again():
    store = many_buyers(2)
    sale = campaign(store, segment(store, Segment.Kind.ALL_BUYERS))
    do_queue_campaign(sale.pk, actor=None)
    do_send_campaign_batch(sale.pk, rate=0)
    with pytest.raises(OutreachError) as refused:
        do_queue_campaign(sale.pk, actor=None)
    assert refused.value.code == "already_sent"
    assert len(mail.outbox) == 2


def test_no_postal_address_no_campaign(settings):
    settings.STORE_POSTAL_ADDRESS = ""
    store = many_buyers(2)
    sale = campaign(store, segment(store, Segment.Kind.ALL_BUYERS))
    with pytest.raises(OutreachError) as refused:
        do_queue_campaign(sale.pk, actor=None)
    assert refused.value.code == "postal_address_missing"


def test_every_message_carries_one_click_unsubscribe_and_the_postal_address(settings):
    store = many_buyers(1)
    sale = campaign(store, segment(store, Segment.Kind.ALL_BUYERS))
    do_queue_campaign(sale.pk, actor=None)
    do_send_campaign_batch(sale.pk, rate=0)
    (message,) = mail.outbox
    recipient = CampaignRecipient.objects.get(campaign=sale)
    link = f"{settings.DESK_URL}/u/{unsubscribe_token(recipient.pk)}/"
    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert settings.STORE_POSTAL_ADDRESS in message.body
    html = message.alternatives[0].content
    assert settings.STORE_POSTAL_ADDRESS in html
    assert link in html
    assert message.subject == "A little something for you, Buyer000"
    assert recipient.message_id == message.extra_headers["Message-ID"]


def test_customer_text_in_a_campaign_is_escaped_in_the_html():
    store = many_buyers(1)
    sale = campaign(
        store, segment(store, Segment.Kind.ALL_BUYERS), body="Hi <script>alert(1)</script>"
    )
    do_queue_campaign(sale.pk, actor=None)
    do_send_campaign_batch(sale.pk, rate=0)
    html = mail.outbox[0].alternatives[0].content
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_an_unsubscribe_is_honoured_at_once_and_kept_for_the_next_campaign():
    store = many_buyers(3)
    seg = segment(store, Segment.Kind.ALL_BUYERS)
    first = campaign(store, seg)
    do_queue_campaign(first.pk, actor=None)
    rows = list(CampaignRecipient.objects.filter(campaign=first).order_by("pk"))
    # The second recipient unsubscribes (from an earlier mail of the store) before the send.
    assert do_unsubscribe(rows[1].pk) is True
    assert do_unsubscribe(rows[1].pk) is False  # a second click changes nothing
    report = do_send_campaign_batch(first.pk, rate=0)
    assert report.sent == 2
    assert report.skipped == 1
    assert rows[1].email not in messages_per_address()
    second = campaign(store, seg, name="Second")
    do_queue_campaign(second.pk, actor=None)
    assert rows[1].customer_id not in set(
        CampaignRecipient.objects.filter(campaign=second).values_list("customer_id", flat=True)
    )
    assert MarketingSuppression.objects.filter(email=rows[1].email).count() == 1
    assert queries.campaign_results(first).unsubscribed == 1


def test_tokens_are_signed():
    assert recipient_from_token(unsubscribe_token(42)) == 42
    assert recipient_from_token("42:forged") is None
    assert recipient_from_token("nonsense") is None


def test_results_count_deliveries_bounces_and_orders_against_control(settings):
    store = many_buyers(40)
    sale = campaign(store, segment(store, Segment.Kind.ALL_BUYERS), control_percent=25)
    do_queue_campaign(sale.pk, actor=None)
    do_send_campaign_batch(sale.pk, rate=0)
    sent = list(CampaignRecipient.objects.filter(campaign=sale, status="sent").order_by("pk"))
    control = list(CampaignRecipient.objects.filter(campaign=sale, status="control"))
    assert do_record_delivery(sent[0].message_id, "bounced")
    for row in sent[1:]:
        do_record_delivery(row.message_id, "delivered")
    assert not do_record_delivery("<unknown@x>", "delivered")
    later = timezone.now() + timedelta(days=3)
    for row in sent[1:5]:
        OrderFactory(store=store, customer=row.customer, created_at=later)
    OrderFactory(store=store, customer=control[0].customer, created_at=later)
    # Outside the window: not counted.
    OrderFactory(store=store, customer=sent[6].customer, created_at=later + timedelta(20))
    sale.refresh_from_db()
    results = queries.campaign_results(sale)
    assert results.sent == len(sent)
    assert results.delivered == len(sent) - 1
    assert results.bounced == 1
    assert results.buyers == 4
    assert results.orders == 4
    assert results.control_buyers == 1
    assert results.control == len(control)
    assert results.uplift == pytest.approx(4 / len(sent) - 1 / len(control))
    assert results.revenue == Decimal("89.00") * 4
    # A hard bounce keeps the address out of later campaigns.
    assert MarketingSuppression.objects.filter(email=sent[0].email, reason="bounced").exists()


def test_the_daily_run_sends_a_holiday_campaign_on_its_day_and_anniversaries_once_a_year(
    django_capture_on_commit_callbacks,
):
    from datetime import date

    from storedesk.experience.services import do_run_due_campaigns, do_schedule_campaign

    store = StoreFactory()
    ann = buyer(store, "Ann", days_ago=10)
    first = timezone.now() - timedelta(days=365 * 2)
    type(ann).objects.filter(pk=ann.pk).update(first_order_at=first)
    seg = segment(store, Segment.Kind.ALL_BUYERS)
    valentine = campaign(store, seg, name="Valentine", occasion="valentines_day")
    assert valentine.send_on.month == 2 and valentine.send_on.day == 14  # noqa: PT018
    do_schedule_campaign(valentine, actor=None)
    anniversary = campaign(store, seg, name="Anniversary", occasion="first_order_anniversary")
    do_schedule_campaign(anniversary, actor=None)

    the_day_before = valentine.send_on - timedelta(days=1)
    assert do_run_due_campaigns(today=the_day_before) == []
    with django_capture_on_commit_callbacks(execute=True):
        queued = do_run_due_campaigns(today=valentine.send_on)
    assert queued == [valentine.pk]
    anniversary_day = first.date().replace(year=timezone.now().year)
    with django_capture_on_commit_callbacks(execute=True):
        assert do_run_due_campaigns(today=anniversary_day) == [anniversary.pk]
        assert do_run_due_campaigns(today=anniversary_day) == []  # the same day: once
    assert sorted(m.subject for m in mail.outbox) == [
        "A little something for you, Ann",
        "A little something for you, Ann",
    ]
    rows = CampaignRecipient.objects.filter(campaign=anniversary)
    assert list(rows.values_list("round", "status")) == [(anniversary_day.year, "sent")]
    assert isinstance(anniversary_day, date)


def test_cancelling_stops_what_is_not_sent():
    from storedesk.experience.services import do_cancel_campaign

    store = many_buyers(3)
    sale = campaign(store, segment(store, Segment.Kind.ALL_BUYERS))
    do_queue_campaign(sale.pk, actor=None)
    do_send_campaign_batch(sale.pk, limit=1, rate=0)
    do_cancel_campaign(sale, actor=None)
    assert do_send_campaign_batch(sale.pk, rate=0).stopped == "cancelled"
    assert len(mail.outbox) == 1
    assert CampaignRecipient.objects.filter(campaign=sale, status="skipped").count() == 2


def test_the_send_task_works_through_the_campaign_in_batches(
    settings, django_capture_on_commit_callbacks
):
    settings.OUTREACH_BATCH_SIZE = 2
    settings.OUTREACH_SEND_RATE = 0
    store = many_buyers(5)
    sale = campaign(store, segment(store, Segment.Kind.ALL_BUYERS))
    with django_capture_on_commit_callbacks(execute=True):
        do_queue_campaign(sale.pk, actor=None)
    assert sorted(messages_per_address().values()) == [1] * 5
    sale.refresh_from_db()
    assert sale.status == Campaign.Status.SENT
