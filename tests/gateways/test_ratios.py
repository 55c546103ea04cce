"""The ratio arithmetic against hand-computed months."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from storedesk.gateways.models import MonitoringThreshold
from storedesk.gateways.ratios import (
    Level,
    MonthError,
    month_ratios,
    parse_month,
    thresholds_in_force,
)
from tests.factories import OrderFactory, StoreFactory
from tests.gateways.builders import dispute, payments, warning

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)
AFTER_MARCH = datetime(2026, 4, 10, tzinfo=UTC)


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def store():
    return StoreFactory(timezone="UTC")


@pytest.fixture
def order(store):
    return OrderFactory(store=store, created_at=at(1, 2))


def _row(result, gateway, network):
    return next(r for r in result.rows if (r.gateway, r.network) == (gateway, network))


def _program(row, name):
    return next(p for p in row.programs if p.program == name)


def test_shipped_thresholds_are_versioned_with_source_and_date():
    vamp = [t for t in thresholds_in_force(MARCH) if t.program == "vamp"]
    assert [(t.effective_from, t.threshold) for t in vamp] == [
        (date(2026, 1, 1), Decimal("0.01500"))
    ]
    assert "Checkout.com" in vamp[0].source
    older = {t.program: t for t in thresholds_in_force(date(2025, 6, 1))}
    assert older["vamp"].threshold == Decimal("0.02200")
    assert set(older) == {"vamp", "ecm", "hecm", "efm"}
    assert MonitoringThreshold.objects.count() == 5


def test_a_closed_month_by_hand(store, order, django_assert_num_queries):
    payments(order, 50, at(10, 2), brand="visa")
    payments(order, 200, at(10, 2), brand="mastercard")
    visa = payments(order, 100, at(5), brand="visa")
    mastercard = payments(order, 100, at(5), brand="mastercard")
    payments(order, 1, at(5), brand="visa", status="failed")  # never settled: not counted
    payments(order, 1, at(5), brand="", method="paypal", gateway="paypal")  # not a card
    # Visa: 2 disputes (one fraud, which also drew a warning), 2 warnings in all.
    dispute(visa[0], at(20), reason="fraudulent")
    dispute(visa[1], at(21))
    warning(visa[0], at(15))
    warning(visa[2], at(16))
    # Mastercard: 3 chargebacks, 2 of them fraud by network code; an inquiry does not count.
    dispute(mastercard[0], at(20), reason="general", network_reason_code="4837")
    dispute(mastercard[1], at(20), reason="fraudulent")
    dispute(mastercard[2], at(20))
    dispute(mastercard[3], at(20), kind="inquiry")
    dispute(mastercard[4], at(2, 4))  # next month

    with django_assert_num_queries(4):
        result = month_ratios(store, MARCH, now=AFTER_MARCH)

    assert result.elapsed == 1
    visa_row = _row(result, "stripe", "visa")
    assert (visa_row.transactions, visa_row.previous_month_transactions) == (100, 50)
    assert (visa_row.disputes, visa_row.fraud_disputes, visa_row.early_fraud_warnings) == (2, 1, 2)
    assert visa_row.dispute_ratio == Decimal("0.02")  # 2 / 100
    assert visa_row.fraud_ratio == Decimal("0.02")  # (1 + 2 - 1 counted twice) / 100
    vamp = _program(visa_row, "vamp")
    assert vamp.count == 3  # 2 warnings + 2 disputes, the warned dispute once
    assert vamp.ratio == Decimal("0.03")
    assert vamp.level == Level.EARLY_WARNING  # over 1.5 %, but far from 1,000 cases

    mc_row = _row(result, "stripe", "mastercard")
    assert (mc_row.transactions, mc_row.previous_month_transactions) == (100, 200)
    assert (mc_row.disputes, mc_row.fraud_disputes) == (3, 2)
    ecm = _program(mc_row, "ecm")
    assert (ecm.count, ecm.transactions, ecm.ratio) == (3, 200, Decimal("0.015"))  # 3 / Feb's 200
    assert ecm.level == Level.EARLY_WARNING  # 1.5 % reached, but under 100 chargebacks
    assert _program(mc_row, "hecm").level == Level.NONE
    efm = _program(mc_row, "efm")
    assert (efm.ratio, efm.level) == (Decimal("0.02"), Level.EXCESSIVE)  # 2 / 100, no minimum
    assert {program.program for _, program in result.warnings} == {"vamp", "ecm", "efm"}
    # The failed card payment and the PayPal payment are no card transactions.
    assert {(r.gateway, r.network) for r in result.rows} == {
        ("stripe", "visa"),
        ("stripe", "mastercard"),
    }


def test_the_projection_from_the_month_so_far(store, order):
    payments(order, 1000, at(10, 2), brand="mastercard")
    march = payments(order, 4, at(3), brand="mastercard")
    for payment in march:
        dispute(payment, at(5))
    now = datetime(2026, 3, 11, tzinfo=UTC)  # 10 of 31 days gone by

    result = month_ratios(store, MARCH, now=now)

    assert result.elapsed == Decimal("0.322581")
    ecm = _program(_row(result, "stripe", "mastercard"), "ecm")
    assert ecm.ratio == Decimal("0.004")  # 4 / 1000 so far: under the early warning
    assert ecm.projected_count == Decimal("12.4")  # 4 / 0.322581
    assert ecm.projected_ratio == Decimal("0.0124")  # 12.4 / February's 1000
    assert ecm.level == Level.EARLY_WARNING


def test_a_month_with_no_sales_divides_by_nothing(store, order):
    old = payments(order, 1, at(10, 1), brand="visa")[0]
    dispute(old, at(5), reason="fraudulent")

    result = month_ratios(store, MARCH, now=AFTER_MARCH)

    row = _row(result, "stripe", "visa")
    assert (row.transactions, row.disputes) == (0, 1)
    assert row.dispute_ratio is None
    assert row.fraud_ratio is None
    assert all(p.ratio is None and p.projected_ratio is None for p in row.programs)
    assert result.warnings == []
    assert month_ratios(store, date(2026, 5, 1), now=AFTER_MARCH).rows == []


def test_another_stores_payments_do_not_count(store, order):
    other = StoreFactory(slug="other-store", name="Other", domain="other.example")
    payments(OrderFactory(store=other), 10, at(5), brand="visa")
    assert month_ratios(store, MARCH, now=AFTER_MARCH).rows == []


@pytest.mark.parametrize("text", ["2026-13", "26-03", "march", "2026-3", "9999-01", ""])
def test_a_month_must_be_written_yyyy_mm(text):
    with pytest.raises(MonthError):
        parse_month(text)
