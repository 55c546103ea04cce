"""Tracking lookups at /track/: the right number and e-mail open the order's page; a wrong
e-mail and an unknown number get the same answer; too many tries are refused with 429."""

import html
import re
import time
import zoneinfo

import pytest
from django.core import signing
from django.core.cache import cache

from storedesk.commerce.models import Shipment
from storedesk.commerce.queries import order_id_of_tracking_token, order_tracking_url
from storedesk.desk.models import Channel
from storedesk.desk.replies import ticket_values
from storedesk.desk.services import do_open_ticket
from tests.experience.tracking_builders import tracked_order
from tests.factories import ShipmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def lookup(client, order="#TP10234", email="emma.stone@mail.example", ip="203.0.113.7"):
    return client.post("/track/", {"order": order, "email": email}, REMOTE_ADDR=ip)


def test_the_form_renders_for_anyone(client):
    response = client.get("/track/")
    assert response.status_code == 200
    assert 'name="order"' in response.content.decode()
    assert 'name="email"' in response.content.decode()


@pytest.mark.parametrize("typed", ["#TP10234", "tp10234", "10234", " TP10234 "])
def test_the_right_number_and_email_open_the_order_page(client, typed):
    order = tracked_order()

    response = lookup(client, order=typed, email=" EMMA.STONE@mail.example ")

    assert response.status_code == 302
    token = response["Location"].removeprefix("/track/").rstrip("/")
    assert order_id_of_tracking_token(token) == order.pk
    page = client.get(response["Location"])
    text = page.content.decode()
    assert page.status_code == 200
    assert "Order #TP10234" in text
    assert "Scan 2: arrived at USPS facility" in text
    assert "Scan 1: arrived at USPS facility" in text
    assert "Moonstone Ring (Size 7)" in text
    # The customer has no zone of their own: their Texas shipping address gives Central time.
    assert "America/Chicago" in text


def _answer(response) -> str:
    """The page without the CSRF token, which differs on every request."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_a_wrong_email_and_an_unknown_number_get_the_same_answer(client):
    tracked_order()

    wrong_email = lookup(client, email="someone.else@mail.example")
    unknown = lookup(client, order="#TP99999")
    empty_email = lookup(client, email="x")

    assert wrong_email.status_code == unknown.status_code == empty_email.status_code == 200
    assert "We couldn't find that order" in html.unescape(wrong_email.content.decode())
    assert _answer(wrong_email).replace("someone.else@mail.example", "E") == _answer(
        unknown
    ).replace("#TP99999", "#TP10234").replace("emma.stone@mail.example", "E")
    assert "Moonstone" not in wrong_email.content.decode()


def test_the_order_email_of_its_customer_also_opens_it(client):
    order = tracked_order()
    order.customer.email = "emma.new@mail.example"
    order.customer.save()

    assert lookup(client, email="emma.new@mail.example").status_code == 302
    assert lookup(client, email="emma.stone@mail.example").status_code == 302


def test_thirty_tries_a_minute_from_one_ip_then_429(client, settings):
    settings.TRACKING_LOOKUPS_PER_ORDER_HOUR = 1000
    tracked_order()

    answers = [lookup(client, order=f"#TP{20000 + n}").status_code for n in range(30)]
    refused = lookup(client)  # even the right one, from the same address

    assert answers == [200] * 30
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "try again in 1 minute" in refused.content.decode()
    assert lookup(client, ip="198.51.100.2").status_code == 302  # another customer is not held


def test_one_order_number_tried_from_many_addresses_is_limited(client, settings):
    settings.TRACKING_LOOKUPS_PER_ORDER_HOUR = 5
    tracked_order()

    forms = ["#TP10234", "TP10234", "10234", "tp 10234", "#tp10234"]
    guesses = [
        lookup(
            client, order=typed, email=f"guess{n}@mail.example", ip=f"198.51.100.{n}"
        ).status_code
        for n, typed in enumerate(forms)
    ]
    refused = lookup(client, ip="198.51.100.99")

    assert guesses == [200] * 5
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def test_a_signed_link_opens_the_order_and_an_altered_one_does_not(client):
    order = tracked_order()
    url = order_tracking_url(order)
    token = url.rstrip("/").rsplit("/", 1)[-1]

    assert url.startswith("http")
    assert order_id_of_tracking_token(token) == order.pk
    assert client.get(f"/track/{token}/").status_code == 200
    forged = client.get(f"/track/{token[:-2]}xx/")
    assert forged.status_code == 404
    assert "We couldn't find that order" in html.unescape(forged.content.decode())
    other = signing.b64_encode(b"tiny-pearl\nTP99999").decode()
    assert order_id_of_tracking_token(f"{other}:{token.split(':', 1)[1]}") is None


def test_an_old_link_expires(client, monkeypatch):
    order = tracked_order()
    url = order_tracking_url(order, absolute=False)
    later = time.time() + 181 * 24 * 3600
    monkeypatch.setattr(signing.time, "time", lambda: later)

    assert order_id_of_tracking_token(url.rstrip("/").rsplit("/", 1)[-1]) is None
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("status", "headline", "state"),
    [
        (Shipment.Status.IN_TRANSIT, "On its way", "in_transit"),
        (Shipment.Status.OUT_FOR_DELIVERY, "Out for delivery", "out_for_delivery"),
        (Shipment.Status.DELIVERED, "Delivered", "delivered"),
        (Shipment.Status.EXCEPTION, "Delayed: the carrier reported a problem", "exception"),
        (Shipment.Status.RETURNED_TO_SENDER, "On its way back to us", "returned"),
    ],
)
def test_the_status_in_plain_words(client, status, headline, state):
    order = tracked_order(status=status, days_ago=3)
    page = html.unescape(client.get(order_tracking_url(order, absolute=False)).content.decode())

    assert f'data-state="{state}"' in page
    assert f"<h2>{headline}</h2>" in page
    if status == Shipment.Status.DELIVERED:
        assert "signed for by E STONE" in page


def test_a_parcel_without_a_scan_for_days_reads_as_stuck(client):
    order = tracked_order(days_ago=20, scans=1, eta_days=5)
    page = html.unescape(client.get(order_tracking_url(order, absolute=False)).content.decode())

    assert 'data-state="stuck"' in page
    assert "hasn't scanned this parcel since" in page
    assert "Your order is delayed" in page


def test_the_expected_delivery_is_shown_in_the_customer_zone(client):
    order = tracked_order(days_ago=2, eta_days=3)
    order.customer.timezone = "America/Los_Angeles"
    order.customer.save()
    eta = order.shipments.get().estimated_delivery_at.astimezone(
        zoneinfo.ZoneInfo("America/Los_Angeles")
    )

    page = html.unescape(client.get(order_tracking_url(order, absolute=False)).content.decode())

    assert f"{eta:%A}, {eta:%B} {eta.day}" in page
    assert "America/Los_Angeles" in page


def test_the_order_page_reads_a_fixed_number_of_queries(client, django_assert_num_queries):
    order = tracked_order(scans=2)
    url = order_tracking_url(order, absolute=False)
    client.get(url)  # the session exists
    # The session, the order the link names, the order with its store and customer, items,
    # parcels, scans, stuck thresholds, earlier reports.
    with django_assert_num_queries(8):
        client.get(url)
    bigger = tracked_order(
        number="#TP10300", number_key="TP10300", scans=12, email="liam@mail.example"
    )
    first = bigger.shipments.get()
    for n in range(3):
        ShipmentFactory(order=bigger, shipped_at=first.shipped_at, tracking_number=f"LX9{n}US")
    bigger_url = order_tracking_url(bigger, absolute=False)
    client.get(bigger_url)
    with django_assert_num_queries(8):  # four parcels, twelve scans: the same
        client.get(bigger_url)


def test_the_lookup_reads_two_indexed_queries(client, django_assert_num_queries):
    tracked_order()
    # The session, the store, the order by its unique number; then the session is saved
    # (a savepoint around an insert).
    with django_assert_num_queries(6):
        lookup(client)


def test_replies_and_notices_carry_the_order_signed_link():
    order = tracked_order()
    ticket = do_open_ticket(
        channel=Channel.EMAIL, requester_email="emma.stone@mail.example", orders=[order]
    )

    link = ticket_values(ticket)["tracking_page"]

    assert link.startswith("http")
    assert order_id_of_tracking_token(link.rstrip("/").rsplit("/", 1)[-1]) == order.pk
