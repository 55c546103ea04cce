"""Reships, coupons, store credit and cancellations in a connected Shopify store, through the
Admin GraphQL API (`AdminClient`), for `resolutions.platform.platform_for`:

- reship: `draftOrderCreate` with the lines at 100 % off, then `draftOrderComplete`, so the
  replacement is a real order at zero price that the store fulfils as any other;
- coupon: `discountCodeBasicCreate`, single use, for the order's customer, with an expiry;
- store credit: `storeCreditAccountCredit` on the customer's account;
- cancel: `orderCancel` with `refund: false` (the refund goes through the payment's gateway,
  recorded by the resolution) and the stock put back.

Each call carries the resolution's key so a retry finds what the first call made instead of
making it twice: the draft order is tagged with it and looked up first; the coupon's code is
derived from it (Shopify answers TAKEN to a second create); a cancel first asks whether the
order is already cancelled. `userErrors` are a clear refusal, THROTTLED/429/5xx retryable, and
401/403 marks the connection broken.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.commerce.models import LineItem, Order
from storedesk.integrations.connections.credentials import Credentials, NotConnected
from storedesk.integrations.connections.credentials import credentials_for as _credentials_for
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import do_mark_broken
from storedesk.integrations.shopify.client import (
    AdminClient,
    ShopifyAuthError,
    ShopifyError,
)
from storedesk.resolutions.platform import PlatformError, PlatformResult, stable_code

SYSTEM = "shopify"


def gid(kind: str, provider_id: str) -> str:
    """'450789469' -> 'gid://shopify/Order/450789469' (a gid is kept as it is)."""
    value = str(provider_id)
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


def key_tag(idempotency_key: str) -> str:
    """The tag that marks what one resolution made at Shopify (searchable, short)."""
    return "storedesk-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]


def client_for(credentials: Credentials) -> AdminClient:
    """A client that tries a few times itself; the resolution's own retries do the rest."""
    return AdminClient(credentials, max_attempts=settings.SHOPIFY_RESOLUTION_ATTEMPTS)


def call(credentials: Credentials, query: str, variables: dict) -> dict:
    """`AdminClient.execute`, with Shopify's failures as PlatformErrors; a refused token
    marks the connection broken (a person reconnects it) and is not retried."""
    try:
        return client_for(credentials).execute(query, variables)
    except ShopifyAuthError as error:
        connection = Connection.objects.filter(pk=credentials.connection_id).first()
        if connection is not None:
            do_mark_broken(connection, str(error))
        raise PlatformError(
            "shopify_connection_broken",
            _("Shopify refused the store's access token: reconnect Shopify, then retry."),
        ) from error
    except ShopifyError as error:
        raise PlatformError(
            "shopify_unavailable" if error.retryable else "shopify_error",
            str(error),
            retryable=error.retryable,
        ) from error


def refuse_on_user_errors(payload: dict | None, *, what: str) -> None:
    """Shopify's `userErrors` (or `orderCancelUserErrors`) as a clear, final refusal."""
    problems = list((payload or {}).get("userErrors") or [])
    problems += list((payload or {}).get("orderCancelUserErrors") or [])
    if problems:
        text = "; ".join(
            f"{'.'.join(p.get('field') or []) or 'request'}: {p.get('message')}" for p in problems
        )
        raise PlatformError(
            "shopify_refused",
            _("Shopify refused the %(what)s: %(problems)s") % {"what": what, "problems": text},
        )


FIND_DRAFT = """
query FindReshipDraft($query: String!) {
  draftOrders(first: 1, query: $query) {
    nodes { id name status order { id name } }
  }
}
"""

CREATE_DRAFT = """
mutation ReshipDraftCreate($input: DraftOrderInput!) {
  draftOrderCreate(input: $input) {
    draftOrder { id name status }
    userErrors { field message }
  }
}
"""

COMPLETE_DRAFT = """
mutation ReshipDraftComplete($id: ID!) {
  draftOrderComplete(id: $id) {
    draftOrder { id name status order { id name } }
    userErrors { field message }
  }
}
"""

CREATE_COUPON = """
mutation CouponCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode {
      id
      codeDiscount { ... on DiscountCodeBasic { title codes(first: 1) { nodes { code } } } }
    }
    userErrors { field code message }
  }
}
"""

CREDIT = """
mutation StoreCreditGrant($id: ID!, $creditInput: StoreCreditAccountCreditInput!) {
  storeCreditAccountCredit(id: $id, creditInput: $creditInput) {
    storeCreditAccountTransaction { id amount { amount currencyCode } account { id } }
    userErrors { field code message }
  }
}
"""

ORDER_CANCELLED = """
query OrderCancelled($id: ID!) {
  order(id: $id) { id cancelledAt }
}
"""

CANCEL = """
mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $staffNote: String) {
  orderCancel(orderId: $orderId, refund: false, restock: true, reason: $reason,
              notifyCustomer: false, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field code message }
    userErrors { field message }
  }
}
"""

# REST-style address keys (as the orders are stored) -> MailingAddressInput's.
ADDRESS_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "company": "company",
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "province_code": "provinceCode",
    "country_code": "countryCode",
    "zip": "zip",
    "phone": "phone",
}


def mailing_address(address: dict) -> dict | None:
    values = {
        target: str(address[source])
        for source, target in ADDRESS_FIELDS.items()
        if address.get(source) not in (None, "")
    }
    return values or None


def _order_ref(order: Order) -> str:
    if not order.provider_id:
        raise PlatformError(
            "shopify_order_unknown",
            _("Order %(number)s has no Shopify id: it did not come from Shopify.")
            % {"number": order.number},
        )
    return gid("Order", order.provider_id)


class ShopifyPlatform:
    """One connected Shopify store's actions (see the module). What it writes at the store
    (titles, notes) stays US English, as everything the customer may see does."""

    name = SYSTEM

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def _call(self, query: str, variables: dict) -> dict:
        return call(self.credentials, query, variables)

    # --- reship -------------------------------------------------------------------------------

    def reship(self, order: Order, lines: list, idempotency_key: str) -> PlatformResult:
        tag = key_tag(idempotency_key)
        found = self._call(FIND_DRAFT, {"query": f"tag:{tag}"})
        drafts = ((found.get("draftOrders") or {}).get("nodes")) or []
        draft = drafts[0] if drafts else None
        if draft is None:
            created = self._call(
                CREATE_DRAFT, {"input": self._draft_input(order, lines, tag, idempotency_key)}
            )
            payload = created.get("draftOrderCreate")
            refuse_on_user_errors(payload, what=_("replacement order"))
            draft = payload["draftOrder"]
        if draft.get("status") != "COMPLETED":
            completed = self._call(COMPLETE_DRAFT, {"id": draft["id"]})
            payload = completed.get("draftOrderComplete")
            refuse_on_user_errors(payload, what=_("replacement order"))
            draft = payload["draftOrder"]
        placed = draft.get("order") or {}
        return PlatformResult(placed.get("name") or draft.get("name") or draft["id"], self.name)

    def _draft_input(self, order: Order, lines: list, tag: str, key: str) -> dict:
        wanted = {line["line_item"]: line["quantity"] for line in lines if "line_item" in line}
        items = LineItem.objects.filter(order=order).select_related("variant").order_by("pk")
        if wanted:
            items = items.filter(pk__in=wanted)
        free = {"value": 100.0, "valueType": "PERCENTAGE", "title": "Replacement"}
        draft_lines = []
        for item in items:
            line = {"quantity": wanted.get(item.pk, item.quantity), "appliedDiscount": free}
            if item.variant is not None and item.variant.provider_id:
                line["variantId"] = gid("ProductVariant", item.variant.provider_id)
            else:  # a custom line at zero price, titled as the original
                line["title"] = item.title
                line["originalUnitPriceWithCurrency"] = {
                    "amount": "0.00",
                    "currencyCode": order.currency,
                }
                line.pop("appliedDiscount")
            draft_lines.append(line)
        if not draft_lines:
            raise PlatformError(
                "nothing_to_reship", _("The order has no line items to send again.")
            )
        values: dict = {
            "lineItems": draft_lines,
            "tags": ["storedesk", "replacement", tag],
            "note": f"Replacement for {order.number} ({key})",
            "email": order.email or None,
            "presentmentCurrencyCode": order.currency,
        }
        address = mailing_address(order.shipping_address or {})
        if address:
            values["shippingAddress"] = address
        if order.customer_id and order.customer.provider_id:
            values["purchasingEntity"] = {"customerId": gid("Customer", order.customer.provider_id)}
        return {key: value for key, value in values.items() if value is not None}

    # --- coupon -------------------------------------------------------------------------------

    def create_coupon(
        self, order: Order, amount: Decimal, currency: str, idempotency_key: str
    ) -> PlatformResult:
        code = stable_code("SORRY", idempotency_key)
        now = timezone.now()
        customer = order.customer.provider_id if order.customer_id else ""
        selection = (
            {"customers": {"add": [gid("Customer", customer)]}} if customer else {"all": True}
        )
        discount = {
            "title": f"Apology {code} for {order.number}",
            "code": code,
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(days=settings.RESOLUTIONS_COUPON_DAYS)).isoformat(),
            "usageLimit": 1,
            "appliesOncePerCustomer": True,
            "customerSelection": selection,
            "customerGets": {
                "value": {"discountAmount": {"amount": str(amount), "appliesOnEachItem": False}},
                "items": {"all": True},
            },
        }
        created = self._call(CREATE_COUPON, {"basicCodeDiscount": discount})
        payload = created.get("discountCodeBasicCreate") or {}
        problems = payload.get("userErrors") or []
        if problems and all(p.get("code") == "TAKEN" for p in problems):
            # The code is derived from this resolution's key: an earlier try made it.
            return PlatformResult(code, self.name)
        refuse_on_user_errors(payload, what=_("coupon"))
        return PlatformResult(code, self.name)

    # --- store credit ----------------------------------------------------------------------------

    def grant_store_credit(
        self, order: Order, amount: Decimal, currency: str, idempotency_key: str
    ) -> PlatformResult:
        customer = order.customer.provider_id if order.customer_id else ""
        if not customer:
            raise PlatformError(
                "shopify_customer_unknown",
                _("Order %(number)s has no Shopify customer to credit.") % {"number": order.number},
            )
        answer = self._call(
            CREDIT,
            {
                "id": gid("Customer", customer),
                "creditInput": {"creditAmount": {"amount": str(amount), "currencyCode": currency}},
            },
        )
        payload = answer.get("storeCreditAccountCredit")
        refuse_on_user_errors(payload, what=_("store credit"))
        return PlatformResult(payload["storeCreditAccountTransaction"]["id"], self.name)

    # --- cancel -------------------------------------------------------------------------------

    def cancel_order(self, order: Order, idempotency_key: str) -> PlatformResult:
        order_id = _order_ref(order)
        state = (self._call(ORDER_CANCELLED, {"id": order_id}).get("order")) or {}
        if state.get("cancelledAt"):  # an earlier try (or a person) cancelled it already
            return PlatformResult(order_id, self.name)
        answer = self._call(
            CANCEL,
            {"orderId": order_id, "reason": "CUSTOMER", "staffNote": idempotency_key[:255]},
        )
        payload = answer.get("orderCancel")
        refuse_on_user_errors(payload, what=_("cancellation"))
        job = (payload or {}).get("job") or {}
        return PlatformResult(job.get("id") or order_id, self.name)


def platform_for_store(store) -> ShopifyPlatform | None:
    """The store's Shopify adapter when its Shopify connection is active (else None)."""
    try:
        return ShopifyPlatform(_credentials_for(store, SYSTEM))
    except NotConnected:
        return None
