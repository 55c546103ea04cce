"""GeoIP from a real MaxMind file, and every way the file can be missing or wrong: IP signals are
then unavailable (None) with a reason, never a guess and never a crash."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from storedesk.risk import reference
from storedesk.risk.checks import check_geoip_files
from storedesk.risk.fraud_signals import compute_signals
from storedesk.risk.models import OrderRisk
from storedesk.risk.reference import GeoIp
from storedesk.risk.services import do_install_defaults, do_save_rule, do_score_orders
from tests.factories import BASE_TIME, CustomerFactory, OrderFactory, PaymentFactory, StoreFactory
from tests.risk.mmdb import city_record, write_database
from tests.risk.test_fraud_signals import facts

HANOI_IP, NEW_YORK_IP, UNLISTED_IP = "203.0.113.7", "198.51.100.9", "192.0.2.1"
IP_SIGNALS = [
    "ip_country",
    "ip_is_anonymous",
    "ip_country_differs_from_billing",
    "distance_ip_shipping_km",
    "distance_ip_billing_km",
    "card_country_differs_from_ip",
]


@pytest.fixture
def city(tmp_path):
    return write_database(
        tmp_path / "GeoLite2-City.mmdb",
        "GeoLite2-City",
        {
            "203.0.113.0/24": city_record("VN", "HN", 21.03, 105.85),
            "198.51.100.0/24": city_record("US", "NY", 40.75, -73.99),
        },
    )


@pytest.fixture
def anonymous(tmp_path):
    return write_database(
        tmp_path / "GeoIP2-Anonymous-IP.mmdb",
        "GeoIP2-Anonymous-IP",
        {"203.0.113.0/24": {"is_anonymous": True, "is_hosting_provider": True}},
    )


def ip_signals(reader: GeoIp, ip: str | None) -> dict:
    values = compute_signals(facts(browser_ip=ip), reader)
    return {name: values[name] for name in IP_SIGNALS}


def test_a_city_database_gives_the_ip_country_and_distances(city):
    reader = GeoIp(str(city))

    abroad = compute_signals(facts(browser_ip=HANOI_IP), reader)
    at_home = compute_signals(facts(browser_ip=NEW_YORK_IP), reader)

    assert reader.available
    assert reader.problems == []
    assert abroad["ip_country"] == "VN"
    assert abroad["ip_country_differs_from_billing"] is True
    assert 12_000 < abroad["distance_ip_shipping_km"] < 13_500  # Hanoi to New York
    assert at_home["ip_country"] == "US"
    assert at_home["ip_country_differs_from_billing"] is False
    assert at_home["distance_ip_billing_km"] < 5


@pytest.mark.parametrize("ip", [UNLISTED_IP, "2001:db8::1", "not an ip", None])
def test_an_ip_the_database_does_not_cover_is_unknown_not_domestic(city, ip):
    assert ip_signals(GeoIp(str(city)), ip) == dict.fromkeys(IP_SIGNALS)


def test_a_country_database_gives_the_country_without_a_location(tmp_path):
    path = write_database(
        tmp_path / "GeoLite2-Country.mmdb",
        "GeoLite2-Country",
        {"203.0.113.0/24": {"country": {"iso_code": "VN"}}},
    )

    values = compute_signals(facts(browser_ip=HANOI_IP), GeoIp(str(path)))

    assert values["ip_country"] == "VN"
    assert values["ip_country_differs_from_billing"] is True
    assert values["distance_ip_shipping_km"] is None


def test_an_anonymous_ip_database_marks_hosting_ips(anonymous):
    reader = GeoIp(anonymous_path=str(anonymous))

    assert compute_signals(facts(browser_ip=HANOI_IP), reader)["ip_is_anonymous"] is True
    assert compute_signals(facts(browser_ip=NEW_YORK_IP), reader)["ip_is_anonymous"] is False
    assert compute_signals(facts(browser_ip="2001:db8::1"), reader)["ip_is_anonymous"] is None
    assert compute_signals(facts(browser_ip=None), reader)["ip_is_anonymous"] is None


def _missing(tmp_path):
    return tmp_path / "nowhere" / "GeoLite2-City.mmdb", "names a file that does not exist"


def _corrupt(tmp_path):
    path = tmp_path / "GeoLite2-City.mmdb"
    path.write_bytes(b"<html>404 Not Found</html>")  # a failed download saved as the file
    return path, "is not a readable MaxMind database"


def _wrong_kind(tmp_path):
    path = write_database(tmp_path / "anon.mmdb", "GeoIP2-Anonymous-IP", {"203.0.113.0/24": {}})
    return path, "is a GeoIP2-Anonymous-IP database; expected City or Country"


def _a_directory(tmp_path):
    return tmp_path, "names a file that does not exist"


@pytest.mark.parametrize("broken", [_missing, _corrupt, _wrong_kind, _a_directory])
def test_a_geoip_file_that_cannot_be_used_makes_ip_signals_unavailable_and_says_why(
    tmp_path, broken, caplog
):
    path, message = broken(tmp_path)

    reader = GeoIp(str(path))

    assert not reader.available
    assert reader.problems == [f"GEOIP_PATH {message}"]
    assert str(tmp_path) not in reader.unavailable_reason  # shown in the digest: no paths
    assert message in reader.unavailable_reason
    assert message in caplog.text
    assert ip_signals(reader, HANOI_IP) == dict.fromkeys(IP_SIGNALS)


def test_without_any_file_the_reason_is_that_none_is_configured():
    reader = GeoIp()

    assert reader.problems == []
    assert reader.unavailable_reason == "no GeoIP database is configured (GEOIP_PATH)"


def test_a_network_list_with_a_wrong_line_keeps_the_good_ones_and_names_the_bad(tmp_path):
    networks = tmp_path / "anonymous.txt"
    networks.write_text("203.0.113.0/24\nhosting.example.com\n# comment\n10.0.0.0/33\n")

    reader = GeoIp(networks_path=str(networks))

    assert compute_signals(facts(browser_ip=HANOI_IP), reader)["ip_is_anonymous"] is True
    assert compute_signals(facts(browser_ip=NEW_YORK_IP), reader)["ip_is_anonymous"] is False
    assert reader.problems == [
        "RISK_ANONYMOUS_NETWORKS_PATH: line(s) 2, 4 are not IP networks and were skipped"
    ]


def test_the_system_check_warns_about_an_unusable_geoip_file(settings, tmp_path):
    path, _ = _corrupt(tmp_path)
    settings.GEOIP_PATH = str(path)
    settings.GEOIP_ANONYMOUS_PATH = str(tmp_path / "missing.mmdb")

    warnings = check_geoip_files()

    assert [warning.id for warning in warnings] == ["risk.W001", "risk.W001"]
    assert "GEOIP_PATH is not a readable MaxMind database" in warnings[0].msg
    assert "GEOIP_ANONYMOUS_PATH names a file that does not exist" in warnings[1].msg


def test_the_system_check_is_quiet_when_nothing_is_configured_or_all_is_well(settings, city):
    settings.GEOIP_PATH = ""
    assert check_geoip_files() == []
    settings.GEOIP_PATH = str(city)
    assert check_geoip_files() == []
    call_command("check", "--fail-level", "WARNING")  # registered with Django's checks


# --- Scoring with a broken GeoIP file ----------------------------------------------------------


@pytest.fixture
def configured_geoip(settings):
    """Point the process's GeoIP reader at a file for one test."""

    def configure(path):
        settings.GEOIP_PATH = str(path)
        reference.geoip.cache_clear()

    yield configure
    reference.geoip.cache_clear()


@pytest.mark.django_db
def test_scoring_with_a_corrupt_geoip_file_goes_on_and_a_country_rule_cannot_fire(
    agent, tmp_path, configured_geoip
):
    do_install_defaults(agent)
    do_save_rule("review if :ip_country: != :billing_country:", actor=agent, priority=1)
    configured_geoip(_corrupt(tmp_path)[0])
    order = OrderFactory(store=StoreFactory(), browser_ip=HANOI_IP)
    PaymentFactory(order=order)

    do_score_orders([order.pk])

    risk = OrderRisk.objects.get(order=order)
    assert risk.signals["ip_country"] is None
    first = risk.rule_outcomes[0]
    assert first["source"] == "review if :ip_country: != :billing_country:"
    assert (first["fired"], first["undecided"]) == (False, True)


@pytest.mark.django_db
def test_scoring_with_a_city_database_fires_a_country_rule(agent, city, configured_geoip):
    do_install_defaults(agent)
    do_save_rule("review if :ip_country: != :billing_country:", actor=agent, priority=1)
    configured_geoip(city)
    order = OrderFactory(store=StoreFactory(), browser_ip=HANOI_IP)
    PaymentFactory(order=order)

    do_score_orders([order.pk])

    risk = OrderRisk.objects.get(order=order)
    assert risk.signals["ip_country"] == "VN"
    assert risk.status == OrderRisk.Status.IN_REVIEW
    assert risk.decided_by_rule.source == "review if :ip_country: != :billing_country:"


# --- Orders with missing, foreign and unicode data, end to end ---------------------------------


@pytest.mark.django_db
def test_orders_with_missing_ip_addresses_email_or_foreign_unicode_data_are_scored(agent):
    do_install_defaults(agent)
    store = StoreFactory()
    bare = OrderFactory(
        store=store,
        customer=None,
        email="",
        name_key="",
        last_name_key="",
        browser_ip=None,
        billing_address={},
        shipping_address={},
        billing_country="",
        shipping_country="",
    )
    hanoi = {
        "first_name": "Văn An",
        "last_name": "Nguyễn",
        "address1": "12 Phố Huế",
        "city": "Hà Nội",
        "province_code": "HN",
        "zip": "100000",
        "country_code": "VN",
        "phone": "+84 912 345 678",
    }
    foreign = OrderFactory(
        store=store,
        customer=CustomerFactory(
            store=store, first_name="Văn An", last_name="Nguyễn", email="nguyen.vanan@gmail.com"
        ),
        email="nguyen.vanan@gmail.com",
        billing_address=hanoi,
        shipping_address=hanoi | {"first_name": "VAN AN", "last_name": "NGUYEN"},
        billing_country="VN",
        shipping_country="VN",
        browser_ip="2001:db8::7",
        created_at=BASE_TIME + timedelta(minutes=5),
    )
    PaymentFactory(order=foreign)

    do_score_orders([bare.pk, foreign.pk])

    bare_risk = OrderRisk.objects.get(order=bare)
    for name in ["ip_address", "ip_country", "billing_country", "email", "email_randomness"]:
        assert bare_risk.signals[name] is None, name
    assert bare_risk.signals["distance_billing_shipping_km"] is None
    assert 0 <= bare_risk.score <= 100
    foreign_risk = OrderRisk.objects.get(order=foreign)
    assert foreign_risk.signals["billing_country"] == "VN"
    assert foreign_risk.signals["billing_shipping_name_differs"] is False
    assert foreign_risk.signals["email_name_mismatch"] is False
    assert foreign_risk.signals["phone_country_matches_billing"] is True
    assert foreign_risk.signals["distance_billing_shipping_km"] is None
    assert foreign_risk.amount_usd == Decimal("89.00")


# --- the bundled offline default (geoip2fast) ----------------------------------------------

GOOGLE_DNS, AMAZON_CLOUD, HOME_CABLE = "8.8.8.8", "52.94.236.248", "73.12.1.1"


def test_out_of_the_box_the_bundled_data_is_on():
    from storedesk.settings import base

    assert base.GEOIP_BUNDLED is True


def test_without_a_file_the_bundled_data_gives_countries_and_hosting_networks():
    reader = GeoIp(bundled=True)

    assert reader.available
    assert reader.source == "geoip2fast (bundled)"
    home = ip_signals(reader, HOME_CABLE)
    assert home["ip_country"] == "US"
    assert home["ip_is_anonymous"] is False
    assert home["ip_country_differs_from_billing"] is False
    assert home["distance_ip_shipping_km"] is None  # no coordinates in the bundled data
    assert ip_signals(reader, AMAZON_CLOUD)["ip_is_anonymous"] is True
    assert ip_signals(reader, "10.1.2.3")["ip_is_anonymous"] is None  # private: not judged


def test_a_maxmind_file_wins_over_the_bundled_data(city):
    reader = GeoIp(str(city), bundled=True)

    assert reader.source == "MaxMind GeoLite2"
    assert ip_signals(reader, HANOI_IP)["ip_country"] == "VN"


def test_the_hosting_list_reads_names_and_skips_comments():
    names = reference.hosting_network_names()

    assert "amazon-02" in names
    assert not any(name.startswith("#") for name in names)


@pytest.mark.parametrize(
    ("bundled", "with_file", "shown"),
    [
        (True, False, "IP location: geoip2fast (bundled)"),
        (True, True, "IP location: MaxMind GeoLite2"),
        (False, False, "IP location: none configured (GEOIP_PATH)"),
    ],
)
def test_the_risk_panel_says_which_source_answered(
    client, make_user, settings, city, bundled, with_file, shown
):
    from storedesk.accounts.roles import Role

    settings.GEOIP_BUNDLED = bundled
    settings.GEOIP_PATH = str(city) if with_file else ""
    store = StoreFactory()
    order = OrderFactory(store=store, customer=CustomerFactory(store=store))
    OrderRisk.objects.create(order=order, action="review", status="in_review", scored_at=BASE_TIME)
    client.force_login(make_user(Role.LEAD, username="lead"))
    response = client.get(f"/risk/orders/{order.pk}/")
    assert response.status_code == 200
    assert shown in " ".join(response.text.split())
