"""Refunds through Stripe's refunds API with the official SDK (`StripeClient.v1.refunds.create`).

The resolution's idempotency key is sent as Stripe's `Idempotency-Key`, so a retry after a
timeout or a crash returns the refund Stripe already made instead of making a second one.
Stripe's errors become `GatewayError`s: rate limits, 5xx and network failures are retryable;
`charge_already_refunded`, `amount_too_large`, `charge_disputed`, `balance_insufficient` and the
like are final.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from storedesk.commerce.models import Payment
from storedesk.core.money import from_minor_units, to_minor_units
from storedesk.resolutions.gateways import GatewayError, GatewayRefund

# Refund statuses meaning Stripe accepted the refund (pending: it will settle later).
ACCEPTED = ("succeeded", "pending")
_clients: dict[tuple[str, str], stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def _client(secret_key: str, api_base: str) -> stripe.StripeClient:
    """One client per key and base, reused: its HTTP session keeps connections open."""
    key = (secret_key, api_base)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = stripe.StripeClient(
                secret_key,
                base_addresses={"api": api_base},
                max_network_retries=0,  # our task retries, with the same idempotency key
                http_client=stripe.RequestsClient(
                    timeout=settings.RESOLUTIONS_GATEWAY_TIMEOUT_SECONDS
                ),
            )
            _clients[key] = client
        return client


class StripeRefundGateway:
    name = "stripe"

    def __init__(self, *, secret_key: str, api_base: str) -> None:
        self.secret_key = secret_key
        self.api_base = api_base.rstrip("/")

    def refund(
        self, payment: Payment, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayRefund:
        if not self.secret_key:
            raise GatewayError(
                "gateway_not_configured", _("Stripe is not connected: STRIPE_SECRET_KEY is empty.")
            )
        params: dict = {
            "amount": to_minor_units(amount, currency),
            "metadata": {"storedesk_idempotency_key": idempotency_key},
        }
        if payment.provider_id.startswith("ch_") or not payment.provider_intent_id:
            params["charge"] = payment.provider_id
        else:
            params["payment_intent"] = payment.provider_intent_id
        try:
            created = _client(self.secret_key, self.api_base).v1.refunds.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            raise _gateway_error(error) from error
        refund = created.to_dict()
        status = refund.get("status") or ""
        if status not in ACCEPTED:
            raise GatewayError(
                f"refund_{status or 'unknown'}",
                _("Stripe answered with a refund in status %(status)s.") % {"status": status},
            )
        refund_currency = str(refund.get("currency") or currency).upper()
        return GatewayRefund(
            reference=refund["id"],
            status=status,
            amount=from_minor_units(int(refund["amount"]), refund_currency),
            currency=refund_currency,
            raw=refund,
        )


def _gateway_error(error: stripe.StripeError) -> GatewayError:
    status = error.http_status
    code = getattr(error, "code", None) or ""
    message = error.user_message or str(error) or type(error).__name__
    if isinstance(error, stripe.RateLimitError) or code in ("rate_limit", "lock_timeout"):
        return GatewayError(code or "rate_limit", message, retryable=True, http_status=status)
    if isinstance(error, stripe.IdempotencyError):
        # A request with this key is still running at Stripe, or the key was used otherwise.
        return GatewayError("idempotency_error", message, retryable=True, http_status=status)
    if isinstance(error, stripe.APIConnectionError) or (status is not None and status >= 500):
        return GatewayError(
            code or "gateway_unavailable", message, retryable=True, http_status=status
        )
    return GatewayError(code or type(error).__name__, message, http_status=status)
