"""Each signal on crafted orders: the value, and None (never a guess) when it cannot be known."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from storedesk.risk.fraud_signals import (
    SIGNALS,
    LineFacts,
    OrderFacts,
    PaymentFacts,
    compute_signals,
    local_part_randomness,
    signal_types,
)
from storedesk.risk.reference import GeoIp, distance_km, zip_place

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
NEW_YORK = {
    "name": "Jane Doe",
    "address1": "350 5th Ave",
    "city": "New York",
    "province_code": "NY",
    "zip": "10118",
    "country_code": "US",
    "phone": "+12125550123",
}
LOS_ANGELES = {
    "name": "Jane Doe",
    "address1": "1 World Way",
    "city": "Los Angeles",
    "province_code": "CA",
    "zip": "90045",
    "country_code": "US",
}


def facts(**overrides) -> OrderFacts:
    values = {
        "amount_usd": Decimal("120.00"),
        "created_at": NOW,
        "email": "jane.doe@gmail.com",
        "billing_address": NEW_YORK,
        "shipping_address": NEW_YORK,
        "customer_first_name": "Jane",
        "customer_last_name": "Doe",
        "browser_ip": "203.0.113.7",
    }
    return OrderFacts(**(values | overrides))


def signals(**overrides) -> dict:
    return compute_signals(facts(**overrides), reader=GeoIp())


def test_every_signal_is_declared_with_a_type_and_a_meaning():
    values = signals()

    assert set(values) == set(SIGNALS)
    assert all(spec.description for spec in SIGNALS.values())
    assert signal_types()["amount_usd"] == "number"


def test_billing_far_from_shipping_is_measured_between_zip_centroids():
    values = signals(shipping_address=LOS_ANGELES)

    assert values["billing_shipping_state_differs"] is True
    assert values["billing_shipping_country_differs"] is False
    assert 3900 < values["distance_billing_shipping_km"] < 4000


def test_same_address_is_zero_km_and_not_different():
    values = signals()

    assert values["distance_billing_shipping_km"] == 0
    assert values["billing_shipping_state_differs"] is False
    assert values["billing_shipping_name_differs"] is False


def test_missing_or_foreign_addresses_are_unknown_not_safe():
    values = signals(billing_address={}, shipping_address={"country_code": "CA", "zip": "M5V"})

    assert values["distance_billing_shipping_km"] is None
    assert values["billing_shipping_country_differs"] is None
    assert values["billing_country"] is None
    assert values["shipping_country"] == "CA"


def test_a_different_recipient_name_is_flagged():
    assert (
        signals(shipping_address=NEW_YORK | {"name": "Mike Smith"})["billing_shipping_name_differs"]
        is True
    )


def test_without_a_geoip_file_ip_signals_are_unavailable():
    values = signals()

    assert values["ip_country"] is None
    assert values["ip_is_anonymous"] is None
    assert values["distance_ip_shipping_km"] is None
    assert values["card_country_differs_from_ip"] is None


def test_a_provided_network_list_marks_hosting_ips(tmp_path):
    networks = tmp_path / "anonymous.txt"
    networks.write_text("# hosting ranges\n203.0.113.0/24\n2001:db8::/32\n")
    reader = GeoIp(networks_path=str(networks))

    assert compute_signals(facts(), reader)["ip_is_anonymous"] is True
    assert compute_signals(facts(browser_ip="198.51.100.1"), reader)["ip_is_anonymous"] is False
    assert compute_signals(facts(browser_ip=None), reader)["ip_is_anonymous"] is None


@pytest.mark.parametrize(
    ("email", "disposable", "random"),
    [
        ("jane.doe@gmail.com", False, False),
        ("xk7qz9wp2@mailinator.com", True, True),
        ("bcdfghk8841@guerrillamail.com", True, True),
    ],
)
def test_email_signals(email, disposable, random):
    values = signals(email=email)

    assert values["is_disposable_email"] is disposable
    assert (values["email_randomness"] >= Decimal("0.6")) is random
    assert values["email_name_mismatch"] is (email != "jane.doe@gmail.com")


def test_phone_is_checked_against_the_billing_country():
    assert signals()["phone_valid"] is True
    assert signals()["phone_country_matches_billing"] is True
    vietnamese = signals(phone="+84 912 345 678")
    assert vietnamese["phone_valid"] is True
    assert vietnamese["phone_country_matches_billing"] is False
    assert signals(phone="12", billing_address=NEW_YORK | {"phone": ""})["phone_valid"] is False


def test_first_order_with_expedited_shipping_and_history():
    first = signals(is_expedited=True)
    returning = signals(
        is_expedited=True,
        prior_orders=3,
        prior_spent_usd=Decimal("410.50"),
        email_first_seen_at=NOW - timedelta(days=30),
    )

    assert first["expedited_first_order"] is True
    assert first["is_first_order"] is True
    assert first["hours_since_email_first_seen"] == 0
    assert returning["expedited_first_order"] is False
    assert returning["customer_total_spent_usd"] == Decimal("410.50")
    assert returning["hours_since_email_first_seen"] == 720


def test_payment_results_and_gateway_risk():
    payment = PaymentFacts(
        gateway="stripe",
        card_country="GB",
        cvc_check="fail",
        avs_postal_check="pass",
        three_d_secure_result="authenticated",
        risk_level="elevated",
        risk_score=71,
    )

    values = signals(payment=payment)

    assert values["cvc_check"] == "fail"
    assert values["gateway_risk_score"] == 71
    assert values["gateway_risk_level"] == "elevated"
    assert values["is_3d_secure_authenticated"] is True
    assert values["card_country_differs_from_billing"] is True
    assert signals()["cvc_check"] is None


def test_high_risk_items_count_solid_gold_and_expensive_units():
    lines = [
        LineFacts(2, Decimal("649.00"), "solid_gold"),
        LineFacts(1, Decimal("39.00"), "silver"),
        LineFacts(1, Decimal("520.00"), "gold_plated"),
    ]

    values = signals(lines=lines)

    assert values["high_risk_items_quantity"] == 3
    assert values["items_quantity"] == 4


def test_velocity_values_come_from_the_facts():
    values = signals(velocity={"orders_per_ip_1h": 4})

    assert values["orders_per_ip_1h"] == 4
    assert values["orders_per_card_24h"] is None


def test_reference_helpers():
    assert zip_place("US", "10118-0110") is not None
    assert zip_place("CA", "10118") is None
    assert distance_km(None, zip_place("US", "10118")) is None
    assert local_part_randomness("mary.smith") < 0.5


# --- Bad input: unicode names, missing and foreign data -----------------------------------------


@pytest.mark.parametrize(
    ("email", "first", "last"),
    [
        ("nguyen.vanan@gmail.com", "Văn An", "Nguyễn"),
        ("dang.thu@gmail.com", "Thu", "Đặng"),
        ("zoe.muller@gmail.com", "Zoë", "Müller"),
        ("bjorn.ostergaard@gmail.com", "Bjørn", "Østergaard"),
    ],
)
def test_a_name_with_accents_matches_its_email_written_without(email, first, last):
    values = signals(email=email, customer_first_name=first, customer_last_name=last)

    assert values["email_name_mismatch"] is False


def test_a_name_in_another_script_cannot_be_compared_with_the_email():
    values = signals(
        email="ivan.petrov@gmail.com", customer_first_name="Иван", customer_last_name="Петров"
    )

    assert values["email_name_mismatch"] is None


def test_an_email_in_another_script_is_not_judged_name_like():
    values = signals(email="王小明@example.cn", customer_first_name="小明", customer_last_name="王")

    assert values["email_randomness"] is None
    assert values["email_name_mismatch"] is None
    assert signals(email="zoë.müller@gmail.com")["email_randomness"] < Decimal("0.6")


@pytest.mark.parametrize(
    ("billing", "shipping", "differs"),
    [
        ("José García", "JOSE  GARCIA", False),
        ("Straße Weiß", "STRASSE WEISS", False),
        ("Nguyễn Văn An", "Nguyen Van An", False),
        ("Nguyễn Văn An", "Trần Thị Bình", True),
        ("王小明", "王小明", False),
        ("王小明", "李华", True),
    ],
)
def test_names_are_compared_without_case_or_accents(billing, shipping, differs):
    values = signals(
        billing_address=NEW_YORK | {"name": billing}, shipping_address=NEW_YORK | {"name": shipping}
    )

    assert values["billing_shipping_name_differs"] is differs


def test_an_order_without_email_has_no_email_age():
    values = signals(email="")

    assert values["email"] is None
    assert values["hours_since_email_first_seen"] is None
    assert values["is_disposable_email"] is None
    assert values["email_randomness"] is None


def test_an_order_without_ip_or_addresses_is_unknown_everywhere_it_matters(tmp_path):
    networks = tmp_path / "anonymous.txt"
    networks.write_text("203.0.113.0/24\n")
    values = compute_signals(
        facts(browser_ip=None, billing_address={}, shipping_address={}),
        GeoIp(networks_path=str(networks)),
    )

    for name in [
        "ip_address",
        "ip_country",
        "ip_is_anonymous",
        "ip_country_differs_from_billing",
        "distance_ip_shipping_km",
        "distance_ip_billing_km",
        "billing_country",
        "shipping_country",
        "shipping_state",
        "billing_shipping_country_differs",
        "billing_shipping_state_differs",
        "billing_shipping_name_differs",
        "distance_billing_shipping_km",
        "phone_country_matches_billing",
    ]:
        assert values[name] is None, name


def test_an_address_abroad_is_compared_by_country_and_state_but_not_by_zip():
    hanoi = {"name": "Nguyễn Văn An", "city": "Hà Nội", "province_code": "HN", "zip": "100000"}
    values = signals(
        billing_address=hanoi | {"country_code": "VN"},
        shipping_address=hanoi | {"country_code": "vn", "name": "NGUYEN VAN AN"},
        phone="+84 912 345 678",
    )

    assert values["billing_country"] == "VN"
    assert values["shipping_country"] == "VN"
    assert values["billing_shipping_country_differs"] is False
    assert values["billing_shipping_state_differs"] is False
    assert values["billing_shipping_name_differs"] is False
    assert values["distance_billing_shipping_km"] is None  # ZIP centroids are US only
    assert values["phone_country_matches_billing"] is True
