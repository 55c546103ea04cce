"""Money is a Decimal amount with an ISO 4217 currency; never a float."""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

# ISO 4217 minor-unit exponents that differ from 2 (Stripe's zero-decimal list and
# the three-decimal currencies).
_EXPONENTS = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "JPY",
            "KMF",
            "KRW",
            "MGA",
            "PYG",
            "RWF",
            "UGX",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "JOD", "KWD", "OMR", "TND"], 3),
}


def currency_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def from_minor_units(amount: int, currency: str) -> Decimal:
    """Convert a gateway's integer minor units (Stripe's `amount`) exactly."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("minor-unit amounts are integers")
    return Decimal(amount).scaleb(-currency_exponent(currency))


def to_minor_units(amount: Decimal, currency: str) -> int:
    exponent = currency_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more precision than {currency} allows")
    return int(scaled)


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self):
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money needs a Decimal amount")
        if len(self.currency) != 3:
            raise ValueError("currency is a 3-letter ISO 4217 code")

    def __str__(self) -> str:
        return f"{self.amount:,.{currency_exponent(self.currency)}f} {self.currency}"
