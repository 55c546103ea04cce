"""Reships, coupons, store credit and cancellations at the store's platform, behind one
interface. Shopify (draft order at zero price, `discountCodeBasicCreate`, store credit,
`orderCancel`) and WooCommerce adapters plug in here; until a store is connected, `ManualPlatform`
records the action in Storedesk and says plainly that it still has to be done in the store's
admin. The demo store uses `DemoPlatform`, where nothing leaves Storedesk.

Every call carries the resolution's idempotency key, so a retried call finds what the first
one made instead of making a second reship or coupon.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Order


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


def _code(prefix: str, idempotency_key: str) -> str:
    """A stable code per key (a retry gets the same coupon), readable to the customer."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:8].upper()
    return f"{prefix}-{digest}"


class DemoPlatform:
    """The demo store: actions are made up in-process, with stable references."""

    name = "demo"
    note = _("demo: nothing sent to a store")

    def reship(self, order, lines, idempotency_key) -> PlatformResult:
        return PlatformResult(_code("DEMO-RESHIP", idempotency_key), self.name, str(self.note))

    def create_coupon(self, order, amount, currency, idempotency_key) -> PlatformResult:
        return PlatformResult(_code("SORRY", idempotency_key), self.name, str(self.note))

    def grant_store_credit(self, order, amount, currency, idempotency_key) -> PlatformResult:
        return PlatformResult(_code("DEMO-CREDIT", idempotency_key), self.name, str(self.note))

    def cancel_order(self, order, idempotency_key) -> PlatformResult:
        return PlatformResult(_code("DEMO-CANCEL", idempotency_key), self.name, str(self.note))


class ManualPlatform:
    """No platform connected: the action is recorded here and a person completes it in the
    store's admin (the note says what). A coupon code is chosen here so the customer's message
    and the store use the same one."""

    name = "manual"

    def reship(self, order, lines, idempotency_key) -> PlatformResult:
        return PlatformResult(
            _code("RESHIP", idempotency_key),
            self.name,
            str(_("Create the replacement order at zero price in the store's admin.")),
        )

    def create_coupon(self, order, amount, currency, idempotency_key) -> PlatformResult:
        code = _code("SORRY", idempotency_key)
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
            _code("CREDIT", idempotency_key),
            self.name,
            str(
                _("Add %(amount)s %(currency)s of store credit to the customer in the store.")
                % {"amount": amount, "currency": currency}
            ),
        )

    def cancel_order(self, order, idempotency_key) -> PlatformResult:
        return PlatformResult(
            _code("CANCEL", idempotency_key),
            self.name,
            str(_("Cancel the order in the store's admin too.")),
        )


def platform_for(store) -> PlatformActions:
    """The store's platform adapter (the one place to plug in a connected store)."""
    if store.is_demo:
        return DemoPlatform()
    return ManualPlatform()
