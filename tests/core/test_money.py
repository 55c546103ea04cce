from decimal import Decimal

import pytest

from storedesk.core.money import Money, from_minor_units, quantize, to_minor_units


@pytest.mark.parametrize(
    ("minor", "currency", "expected"),
    [
        (2000, "usd", Decimal("20.00")),
        (1, "USD", Decimal("0.01")),
        (150000, "JPY", Decimal(150000)),
        (1234, "KWD", Decimal("1.234")),
        (0, "EUR", Decimal("0.00")),
    ],
)
def test_minor_units_convert_exactly_both_ways(minor, currency, expected):
    assert from_minor_units(minor, currency) == expected
    assert to_minor_units(expected, currency) == minor


def test_minor_units_refuse_floats_and_extra_precision():
    with pytest.raises(TypeError):
        from_minor_units(20.0, "USD")
    with pytest.raises(ValueError, match="more precision"):
        to_minor_units(Decimal("1.005"), "USD")


def test_money_needs_decimal_and_iso_currency():
    with pytest.raises(TypeError):
        Money(19.99, "USD")
    with pytest.raises(ValueError, match="3-letter"):
        Money(Decimal("1"), "US")
    assert str(Money(Decimal("1234.5"), "USD")) == "1,234.50 USD"
    assert quantize(Decimal("2.345"), "USD") == Decimal("2.34")
