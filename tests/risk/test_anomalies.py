"""Anomalies of a store day against its own last four weeks: what is caught and what is not."""

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from storedesk.risk import anomalies
from storedesk.risk.anomalies import (
    Dimension,
    anomaly_order_ids,
    email_domain,
    find_anomalies,
    ip_range,
    poisson_log10_tail,
)
from storedesk.risk.models import OrderRisk
from tests.factories import StoreFactory
from tests.risk.digest_data import DAY, Shop, at, quiet_day, quiet_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory(timezone="America/New_York")


@pytest.fixture
def shop(store):
    shop = Shop(store)
    quiet_history(shop)
    return shop


def _found(store, day=DAY):
    return {(a.dimension, a.key): a for a in find_anomalies(store, day).anomalies}


def test_poisson_tail_matches_closed_forms():
    assert poisson_log10_tail(0, 3.0) == 0.0
    assert 10 ** poisson_log10_tail(1, 0.5) == pytest.approx(1 - math.exp(-0.5))
    assert 10 ** poisson_log10_tail(2, 1.0) == pytest.approx(1 - 2 / math.e)
    assert poisson_log10_tail(3, 0.0) == -math.inf
    # far tails stay finite where the probability itself underflows a float
    tail = poisson_log10_tail(400, 0.1)
    head = -0.1 + 400 * math.log(0.1) - math.lgamma(401)
    first_term = head / math.log(10)
    assert first_term < tail < first_term + math.log10(1.001)  # later terms add 0.025%
    assert tail < -1000


def test_poisson_tail_agrees_with_scipy():
    special = pytest.importorskip("scipy.special")
    for observed, expected in [(5, 0.1), (12, 2.79), (30, 25.0), (8, 0.036), (60, 12.5)]:
        assert 10 ** poisson_log10_tail(observed, expected) == pytest.approx(
            special.pdtrc(observed - 1, expected), rel=1e-6
        )


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("45.77.51.50", "45.77.51.0/24"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("2001:db8::1", "2001:db8::/48"),
        ("::ffff:198.51.100.7", "198.51.100.0/24"),
        ("", None),
        (None, None),
        ("not-an-ip:::", None),
    ],
)
def test_ip_ranges(ip, expected):
    assert ip_range(ip) == expected


def test_column_keys_equal_the_single_value_functions():
    import polars as pl

    ips = ["45.77.51.50", "2001:db8::1", "::ffff:198.51.100.7", "", None, "bad", "10.0.0.1"]
    emails = ["Jane@GMAIL.com", "x@y@Example.org", "nobody", "", None, "a@ sub.example.com "]
    frame = pl.DataFrame({"ip": ips}, schema={"ip": pl.String})
    ranges = frame.select(anomalies.ip_ranges(pl.col("ip"), frame, "ip")).to_series().to_list()
    domains = pl.DataFrame({"email": emails}, schema={"email": pl.String}).select(
        anomalies.email_domains(pl.col("email"))
    )
    assert ranges == [ip_range(ip) for ip in ips]
    assert domains.to_series().to_list() == [email_domain(email) for email in emails]


def test_email_domains():
    assert email_domain("Jane.Doe@GMAIL.com") == "gmail.com"
    assert email_domain("no-at-sign") is None
    assert email_domain("") is None


def test_a_quiet_day_raises_nothing(store, shop):
    quiet_day(shop, DAY)
    shop.save()

    report = find_anomalies(store, DAY)

    assert report.anomalies == []
    assert report.history_days == 28
    assert report.skipped == ""


def test_a_busy_sale_day_is_not_an_anomaly_in_itself(store, shop):
    quiet_day(shop, DAY)
    quiet_day(shop, DAY, tag="sale")
    shop.save()

    assert find_anomalies(store, DAY).anomalies == []


def test_a_card_testing_burst_from_one_ip_is_caught_with_its_window(store, shop):
    quiet_day(shop, DAY)
    shop.order(
        at(DAY, 14, 10),
        ip="45.77.51.50",
        email="x81kq0@yopmail.com",
        total=Decimal("19.00"),
        declines=12,
        decline_every=timedelta(seconds=45),
    )
    orders = shop.save()

    found = _found(store)

    burst = found[(Dimension.DECLINE_BURST_IP, "45.77.51.50")]
    assert burst.observed == 12
    assert burst.expected == pytest.approx(0.1)  # the floor: this IP has no history
    assert burst.window_start == at(DAY, 14, 0, 15)
    assert burst.window_end == at(DAY, 14, 8, 30)
    assert burst.order_ids == (orders[-1].pk,)
    assert burst.amount_usd == Decimal("19.00")
    assert burst.tests == 24  # one IP declined today, tested in 24 hourly windows
    assert burst.log10_p_adjusted < -10
    store_wide = found[(Dimension.DECLINES, "all")]
    assert store_wide.observed == 12
    assert store_wide.baseline == pytest.approx(14 / 28)  # a declined card every other day
    assert list(found)[0] == (Dimension.DECLINE_BURST_IP, "45.77.51.50")  # most significant


def test_the_same_declines_spread_over_the_day_are_no_burst(store, shop):
    quiet_day(shop, DAY)
    for hour in range(8, 20):
        shop.order(at(DAY, hour, 30), ip="45.77.51.50", declines=1, email=f"b{hour}@gmail.com")
    shop.save()

    found = _found(store)

    assert (Dimension.DECLINE_BURST_IP, "45.77.51.50") not in found
    assert (Dimension.DECLINES, "all") in found  # the store as a whole declined far more


def test_many_declines_on_one_card_fingerprint(store, shop):
    quiet_day(shop, DAY)
    shop.save()
    from storedesk.commerce.models import Order, Payment

    order = Order.objects.filter(store=store, created_at__gte=at(DAY, 0)).first()
    Payment.objects.bulk_create(
        Payment(
            order=order,
            gateway="stripe",
            provider_id=f"ch_cvc_{n}",
            amount=Decimal("80.00"),
            currency="USD",
            status=Payment.Status.FAILED,
            created_at=at(DAY, 16, n),
            card_brand="visa",
            card_country="US",
            card_fingerprint="fpSTOLEN",
        )
        for n in range(6)
    )

    burst = _found(store)[(Dimension.DECLINE_BURST_CARD, "fpSTOLEN")]

    assert burst.observed == 6
    assert burst.display_key == "…STOLEN"


def test_a_rise_of_one_billing_country(store, shop):
    quiet_day(shop, DAY)
    for n in range(8):
        shop.order(at(DAY, 10, n), ip=f"105.112.{n}.9", country="NG", email=f"n{n}@gmail.com")
    shop.save()

    found = _found(store)

    nigeria = found[(Dimension.BILLING_COUNTRY, "NG")]
    assert nigeria.observed == 8
    assert nigeria.baseline == 0
    # never seen: one order per 28 days, scaled by today's 20 orders against 12 a day
    assert nigeria.expected == pytest.approx((1 / 28) * (20 / 12))
    assert nigeria.amount_usd == Decimal("640.00")
    assert (Dimension.BILLING_COUNTRY, "CA") not in found
    assert (Dimension.BILLING_COUNTRY, "US") not in found


def test_ip_countries_are_used_when_geoip_is_configured(store, shop, monkeypatch):
    quiet_day(shop, DAY)
    for n in range(6):
        shop.order(at(DAY, 11, n), ip=f"95.24.{n}.1", email=f"r{n}@gmail.com")
    orders = shop.save()
    OrderRisk.objects.bulk_create(
        OrderRisk(order=order, signals={"ip_country": "RU"}, scored_at=order.created_at)
        for order in orders[-6:]
    )

    class Available:
        available = True

    monkeypatch.setattr(anomalies, "geoip", lambda: Available())

    report = find_anomalies(store, DAY)

    assert report.country_dimension == Dimension.IP_COUNTRY
    russia = {(a.dimension, a.key): a for a in report.anomalies}[(Dimension.IP_COUNTRY, "RU")]
    assert russia.observed == 6
    assert anomaly_order_ids(store, DAY, Dimension.IP_COUNTRY, "RU") == [o.pk for o in orders[-6:]]


def test_a_rise_of_one_email_domain_ip_range_and_card(store, shop):
    quiet_day(shop, DAY)
    for n in range(7):
        shop.order(
            at(DAY, 12 + n % 6, 5 * n),
            ip=f"203.0.113.{n + 1}",
            email=f"user{n}@mailinator.com",
            card=("discover", "BR"),
        )
    orders = shop.save()

    found = _found(store)

    assert found[(Dimension.EMAIL_DOMAIN, "mailinator.com")].observed == 7
    assert found[(Dimension.IP_RANGE, "203.0.113.0/24")].observed == 7
    card = found[(Dimension.CARD, "discover:BR")]
    assert card.observed == 7
    assert card.display_key == "discover · BR"
    assert (Dimension.EMAIL_DOMAIN, "gmail.com") not in found
    ids = anomaly_order_ids(store, DAY, Dimension.IP_RANGE, "203.0.113.0/24")
    assert ids == sorted(order.pk for order in orders[-7:])
    assert anomaly_order_ids(store, DAY, Dimension.CARD, "discover:BR") == ids


def test_a_burst_of_orders_from_one_ip_and_one_card(store, shop):
    quiet_day(shop, DAY)
    for n in range(6):
        shop.order(
            at(DAY, 15, 5 * n),
            ip="198.51.100.77",
            email=f"gift{n}@gmail.com",
            fingerprint="fpREUSED",
            total=Decimal("25.00"),
        )
    shop.save()

    found = _found(store)

    assert found[(Dimension.ORDER_BURST_IP, "198.51.100.77")].observed == 6
    assert found[(Dimension.ORDER_BURST_CARD, "fpREUSED")].observed == 6
    assert found[(Dimension.ORDER_BURST_CARD, "fpREUSED")].amount_usd == Decimal("150.00")


def test_a_key_that_is_always_busy_is_not_an_anomaly(store):
    shop = Shop(store)
    for offset in range(28, -1, -1):
        day = DAY - timedelta(days=offset)
        quiet_day(shop, day)
        for n in range(6):  # a corporate proxy that always brings six orders a day
            shop.order(at(day, 13, n), ip=f"192.0.2.{n + 1}", email=f"c{n}@corp.example")
    shop.save()

    assert find_anomalies(store, DAY).anomalies == []


def test_too_little_history_is_said_not_guessed(store):
    shop = Shop(store)
    quiet_history(shop, days=3)
    shop.order(at(DAY, 14), ip="45.77.51.50", declines=20)
    shop.save()

    report = find_anomalies(store, DAY)

    assert report.anomalies == []
    assert report.history_days == 3
    assert "at least 7 days" in report.skipped


def test_a_store_without_orders(store):
    report = find_anomalies(store, date(2026, 1, 1))
    assert report.history_days == 0
    assert report.anomalies == []


def test_anomalies_cost_a_fixed_number_of_queries(store, shop, django_assert_num_queries):
    quiet_day(shop, DAY)
    shop.order(at(DAY, 14, 10), ip="45.77.51.50", declines=9)
    shop.save()

    # first order, the window's orders, its payments, the anomalies' order totals
    with django_assert_num_queries(4):
        report = find_anomalies(store, DAY)
    assert len(report.anomalies) == 2


def test_the_demo_card_testing_days_are_caught_and_quiet_days_are_not():
    """A small demo store (1,000 orders over four months): every day with a card-testing attack
    shows its IP as a burst, and no day shows anything else (ground truth is read here, never
    by the product)."""
    from zoneinfo import ZoneInfo

    from storedesk.demo.loader import demo_store, load_demo
    from storedesk.demo.models import GroundTruth

    load_demo(orders=1000, months=4, end=date(2026, 6, 30))
    store = demo_store()
    zone = ZoneInfo(store.timezone)
    attacks: dict[date, set[str]] = {}
    for created_at, ip in GroundTruth.objects.filter(
        order__store=store, fraud_pattern="card_testing"
    ).values_list("order__created_at", "order__browser_ip"):
        attacks.setdefault(created_at.astimezone(zone).date(), set()).add(ip)
    days = [date(2026, 6, 30) - timedelta(days=n) for n in range(120)]
    caught, other = 0, []
    for day in days:
        found = find_anomalies(store, day).anomalies
        bursts = {a.key for a in found if a.dimension == Dimension.DECLINE_BURST_IP}
        if day in attacks:
            assert attacks[day] <= bursts, day
            caught += 1
        other += [
            (day, a.dimension, a.key)
            for a in found
            if a.dimension not in (Dimension.DECLINE_BURST_IP, Dimension.DECLINES)
            or (a.dimension == Dimension.DECLINE_BURST_IP and a.key not in attacks.get(day, ()))
        ]
    assert caught == len(attacks) == 3
    assert other == []
