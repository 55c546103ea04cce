"""Refunds go back through the gateway that took the payment, behind one small interface.

`RefundGateway.refund(payment, amount, currency, idempotency_key)` returns a `GatewayRefund`
once the gateway accepted the refund, or raises `GatewayError` saying whether a retry with the
same key may succeed (rate limited, 5xx, timeout) or not (already refunded, amount too large,
disputed, insufficient balance). The Stripe and PayPal adapters live with their integrations
(`integrations/stripe/refunds.py`, `integrations/paypal/refunds.py`), which register them here
(`register_refund_gateway`) from their AppConfig.ready(); the demo store's payments
go through `DemoGateway`, where no money moves, and say so wherever they show.

Credentials are looked up in one place, `gateway_credentials`: the store's active connection to
the gateway (`connections.credentials_for`) when it has one, else the desk-wide settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Payment, Store
from storedesk.integrations.connections.credentials import NotConnected, credentials_for
from storedesk.resolutions.models import DEMO_GATEWAY

DEMO_LABEL = _("demo: no money moved")


@dataclass(frozen=True)
class GatewayRefund:
    """A refund the gateway accepted (succeeded, or pending on its side)."""

    reference: str
    status: str
    amount: Decimal
    currency: str
    raw: dict = field(default_factory=dict, repr=False)


class GatewayError(Exception):
    """The gateway refused or could not be reached; `retryable` says whether calling again
    with the same idempotency key may succeed."""

    def __init__(
        self, code: str, message: str, *, retryable: bool = False, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.http_status = http_status


class RefundGateway(Protocol):
    name: str

    def refund(
        self, payment: Payment, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayRefund: ...


class DemoGateway:
    """The demo store's gateway: accepts every refund in-process, with a stable reference per
    idempotency key (a retry gets the same refund, as from a real gateway). No money moves."""

    name = DEMO_GATEWAY

    def refund(
        self, payment: Payment, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayRefund:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
        return GatewayRefund(
            reference=f"demo_re_{digest}",
            status="succeeded",
            amount=amount,
            currency=currency,
            raw={"demo": True, "note": str(DEMO_LABEL)},
        )


class MissingAdapter:
    """A gateway we cannot refund through yet: refused clearly, never pretended."""

    def __init__(self, name: str) -> None:
        self.name = name

    def refund(self, payment, amount, currency, idempotency_key) -> GatewayRefund:
        raise GatewayError(
            "gateway_not_supported",
            str(
                _("Refunds through %(gateway)s are not connected yet: refund it in its dashboard.")
                % {"gateway": payment.get_gateway_display()}
            ),
        )


def gateway_credentials(store: Store, gateway: str) -> dict[str, str]:
    """The credentials and base URL for a store's gateway: its active connection's when it has
    one (Settings → Connections, `storedesk connect`), else the desk-wide settings. Missing
    values are empty strings; the adapter refuses clearly."""
    if gateway not in (Payment.Gateway.STRIPE, Payment.Gateway.PAYPAL):
        return {}
    try:
        connected = credentials_for(store, gateway)
    except NotConnected:
        connected = None
    if gateway == Payment.Gateway.STRIPE:
        if connected is not None and connected.secrets.get("api_key"):
            return {
                "secret_key": connected.secrets["api_key"],
                "api_base": connected.config.get("api_base_url") or settings.STRIPE_API_BASE,
            }
        return {
            "secret_key": settings.STRIPE_SECRET_KEY,
            "api_base": settings.STRIPE_API_BASE,
        }
    if connected is not None and connected.secrets.get("client_secret"):
        return {
            "client_id": connected.config.get("client_id", ""),
            "client_secret": connected.secrets["client_secret"],
            # a connection is live unless it says sandbox (as its webhooks and backfill are)
            "environment": connected.config.get("environment") or "production",
            "api_base": connected.config.get("api_base_url") or settings.PAYPAL_API_BASE_URL,
        }
    return {
        "client_id": settings.PAYPAL_CLIENT_ID,
        "client_secret": settings.PAYPAL_CLIENT_SECRET,
        "environment": settings.PAYPAL_ENVIRONMENT,
        "api_base": settings.PAYPAL_API_BASE_URL,
    }


def gateway_name_for(store: Store, payment: Payment | None) -> str:
    """Which gateway a refund of this payment goes through ('demo' for the demo store)."""
    if store.is_demo:
        return DEMO_GATEWAY
    return payment.gateway if payment is not None else ""


# name -> a factory taking the credentials of `gateway_credentials`; the integrations register
# theirs from their AppConfig.ready() (resolutions sits below them and never imports them).
_factories: dict[str, Callable[..., RefundGateway]] = {}


def register_refund_gateway(name: str, factory: Callable[..., RefundGateway]) -> None:
    """Refund payments of gateway `name` with `factory(**gateway_credentials(...))`."""
    _factories[name] = factory


def gateway_for(store: Store, payment: Payment) -> RefundGateway:
    """The adapter that refunds this payment: the demo store's always the demo gateway."""
    name = gateway_name_for(store, payment)
    if name == DEMO_GATEWAY:
        return DemoGateway()
    factory = _factories.get(name)
    if factory is None:
        return MissingAdapter(name)
    return factory(**gateway_credentials(store, name))
