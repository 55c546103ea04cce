"""Refunds of PayPal captures with the official `paypal-server-sdk`
(`PaymentsController.refund_captured_payment`, POST /v2/payments/captures/{id}/refund).

The resolution's idempotency key is sent as `PayPal-Request-Id` (PayPal keeps it 45 days), so a
retry returns the refund already made. PayPal's 422 issues (CAPTURE_FULLY_REFUNDED,
REFUND_AMOUNT_EXCEEDED, REFUND_FAILED_INSUFFICIENT_FUNDS, …) are final; 409 (a call for the
capture in progress), 429 and 5xx are retryable. The base URL is configurable so tests talk to a
local server (which also answers the OAuth token request the SDK makes first).
"""

from __future__ import annotations

import threading
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.exceptions.error_exception import ErrorException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.money import Money
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from storedesk.commerce.models import Payment
from storedesk.core.money import quantize
from storedesk.resolutions.gateways import GatewayError, GatewayRefund

ACCEPTED = ("COMPLETED", "PENDING")
RETRYABLE_STATUSES = (408, 409, 429)
_clients: dict[tuple[str, str, str], PaypalServersdkClient] = {}
_clients_lock = threading.Lock()


class _Configuration(Configuration):
    """The SDK's configuration with the base URL ours to set (live, sandbox or a test server)."""

    def __init__(self, *args, base_url: str = "", **kwargs) -> None:
        self._base_url = base_url
        super().__init__(*args, **kwargs)

    def get_base_uri(self, server=Server.DEFAULT):
        return self._base_url or super().get_base_uri(server)


def sdk_client(client_id: str, client_secret: str, base_url: str, environment: str):
    """The official SDK's client for these credentials (one per process, reused)."""
    key = (client_id, client_secret, base_url or environment)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            config = _Configuration(
                base_url=base_url,
                environment=(
                    Environment.PRODUCTION if environment == "production" else Environment.SANDBOX
                ),
                timeout=settings.RESOLUTIONS_GATEWAY_TIMEOUT_SECONDS,
                max_retries=0,  # our task retries, with the same PayPal-Request-Id
                client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                    o_auth_client_id=client_id, o_auth_client_secret=client_secret
                ),
            )
            client = PaypalServersdkClient(config=config)
            _clients[key] = client
        return client


class PayPalRefundGateway:
    name = "paypal"

    def __init__(
        self, *, client_id: str, client_secret: str, environment: str = "sandbox", api_base=""
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.environment = environment
        self.api_base = (api_base or "").rstrip("/")

    def refund(
        self, payment: Payment, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayRefund:
        if not (self.client_id and self.client_secret):
            raise GatewayError(
                "gateway_not_configured",
                _("PayPal is not connected: PAYPAL_CLIENT_ID/PAYPAL_CLIENT_SECRET are empty."),
            )
        client = sdk_client(self.client_id, self.client_secret, self.api_base, self.environment)
        body = RefundRequest(
            amount=Money(currency_code=currency, value=str(quantize(amount, currency))),
            custom_id=idempotency_key[:127] if _custom_id_ok(idempotency_key) else None,
        )
        try:
            response = client.payments.refund_captured_payment(
                {
                    "capture_id": payment.provider_id,
                    "paypal_request_id": idempotency_key,
                    "prefer": "return=representation",
                    "body": body,
                }
            )
        except ErrorException as error:
            raise _gateway_error(error) from error
        except ApiException as error:
            raise _gateway_error(error) from error
        except OSError as error:  # connection refused, timeouts (requests' errors are OSError)
            raise GatewayError("gateway_unavailable", str(error), retryable=True) from error
        refund = response.body
        status = getattr(refund, "status", "") or ""
        if status not in ACCEPTED:
            raise GatewayError(
                f"refund_{status.lower() or 'unknown'}",
                _("PayPal answered with a refund in status %(status)s.") % {"status": status},
            )
        money = getattr(refund, "amount", None)
        refund_currency = getattr(money, "currency_code", None) or currency
        value = Decimal(getattr(money, "value", None) or str(amount))
        raw = response.text if isinstance(response.text, str) else ""
        return GatewayRefund(
            reference=refund.id,
            status=status.lower(),
            amount=value,
            currency=refund_currency,
            raw={"body": raw[:4000]},
        )


def _custom_id_ok(value: str) -> bool:
    return all(character.isalnum() or character in "-_.," for character in value)


def _gateway_error(error: ApiException) -> GatewayError:
    status = error.response_code
    issue = ""
    details = getattr(error, "details", None) or []
    if details:
        issue = getattr(details[0], "issue", "") or ""
    name = getattr(error, "name", "") or ""
    message = ""
    if details:
        message = getattr(details[0], "description", "") or ""
    message = message or getattr(error, "message", "") or error.reason or name
    retryable = status in RETRYABLE_STATUSES or (status is not None and status >= 500)
    return GatewayError(
        issue or name or f"http_{status}", str(message), retryable=retryable, http_status=status
    )
