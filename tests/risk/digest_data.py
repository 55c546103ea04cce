"""Crafted store days for the digest and anomaly tests: four quiet weeks, then the day under
test. Rows go in with bulk_create, so a month of history costs a few queries."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from storedesk.commerce.models import Order, Payment, Store

NY = ZoneInfo("America/New_York")
DAY = date(2026, 3, 20)  # the day under test, a Friday in New York
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com")


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment on the store's clock (New York)."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=NY)


class Shop:
    """Collects orders and payments and writes them in bulk."""

    def __init__(self, store: Store, first_number: int = 50_000):
        self.store = store
        self.orders: list[Order] = []
        self.payments: list[tuple[int, Payment]] = []
        self._numbers = itertools.count(first_number)

    def order(
        self,
        created_at: datetime,
        *,
        ip: str | None = "73.10.20.30",
        email: str = "buyer@gmail.com",
        country: str = "US",
        total: Decimal = Decimal("80.00"),
        currency: str = "USD",
        card: tuple[str, str] = ("visa", "US"),
        fingerprint: str | None = None,
        declines: int = 0,
        decline_every: timedelta = timedelta(seconds=40),
        paid: bool = True,
        gateway: str = Payment.Gateway.STRIPE,
    ) -> int:
        """Queue one order (with its declined attempts before a payment); returns its index."""
        number = next(self._numbers)
        self.orders.append(
            Order(
                store=self.store,
                number=f"#TP{number}",
                number_key=f"TP{number}",
                email=email,
                created_at=created_at,
                currency=currency,
                subtotal_price=total,
                total_price=total,
                billing_country=country,
                shipping_country=country,
                browser_ip=ip,
            )
        )
        index = len(self.orders) - 1
        first = created_at - decline_every * (declines + 1)
        for attempt in range(declines):
            self.payments.append(
                (
                    index,
                    self._payment(
                        index,
                        first + decline_every * attempt,
                        Payment.Status.FAILED,
                        total,
                        currency,
                        card,
                        f"fp-declined-{number}-{attempt}",
                        gateway,
                    ),
                )
            )
        if paid:
            self.payments.append(
                (
                    index,
                    self._payment(
                        index,
                        created_at - timedelta(seconds=10),
                        Payment.Status.SUCCEEDED,
                        total,
                        currency,
                        card,
                        fingerprint or f"fp-{number}",
                        gateway,
                    ),
                )
            )
        return index

    def _payment(self, index, when, status, amount, currency, card, fingerprint, gateway):
        number = f"{self.orders[index].number_key}-{len(self.payments)}"
        return Payment(
            gateway=gateway,
            method=Payment.Method.PAYPAL if gateway == Payment.Gateway.PAYPAL else "card",
            provider_id=f"ch_{number}",
            amount=amount,
            currency=currency,
            status=status,
            captured=status == Payment.Status.SUCCEEDED,
            created_at=when,
            card_brand=card[0] if gateway != Payment.Gateway.PAYPAL else "",
            card_country=card[1] if gateway != Payment.Gateway.PAYPAL else "",
            card_fingerprint=fingerprint if gateway != Payment.Gateway.PAYPAL else "",
            failure_code="card_declined" if status == Payment.Status.FAILED else "",
        )

    def save(self) -> list[Order]:
        created = Order.objects.bulk_create(self.orders)
        payments = []
        for index, payment in self.payments:
            payment.order = created[index]
            payments.append(payment)
        Payment.objects.bulk_create(payments)
        self.orders, self.payments = [], []
        return created


def quiet_day(shop: Shop, day: date, *, per_day: int = 12, tag: str = "") -> None:
    """A normal day: orders spread over the afternoon, each from its own IP, card and email,
    three in four domains alike; a Canadian buyer every third day; a declined card every
    other day."""
    ordinal = day.toordinal()
    for i in range(per_day):
        shop.order(
            at(day, 9 + i % 12, (7 * i) % 60),
            ip=f"73.{ordinal % 200}.{i + 1}.{(ordinal + i) % 250 + 1}",
            email=f"buyer{ordinal}{tag}x{i}@{DOMAINS[i % len(DOMAINS)]}",
            country="CA" if i == 0 and ordinal % 3 == 0 else "US",
            card=("mastercard" if i % 2 else "visa", "US"),
            declines=1 if i == 1 and ordinal % 2 == 0 else 0,
        )


def quiet_history(shop: Shop, before: date = DAY, days: int = 28, **kwargs) -> None:
    for offset in range(days, 0, -1):
        quiet_day(shop, before - timedelta(days=offset), **kwargs)
