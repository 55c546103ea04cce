"""The demo's scenario registry: how each part of the simulated world plugs in.

A scenario is a class registered with `@scenario(name, order=…)`. Its hooks run in `order`
(then name) and may each be left out:

- `setup(ctx)`: once, before any order (catalog, policies, long-lived actors);
- `on_order(ctx, plan)`: for every planned order, before it is stored; shapes the plan
  (fraud signals, shipping fate, refunds and disputes to come);
- `after_batch(ctx, plans)`: after a batch of orders is stored through the commerce services;
  writes what depends on them (refunds, disputes, ground truth; tickets later), again through
  services;
- `finish(ctx)`: once at the end.
- `reset(store)`: wipe this scenario's own data before `demo --reset` wipes the store.

Each scenario draws from its own random stream (`ctx.random_for(name)`), so adding a scenario
never changes what the others generate. Scenarios live with the demo, one module per app
(`builtin` for commerce, `desk_scenarios`, `risk_scenarios`), imported by `demo.loader`: the
demo sits on top of the apps it feeds and no app imports it. (`load_demo` still imports a
`demo_scenarios` module from any installed app that has one.)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from storedesk.commerce.ingest import DisputeIn, PaymentIn, RefundIn, ShipmentIn


class Scenario:
    """Base class with no-op hooks; subclasses override what they need."""

    name: str = ""
    order: int = 100

    def setup(self, ctx: DemoContext) -> None:
        """Run once before the first order."""

    def on_order(self, ctx: DemoContext, plan: OrderPlan) -> None:
        """Shape one planned order before it is stored."""

    def after_batch(self, ctx: DemoContext, plans: list[OrderPlan]) -> None:
        """Write data that depends on a stored batch of orders."""

    def finish(self, ctx: DemoContext) -> None:
        """Run once after the last batch."""

    def reset(self, store) -> None:
        """Delete this scenario's own data of `store` (before the store itself is wiped)."""


_REGISTRY: dict[str, Scenario] = {}


def scenario(name: str, *, order: int = 100):
    """Register a Scenario subclass under `name`; a later registration replaces it."""

    def register(cls: type[Scenario]) -> type[Scenario]:
        instance = cls()
        instance.name, instance.order = name, order
        _REGISTRY[name] = instance
        return cls

    return register


def registered() -> list[Scenario]:
    """The scenarios in the order their hooks run."""
    return sorted(_REGISTRY.values(), key=lambda item: (item.order, item.name))


@dataclass(slots=True)
class Shopper:
    """A simulated buyer, reused when they come back."""

    serial: int
    first_name: str
    last_name: str
    email: str
    phone: str
    address: dict
    timezone: str
    card_brand: str
    card_last4: str
    card_fingerprint: str
    card_funding: str
    card_wallet: str
    paypal_payer_id: str
    prefers_paypal: bool
    is_vip: bool = False
    orders: int = 0


@dataclass(slots=True)
class ShippingChoice:
    code: str
    title: str
    price: Decimal
    carrier: str
    service: str
    transit: tuple[int, int]
    expedited: bool


@dataclass(slots=True)
class OrderPlan:
    """Everything the simulation decides about one order; scenarios read and amend it.

    Facts that the store's own data would not show (fraud, lost parcel, the customer's real
    experience) live here and end up only in demo.GroundTruth.
    """

    seq: int
    number: str
    created_at: datetime
    shopper: Shopper
    is_new_customer: bool
    lines: list[tuple[Any, int]]  # (catalog variant, quantity)
    shipping: ShippingChoice
    gateway: str
    billing_address: dict
    shipping_address: dict
    email: str
    browser_ip: str
    user_agent: str
    referring_site: str
    landing_site: str
    subtotal: Decimal = Decimal("0.00")
    discount: Decimal = Decimal("0.00")
    discount_code: str = ""
    # Payment facts
    card_brand: str = ""
    card_last4: str = ""
    card_country: str = "US"
    card_fingerprint: str = ""
    card_funding: str = "credit"
    card_wallet: str = ""
    avs_line1_check: str = "pass"
    avs_postal_check: str = "pass"
    cvc_check: str = "pass"
    three_d_secure_result: str = ""
    three_d_secure_version: str = ""
    risk_score: int = 10
    payer_status: str = "VERIFIED"
    seller_protection: str = "ELIGIBLE"
    paid: bool = True
    failed_attempts: list[PaymentIn] = field(default_factory=list)
    payments: list[PaymentIn] = field(default_factory=list)
    # Lifecycle
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    tags: list[str] = field(default_factory=list)
    shipments: list[ShipmentIn] = field(default_factory=list)
    shipped_at: datetime | None = None
    expected_delivery_at: datetime | None = None
    delivered_at: datetime | None = None
    refunds: list[RefundIn] = field(default_factory=list)
    disputes: list[DisputeIn] = field(default_factory=list)
    # Ground truth (never read by product code)
    is_fraud: bool = False
    fraud_pattern: str = ""
    parcel_lost: bool = False
    delivered_not_received: bool = False
    delayed: bool = False
    friendly_fraud: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.shipping_price

    @property
    def shipping_price(self) -> Decimal:
        if self.shipping.code == "standard" and self.subtotal - self.discount >= Decimal(75):
            return Decimal("0.00")
        return self.shipping.price

    @property
    def number_key(self) -> str:
        return self.number.lstrip("#").upper()

    @property
    def payment(self) -> PaymentIn | None:
        """The successful payment, if any."""
        for payment in self.payments:
            if payment.status == "succeeded":
                return payment
        return None


@dataclass
class DemoContext:
    """What every scenario gets: the seed's random streams, the store, the clock, counters."""

    seed: int
    store: Any
    start: datetime
    now: datetime
    orders_wanted: int
    batch_size: int = 2000
    train_in_worker: bool = False  # queue the risk model's training instead of waiting
    catalog: Any = None
    counters: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)
    order_ids: dict[str, int] = field(default_factory=dict)  # the stored batch's, by number key
    forced: dict[int, dict[str, Any]] = field(default_factory=dict)
    queued: list[tuple[Any, dict]] = field(default_factory=list)
    _streams: dict[str, random.Random] = field(default_factory=dict)

    def reserve(
        self, name: str, facts: list[dict[str, Any]], *, low: float = 0.05, high: float = 0.6
    ) -> list[int]:
        """Force facts onto distinct orders in the [low, high) part of the timeline.

        Guarantees that a small demo still shows every pattern once; the base generator copies
        the facts into `plan.extra` (and honours a forced `gateway`).
        """
        rng = self.random_for(f"reserve:{name}")
        first, last = int(self.orders_wanted * low), max(int(self.orders_wanted * high), 1)
        free = [seq for seq in range(first, last) if seq not in self.forced]
        chosen = rng.sample(free, min(len(facts), len(free)))
        for seq, item in zip(chosen, facts, strict=False):
            self.forced[seq] = dict(item)
        return chosen

    def random_for(self, name: str) -> random.Random:
        """An independent, seeded random stream per scenario (stable across runs)."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = random.Random(f"storedesk-demo:{self.seed}:{name}")
        return stream

    def queue(self, task, **arguments) -> None:
        """Enqueue `task` once the whole store is written (a worker may take it at once)."""
        self.queued.append((task, arguments))

    def count(self, key: str, amount: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + amount
