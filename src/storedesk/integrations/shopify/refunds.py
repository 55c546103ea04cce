"""Refunds of orders paid with Shopify Payments, through the Admin GraphQL `refundCreate`.

The refund goes back against the order's payment transaction (`parentId`), for the amount
asked. Idempotency: from Admin API 2026-01 the mutation takes Shopify's
`@idempotent(key:)` directive (mandatory from 2026-04), so a retry with the same key returns
the refund already made; on earlier versions, which lack the directive, the key is written in
the refund's note and the order's refunds are searched for it before creating one.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from storedesk.commerce.models import Payment
from storedesk.integrations.connections.credentials import NotConnected, credentials_for
from storedesk.integrations.shopify.platform import SYSTEM, call, gid, refuse_on_user_errors
from storedesk.resolutions.gateways import GatewayError, GatewayRefund

GATEWAY = "shopify_payments"
FIRST_IDEMPOTENT_VERSION = "2026-01"

REFUND_FIELDS = "id note totalRefundedSet { shopMoney { amount currencyCode } }"

ORDER_REFUNDS = f"""
query OrderRefunds($id: ID!) {{
  order(id: $id) {{ id refunds(first: 100) {{ {REFUND_FIELDS} }} }}
}}
"""


def refund_mutation(idempotency_key: str | None) -> str:
    directive = f" @idempotent(key: {json.dumps(idempotency_key)})" if idempotency_key else ""
    return f"""
mutation RefundCreate($input: RefundInput!) {{
  refundCreate(input: $input){directive} {{
    refund {{ {REFUND_FIELDS} }}
    userErrors {{ field message }}
  }}
}}
"""


def supports_idempotent_directive(version: str) -> bool:
    """API versions are YYYY-MM strings ('unstable' is newest)."""
    return version == "unstable" or version >= FIRST_IDEMPOTENT_VERSION


def _accepted(refund: dict, currency: str) -> GatewayRefund:
    money = (refund.get("totalRefundedSet") or {}).get("shopMoney") or {}
    return GatewayRefund(
        reference=refund["id"],
        status="succeeded",
        amount=Decimal(str(money.get("amount", "0"))),
        currency=str(money.get("currencyCode") or currency).upper(),
        raw=refund,
    )


class ShopifyPaymentsRefundGateway:
    """`RefundGateway` for payments of the `shopify_payments` gateway; the credentials are
    those of the order's store's Shopify connection."""

    name = GATEWAY

    def refund(
        self, payment: Payment, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayRefund:
        order = payment.order
        try:
            credentials = credentials_for(order.store_id, SYSTEM)
        except NotConnected as error:
            raise GatewayError(
                "gateway_not_configured",
                _("Shopify is not connected for this store (%(why)s): refund it in Shopify.")
                % {"why": error},
            ) from error
        if not order.provider_id or not payment.provider_id:
            raise GatewayError(
                "shopify_order_unknown",
                _("This payment has no Shopify order or transaction id to refund against."),
            )
        order_id = gid("Order", order.provider_id)
        version = credentials.config.get("api_version") or settings.SHOPIFY_API_VERSION
        idempotent = supports_idempotent_directive(version)
        if not idempotent:  # no directive yet: find the refund an earlier try made
            found = call(credentials, ORDER_REFUNDS, {"id": order_id}).get("order") or {}
            for refund in found.get("refunds") or []:
                if refund.get("note") and idempotency_key in refund["note"]:
                    return _accepted(refund, currency)
        refund_input = {
            "orderId": order_id,
            "currency": currency,
            "note": idempotency_key,
            "notify": False,
            "transactions": [
                {
                    "orderId": order_id,
                    "parentId": gid("OrderTransaction", payment.provider_id),
                    "amount": str(amount),
                    "gateway": GATEWAY,
                    "kind": "REFUND",
                }
            ],
        }
        answer = call(
            credentials,
            refund_mutation(idempotency_key if idempotent else None),
            {"input": refund_input},
        )
        payload = answer.get("refundCreate")
        refuse_on_user_errors(payload, what=_("refund"))
        return _accepted(payload["refund"], currency)
