"""Segments on a hand-built store: each kind's arithmetic, the exclusions every segment
applies (unsubscribed, open ticket, open dispute, pending approval), and the US occasions."""

from datetime import date

import pytest
from django.utils import timezone

from storedesk.desk.models import Ticket
from storedesk.experience import queries
from storedesk.experience.models import MarketingSuppression, Segment
from tests.desk.builders import make_ticket
from tests.experience.outreach_builders import hand_built_store, segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    store, people = hand_built_store()
    ticket = make_ticket(requester=people["troubled"].email)
    Ticket.objects.filter(pk=ticket.pk).update(customer=people["troubled"], status="open")
    MarketingSuppression.objects.create(
        store=store,
        email=people["unsubscribed"].email,
        reason="unsubscribed",
        created_at=timezone.now(),
    )
    return store, people


def names(seg):
    return sorted(queries.segment_members(seg).values_list("first_name", flat=True))


def test_vip_by_lifetime_value_leaves_out_the_unsubscribed_and_the_open_ticket(shop):
    store, _people = shop
    assert names(segment(store, Segment.Kind.VIP, min_lifetime_value="1000")) == ["Vera", "Violet"]
    assert names(segment(store, Segment.Kind.VIP, min_lifetime_value="1200")) == ["Vera"]


def test_lapsed_recent_gift_and_all_buyers(shop):
    store, _people = shop
    assert names(segment(store, Segment.Kind.LAPSED, days=180)) == ["Linda"]
    assert names(segment(store, Segment.Kind.RECENT, days=30)) == ["Rosa", "Ruth"]
    assert names(segment(store, Segment.Kind.RECENT, days=7)) == ["Rosa"]
    assert names(segment(store, Segment.Kind.GIFT, days=365)) == ["Grace"]
    everyone = names(segment(store, Segment.Kind.ALL_BUYERS))
    assert everyone == ["Grace", "Linda", "Rosa", "Ruth", "Vera", "Violet"]


def test_a_gift_is_also_an_order_shipped_to_someone_else(shop):
    store, people = shop
    order = people["recent2"].orders.get()
    order.shipping_address = order.shipping_address | {"first_name": "Anna", "last_name": "Moss"}
    order.save()
    assert names(segment(store, Segment.Kind.GIFT, days=365)) == ["Grace", "Ruth"]


def test_the_ticket_solved_brings_the_customer_back(shop):
    store, people = shop
    Ticket.objects.filter(customer=people["troubled"]).update(status="solved")
    assert names(segment(store, Segment.Kind.VIP, min_lifetime_value="1000")) == [
        "Tina",
        "Vera",
        "Violet",
    ]


def test_preview_counts_exactly_and_samples_by_value(shop):
    store, _people = shop
    preview = queries.audience_preview(
        queries.segment_members(segment(store, Segment.Kind.ALL_BUYERS)), control_percent=50
    )
    assert preview.count == 6
    assert preview.control == 3
    assert [customer.first_name for customer in preview.sample][:2] == ["Vera", "Violet"]


def test_segment_members_is_one_query(shop, django_assert_num_queries):
    store, _people = shop
    seg = segment(store, Segment.Kind.VIP, min_lifetime_value="500")
    with django_assert_num_queries(1):
        assert queries.segment_members(seg).count() == 2


@pytest.mark.parametrize(
    ("occasion", "year", "day"),
    [
        ("valentines_day", 2026, date(2026, 2, 14)),
        ("mothers_day", 2026, date(2026, 5, 10)),
        ("mothers_day", 2027, date(2027, 5, 9)),
        ("black_friday", 2026, date(2026, 11, 27)),
        ("black_friday", 2025, date(2025, 11, 28)),
        ("christmas", 2026, date(2026, 12, 25)),
        ("first_order_anniversary", 2026, None),
    ],
)
def test_us_occasions_come_from_the_holiday_calendar(occasion, year, day):
    assert queries.occasion_date(occasion, year) == day


def test_the_next_occasion_rolls_into_next_year():
    assert queries.next_occasion_date("valentines_day", date(2026, 3, 1)) == date(2027, 2, 14)
    assert queries.next_occasion_date("valentines_day", date(2026, 2, 14)) == date(2026, 2, 14)
