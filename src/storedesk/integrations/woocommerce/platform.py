"""Resolutions' platform actions at a connected WooCommerce site (REST API v3).

- coupon: `POST /coupons`, a single-use fixed-cart code for the customer's email, its code
  stable per resolution (`resolutions.platform.stable_code`): a retry first looks the code up
  (`GET /coupons?code=`) and WooCommerce itself refuses a second coupon with the same code.
- cancellation: `PUT /orders/{id}` with status `cancelled` (harmless to repeat).
- reship and store credit: WooCommerce's core API has neither a zero-price replacement order
  that can be found again by key nor store credit, so they are recorded here and the note says
  what a person must still do in the site's admin (as for a store with no platform).

What it writes at the site stays US English, as everything the customer may see does.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from storedesk.core.money import quantize
from storedesk.integrations.connections.credentials import NotConnected
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.systems import WOOCOMMERCE
from storedesk.integrations.woocommerce.client import (
    WooCommerceAuthError,
    WooCommerceClient,
    WooCommerceError,
    WooCommerceUnavailable,
)
from storedesk.resolutions.platform import (
    ManualPlatform,
    PlatformError,
    PlatformResult,
    stable_code,
)

COUPON_EXISTS = "woocommerce_rest_coupon_code_already_exists"


def _platform_error(error: WooCommerceError) -> PlatformError:
    if isinstance(error, WooCommerceAuthError):
        return PlatformError(
            "platform_not_authorised",
            _("WooCommerce refused the API key: reconnect the site."),
            http_status=error.status,
        )
    return PlatformError(
        error.code or "platform_error",
        str(error),
        retryable=isinstance(error, WooCommerceUnavailable),
        http_status=error.status or None,
    )


class WooCommercePlatform:
    name = WOOCOMMERCE

    def __init__(self, client: WooCommerceClient, currency: str) -> None:
        self.client = client
        self.currency = currency.upper()

    def create_coupon(self, order, amount, currency, idempotency_key) -> PlatformResult:
        code = stable_code("SORRY", idempotency_key)
        if currency.upper() != self.currency:
            raise PlatformError(
                "currency_mismatch",
                _("WooCommerce coupons are in the store's currency (%(currency)s).")
                % {"currency": self.currency},
            )
        coupon = {
            "code": code,
            "discount_type": "fixed_cart",
            "amount": str(quantize(amount, currency)),
            "individual_use": True,
            "usage_limit": 1,
            "usage_limit_per_user": 1,
            "email_restrictions": [order.email] if order.email else [],
            "description": f"Apology for order {order.number}",
        }
        try:
            if self.client.coupon_by_code(code) is None:
                self.client.create_coupon(coupon)
        except WooCommerceError as error:
            if error.code != COUPON_EXISTS:  # made by the first try: the same coupon
                raise _platform_error(error) from error
        return PlatformResult(code, self.name)

    def cancel_order(self, order, idempotency_key) -> PlatformResult:
        if not order.provider_id:
            raise PlatformError(
                "not_a_platform_order", _("This order has no WooCommerce id to cancel.")
            )
        try:
            answered = self.client.update_order(order.provider_id, {"status": "cancelled"})
        except WooCommerceError as error:
            raise _platform_error(error) from error
        if str(answered.get("status")) != "cancelled":
            raise PlatformError(
                "not_cancelled",
                _("WooCommerce kept the order in status %(status)s.")
                % {"status": answered.get("status")},
            )
        return PlatformResult(f"wc-order-{order.provider_id}-cancelled", self.name)

    def reship(self, order, lines, idempotency_key) -> PlatformResult:
        manual = ManualPlatform().reship(order, lines, idempotency_key)
        return PlatformResult(manual.reference, self.name, manual.note)

    def grant_store_credit(self, order, amount, currency, idempotency_key) -> PlatformResult:
        manual = ManualPlatform().grant_store_credit(order, amount, currency, idempotency_key)
        return PlatformResult(manual.reference, self.name, manual.note)


def platform_for_store(store) -> WooCommercePlatform | None:
    """The store's WooCommerce adapter when its WooCommerce connection is active (else None)."""
    from storedesk.integrations.woocommerce.services import client_for

    connection = Connection.objects.filter(
        store_id=getattr(store, "pk", store), system=WOOCOMMERCE, status=Connection.Status.ACTIVE
    ).first()
    if connection is None:
        return None
    try:
        return WooCommercePlatform(client_for(connection), store.currency)
    except (NotConnected, KeyError):
        return None
