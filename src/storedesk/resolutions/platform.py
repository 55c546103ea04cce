"""Reships, coupons, store credit and cancellations at the store's platform, behind one
interface. Shopify (draft order at zero price, `discountCodeBasicCreate`, store credit,
`orderCancel`) and WooCommerce adapters live with their integrations and register here
(`register_platform`) from their AppConfig.ready(); until a store is connected, `ManualPlatform`
records the action in Storedesk and says plainly that it still has to be done in the store's
admin. The demo store uses `DemoPlatform`, where nothing leaves Storedesk.

Every call carries the resolution's idempotency key, so a retried call finds what the first
one made instead of making a second reship or coupon.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Order
from storedesk.resolutions.gateways import GatewayError


@dataclass(frozen=True)
class PlatformResult:
    reference: str  # the draft order, coupon code, credit or cancel id at the platform
    platform: str  # "demo", "manual", "shopify" …
    note: str = ""  # what a person must still do, if anything


class PlatformActions(Protocol):
    name: str

    def reship(self, order: Order, lines: list, idempotency_key: str) -> PlatformResult: ...

    def create_coupon(
        self, order: Order, amount: Decimal, currency: str, idempotency_key: str
    ) -> PlatformResult: ...

    def grant_store_credit(
        self, order: Order, amount: Decimal, currency: str, idempotency_key: str
    ) -> PlatformResult: ...

    def cancel_order(self, order: Order, idempotency_key: str) -> PlatformResult: ...


class PlatformError(GatewayError):
    """The platform refused or could not be reached; `retryable` says whether calling again
    with the same idempotency key may succeed. The resolution records it as it records a
    gateway's failure: shown on the ticket, and retried with the same key when retryable."""


def stable_code(prefix: str, idempotency_key: str) -> str:
    """A stable code per key (a retry gets the same coupon), readable to the customer."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:8].upper()
    return f"{prefix}-{digest}"


class DemoPlatform:
    """The demo store: actions are made up in-process, with stable references."""

    name = "demo"
    note = _("demo: nothing sent to a store")

    def reship(self, order, lines, idempotency_key) -> PlatformResult:
        return PlatformResult(
            stable_code("DEMO-RESHIP", idempotency_key), self.name, str(self.note)
        )

    def create_coupon(self, order, amount, currency, idempotency_key) -> PlatformResult:
        return PlatformResult(stable_code("SORRY", idempotency_key), self.name, str(self.note))

    def grant_store_credit(self, order, amount, currency, idempotency_key) -> PlatformResult:
        return PlatformResult(
            stable_code("DEMO-CREDIT", idempotency_key), self.name, str(self.note)
        )

    def cancel_order(self, order, idempotency_key) -> PlatformResult:
        return PlatformResult(
            stable_code("DEMO-CANCEL", idempotency_key), self.name, str(self.note)
        )


class ManualPlatform:
    """No platform connected: the action is recorded here and a person completes it in the
    store's admin (the note says what). A coupon code is chosen here so the customer's message
    and the store use the same one."""

    name = "manual"

    def reship(self, order, lines, idempotency_key) -> PlatformResult:
        return PlatformResult(
            stable_code("RESHIP", idempotency_key),
            self.name,
            str(_("Create the replacement order at zero price in the store's admin.")),
        )

    def create_coupon(self, order, amount, currency, idempotency_key) -> PlatformResult:
        code = stable_code("SORRY", idempotency_key)
        return PlatformResult(
            code,
            self.name,
            str(
                _("Create the single-use code %(code)s for %(amount)s %(currency)s in the store.")
                % {"code": code, "amount": amount, "currency": currency}
            ),
        )

    def grant_store_credit(self, order, amount, currency, idempotency_key) -> PlatformResult:
        return PlatformResult(
            stable_code("CREDIT", idempotency_key),
            self.name,
            str(
                _("Add %(amount)s %(currency)s of store credit to the customer in the store.")
                % {"amount": amount, "currency": currency}
            ),
        )

    def cancel_order(self, order, idempotency_key) -> PlatformResult:
        return PlatformResult(
            stable_code("CANCEL", idempotency_key),
            self.name,
            str(_("Cancel the order in the store's admin too.")),
        )


# Factories the integrations register from their AppConfig.ready(), in order: each takes a
# store and returns its adapter when the store is connected to that platform, else None.
# (resolutions sits below the integrations and never imports them.)
_platforms: dict[str, Callable[[object], PlatformActions | None]] = {}


def register_platform(name: str, factory: Callable[[object], PlatformActions | None]) -> None:
    """Use `factory(store)` for stores connected to platform `name`."""
    _platforms[name] = factory


def platform_for(store) -> PlatformActions:
    """The store's platform adapter: the demo's, a connected platform's, or the manual one."""
    if store.is_demo:
        return DemoPlatform()
    for factory in _platforms.values():
        adapter = factory(store)
        if adapter is not None:
            return adapter
    return ManualPlatform()
