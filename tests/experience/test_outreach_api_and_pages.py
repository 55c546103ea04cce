"""The outreach API (list campaigns, send idempotently, the refusals in the project's error
shape) and the desk pages (who may, the preview's exact count, a fixed number of queries)."""

import pytest
from django.core import mail
from django.urls import reverse

from storedesk.accounts.roles import Role
from storedesk.experience.models import Campaign, CampaignRecipient, MarketingSuppression, Segment
from storedesk.experience.services import do_queue_campaign, do_send_campaign_batch
from storedesk.experience.services.outreach import unsubscribe_token
from tests.api.conftest import token_client  # noqa: F401  (the fixture)
from tests.experience.outreach_builders import buyer, campaign, hand_built_store, segment
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    store, people = hand_built_store()
    return store, people


def send_url(pk):
    return f"/api/v1/campaigns/{pk}/send"


def test_list_campaigns_is_paginated_with_a_cursor(token_client, shop):  # noqa: F811
    store, _people = shop
    seg = segment(store, Segment.Kind.ALL_BUYERS)
    for n in range(3):
        campaign(store, seg, name=f"Campaign {n}")
    api = token_client(Role.AGENT, username="reader")
    first = api.get("/api/v1/campaigns?limit=2").json()
    assert [item["name"] for item in first["items"]] == ["Campaign 2", "Campaign 1"]
    assert first["items"][0]["segment"] == seg.name
    rest = api.get(f"/api/v1/campaigns?limit=2&cursor={first['next_cursor']}").json()
    assert [item["name"] for item in rest["items"]] == ["Campaign 0"]
    assert rest["next_cursor"] is None


def test_send_queues_once_then_answers_the_same_and_refuses_after(token_client, shop):  # noqa: F811
    store, _people = shop
    sale = campaign(store, segment(store, Segment.Kind.RECENT, days=30))
    lead = token_client(Role.LEAD, username="lead-api")
    agent = token_client(Role.AGENT, username="agent-api")
    refused = agent.post(send_url(sale.pk))
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    first = lead.post(send_url(sale.pk))
    assert first.status_code == 202
    assert first.json()["added"] == 2
    assert first.json()["campaign"]["status"] == "sending"
    again = lead.post(send_url(sale.pk))
    assert again.status_code == 202
    assert again.json()["already_queued"] is True
    assert CampaignRecipient.objects.filter(campaign=sale).count() == 2
    do_send_campaign_batch(sale.pk, rate=0)
    done = lead.post(send_url(sale.pk))
    assert done.status_code == 409
    assert done.json()["code"] == "already_sent"
    assert len(mail.outbox) == 2
    results = lead.get(f"/api/v1/campaigns/{sale.pk}/results").json()
    assert results["control"] == 0
    assert results["waiting"] == 0


def test_send_to_a_segment_of_zero_is_422_in_the_error_shape(token_client, shop):  # noqa: F811
    store, _people = shop
    empty = campaign(store, segment(store, Segment.Kind.LAPSED, days=3000))
    answer = token_client(Role.LEAD, username="lead-api").post(send_url(empty.pk))
    assert answer.status_code == 422
    assert answer.json()["code"] == "empty_segment"
    assert set(answer.json()) == {"code", "message", "details"}
    missing = token_client(Role.ADMIN, username="admin-api").post(send_url(999999))
    assert missing.status_code == 404


def test_unsubscribe_page_get_asks_post_unsubscribes_and_one_click_answers_plainly(client):
    store = StoreFactory()
    buyer(store, "Ann")
    sale = campaign(store, segment(store, Segment.Kind.ALL_BUYERS))
    do_queue_campaign(sale.pk, actor=None)
    recipient = CampaignRecipient.objects.get(campaign=sale)
    url = reverse("experience:unsubscribe", args=[unsubscribe_token(recipient.pk)])
    page = client.get(url)
    assert page.status_code == 200
    assert b"Unsubscribe from" in page.content
    assert not MarketingSuppression.objects.exists()  # a link scanner's GET changes nothing
    one_click = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert one_click.content == b"Unsubscribed."
    assert MarketingSuppression.objects.filter(email=recipient.email).exists()
    assert client.get(url.replace(":", ":x")).status_code == 404


def test_pages_show_the_exact_count_and_a_rendered_email(client, make_user, shop):
    store, _people = shop
    seg = segment(store, Segment.Kind.RECENT, days=30)
    sale = campaign(store, seg)
    client.force_login(make_user(Role.LEAD, username="lead"))
    page = client.get(reverse("experience:campaign", args=[sale.pk]))
    assert page.status_code == 200
    assert b"2 recipients" in page.content
    assert b"A little something for you, Rosa" in page.content
    assert b"Test Store, 1 Main Street" in page.content
    segments = client.get(reverse("experience:segments"))
    assert b'data-testid="segment-count">2<' in segments.content


def test_lead_creates_a_campaign_through_the_form_and_bad_variables_are_refused(
    client, make_user, shop
):
    store, _people = shop
    seg = segment(store, Segment.Kind.VIP, min_lifetime_value="1000")
    client.force_login(make_user(Role.LEAD, username="lead"))
    form = {
        "name": "Mother's Day",
        "segment": seg.pk,
        "occasion": "mothers_day",
        "subject": "For Mom, {{ first_name }}",
        "body": "Hello {{ first_name }} {{ secret_key }}",
        "offer_kind": "coupon",
        "offer_amount": "15.00",
        "control_percent": "10",
    }
    bad = client.post(reverse("experience:campaign_new"), form)
    assert bad.status_code == 400
    assert b"secret_key" in bad.content
    assert not Campaign.objects.exists()
    form["body"] = "Hello {{ first_name }}, {{ offer }}"
    good = client.post(reverse("experience:campaign_new"), form)
    assert good.status_code == 302
    saved = Campaign.objects.get()
    assert saved.send_on is not None
    assert saved.send_on.month == 5


@pytest.mark.parametrize("campaigns", [1, 8])
def test_campaign_list_queries_do_not_grow(
    client, make_user, shop, campaigns, django_assert_max_num_queries
):
    store, _people = shop
    seg = segment(store, Segment.Kind.ALL_BUYERS)
    for n in range(campaigns):
        campaign(store, seg, name=f"C{n}")
    client.force_login(make_user(Role.AGENT, username="agent"))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("experience:campaigns")).status_code == 200


@pytest.mark.parametrize("segments", [1, 6])
def test_segment_list_is_one_count_per_segment_on_the_page(
    client, make_user, shop, segments, django_assert_max_num_queries
):
    store, _people = shop
    for n in range(segments):
        segment(store, Segment.Kind.RECENT, days=10 + n)
    client.force_login(make_user(Role.AGENT, username="agent"))
    with django_assert_max_num_queries(11 + segments):
        assert client.get(reverse("experience:segments")).status_code == 200
