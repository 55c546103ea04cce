"""Resolutions in a store connected to Shopify: reship, coupon, store credit, cancel and a
Shopify Payments refund, each through `do_request_resolution`, against a local server answering
as Shopify's Admin GraphQL API does (success, userErrors, THROTTLED, 401, 5xx)."""

import re

import pytest
from django.utils import translation

from storedesk.integrations.connections.models import Connection
from storedesk.resolutions.platform import ManualPlatform, platform_for
from storedesk.resolutions.services import do_execute_resolution, do_request_resolution
from tests.integrations.shopify.fake_admin import data, server_error, throttled, unauthorized
from tests.integrations.shopify.helpers import TOKEN, connect
from tests.resolutions.conftest import paid_order

OPERATION = re.compile(r"^\s*(?:query|mutation)\s+(\w+)")
ORDER_GID = "gid://shopify/Order/450789469"
TRANSACTION_GID = "gid://shopify/OrderTransaction/389404469"


class ShopifyAdmin:
    """Scripted answers per operation name, in order (the last one repeats); records what
    was asked, with the path (the API version) and the whole query."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.script: dict[str, list] = {}
        self.requests: list[dict] = []
        httpserver.expect_request(
            re.compile(r"^/admin/api/[^/]+/graphql\.json$"), method="POST"
        ).respond_with_handler(self._answer)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def on(self, operation: str, *answers) -> "ShopifyAdmin":
        self.script.setdefault(operation, []).extend(answers)
        return self

    def _answer(self, request):
        if request.headers.get("X-Shopify-Access-Token") != TOKEN:
            return unauthorized()
        body = request.get_json()
        operation = OPERATION.match(body["query"]).group(1)
        self.requests.append(
            {
                "operation": operation,
                "query": body["query"],
                "variables": body.get("variables"),
                "path": request.path,
            }
        )
        queue = self.script[operation]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def asked(self, operation: str) -> list[dict]:
        return [r for r in self.requests if r["operation"] == operation]


@pytest.fixture
def shopify(httpserver):
    return ShopifyAdmin(httpserver)


@pytest.fixture
def shop_order(db, shopify, settings):
    """An unshipped Shopify order paid with Shopify Payments, in a store connected to Shopify."""
    settings.SHOPIFY_RESOLUTION_ATTEMPTS = 2
    order = paid_order("100.00", gateway="shopify_payments", provider_id="450789469")
    order.customer.provider_id = "207119551"
    order.customer.save(update_fields=["provider_id"])
    item = order.line_items.get()
    item.variant.provider_id = "39072856"
    item.variant.save(update_fields=["provider_id"])
    payment = order.payments.get()
    payment.provider_id = "389404469"
    payment.save(update_fields=["provider_id"])
    connect(order.store, api_base_url=shopify.base_url)
    return order


def ask(actor, order, *, kind, amount=None, key="k", reason="not_received", **extra):
    return do_request_resolution(
        actor=actor,
        order=order,
        kind=kind,
        amount=amount,
        currency="USD",
        reason=reason,
        idempotency_key=key,
        **extra,
    )


def user_error(field, message, code=None):
    problem = {"field": field, "message": message}
    if code:
        problem["code"] = code
    return problem


def draft(status, order=None):
    return {
        "id": "gid://shopify/DraftOrder/994118539",
        "name": "#D2",
        "status": status,
        **({"order": order} if order is not None else {}),
    }


@pytest.mark.django_db
def test_platform_for_picks_shopify_only_while_the_connection_is_active(shop_order):
    assert platform_for(shop_order.store).name == "shopify"
    Connection.objects.filter(store=shop_order.store).update(status=Connection.Status.BROKEN)
    assert isinstance(platform_for(shop_order.store), ManualPlatform)


@pytest.mark.django_db
def test_a_reship_is_a_draft_order_at_zero_price_completed_at_shopify(shop_order, shopify, people):
    shopify.on("FindReshipDraft", data({"draftOrders": {"nodes": []}}))
    shopify.on(
        "ReshipDraftCreate",
        data({"draftOrderCreate": {"draftOrder": draft("OPEN"), "userErrors": []}}),
    )
    shopify.on(
        "ReshipDraftComplete",
        data(
            {
                "draftOrderComplete": {
                    "draftOrder": draft(
                        "COMPLETED", {"id": "gid://shopify/Order/450789470", "name": "#1002"}
                    ),
                    "userErrors": [],
                }
            }
        ),
    )

    resolution = ask(people["agent"], shop_order, kind="reship")

    assert resolution.status == "done"
    assert resolution.platform_reference == "#1002"
    (created,) = shopify.asked("ReshipDraftCreate")
    draft_input = created["variables"]["input"]
    (line,) = draft_input["lineItems"]
    assert line["variantId"] == "gid://shopify/ProductVariant/39072856"
    assert line["appliedDiscount"]["value"] == 100.0
    assert line["appliedDiscount"]["valueType"] == "PERCENTAGE"
    assert draft_input["purchasingEntity"] == {"customerId": "gid://shopify/Customer/207119551"}
    assert draft_input["shippingAddress"]["city"] == "Austin"
    tag = next(t for t in draft_input["tags"] if t.startswith("storedesk-"))
    (found,) = shopify.asked("FindReshipDraft")
    assert found["variables"]["query"] == f"tag:{tag}"
    assert shopify.asked("ReshipDraftComplete")[0]["variables"] == {
        "id": "gid://shopify/DraftOrder/994118539"
    }


@pytest.mark.django_db
def test_a_retried_reship_completes_the_draft_an_earlier_try_made_instead_of_a_second(
    shop_order, shopify, people
):
    shopify.on("FindReshipDraft", data({"draftOrders": {"nodes": [draft("OPEN")]}}))
    shopify.on(
        "ReshipDraftComplete",
        data(
            {
                "draftOrderComplete": {
                    "draftOrder": draft("COMPLETED", {"id": "gid://x", "name": "#1003"}),
                    "userErrors": [],
                }
            }
        ),
    )

    resolution = ask(people["agent"], shop_order, kind="reship")

    assert (resolution.status, resolution.platform_reference) == ("done", "#1003")
    assert shopify.asked("ReshipDraftCreate") == []


@pytest.mark.django_db
def test_a_coupon_is_a_single_use_code_for_that_customer(shop_order, shopify, people):
    shopify.on(
        "CouponCreate",
        data(
            {
                "discountCodeBasicCreate": {
                    "codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/1"},
                    "userErrors": [],
                }
            }
        ),
    )

    resolution = ask(people["agent"], shop_order, kind="coupon", amount="15.00", reason="late")

    assert resolution.status == "done"
    assert resolution.platform_reference.startswith("SORRY-")
    discount = shopify.asked("CouponCreate")[0]["variables"]["basicCodeDiscount"]
    assert discount["code"] == resolution.platform_reference
    assert discount["usageLimit"] == 1
    assert discount["customerSelection"] == {
        "customers": {"add": ["gid://shopify/Customer/207119551"]}
    }
    assert discount["customerGets"]["value"]["discountAmount"]["amount"] == "15.00"
    assert discount["endsAt"] > discount["startsAt"]


@pytest.mark.django_db
def test_a_coupon_refused_by_shopify_fails_with_its_user_errors(shop_order, shopify, people):
    shopify.on(
        "CouponCreate",
        data(
            {
                "discountCodeBasicCreate": {
                    "codeDiscountNode": None,
                    "userErrors": [
                        user_error(
                            ["basicCodeDiscount", "endsAt"],
                            "Ends at needs to be after starts_at",
                            "INVALID",
                        )
                    ],
                }
            }
        ),
    )

    resolution = ask(people["agent"], shop_order, kind="coupon", amount="15.00", reason="late")

    assert resolution.status == "failed"
    assert resolution.error_code == "shopify_refused"
    assert "Ends at needs to be after starts_at" in resolution.error


@pytest.mark.django_db
def test_store_credit_goes_to_the_customers_account_after_a_throttle(shop_order, shopify, people):
    shopify.on(
        "StoreCreditGrant",
        throttled(available=10.0, requested=60),
        data(
            {
                "storeCreditAccountCredit": {
                    "storeCreditAccountTransaction": {
                        "id": "gid://shopify/StoreCreditAccountCreditTransaction/8",
                        "amount": {"amount": "20.0", "currencyCode": "USD"},
                        "account": {"id": "gid://shopify/StoreCreditAccount/3"},
                    },
                    "userErrors": [],
                }
            }
        ),
    )

    resolution = ask(
        people["agent"], shop_order, kind="store_credit", amount="20.00", reason="goodwill"
    )

    assert resolution.status == "done"
    assert resolution.platform_reference == "gid://shopify/StoreCreditAccountCreditTransaction/8"
    first, second = shopify.asked("StoreCreditGrant")
    assert (
        second["variables"]
        == first["variables"]
        == {
            "id": "gid://shopify/Customer/207119551",
            "creditInput": {"creditAmount": {"amount": "20.00", "currencyCode": "USD"}},
        }
    )


@pytest.mark.django_db
def test_a_cancel_at_shopify_does_not_refund_there_the_gateway_refunds_once(
    shop_order, shopify, people
):
    shopify.on("OrderCancelled", data({"order": {"id": ORDER_GID, "cancelledAt": None}}))
    shopify.on(
        "OrderCancel",
        data(
            {
                "orderCancel": {
                    "job": {"id": "gid://shopify/Job/1", "done": False},
                    "orderCancelUserErrors": [],
                    "userErrors": [],
                }
            }
        ),
    )
    shopify.on(
        "RefundCreate",
        data(
            {
                "refundCreate": {
                    "refund": {
                        "id": "gid://shopify/Refund/929361464",
                        "note": "",
                        "totalRefundedSet": {
                            "shopMoney": {"amount": "100.0", "currencyCode": "USD"}
                        },
                    },
                    "userErrors": [],
                }
            }
        ),
    )
    shopify.on("OrderRefunds", data({"order": {"id": ORDER_GID, "refunds": []}}))

    resolution = ask(people["agent"], shop_order, kind="cancel", reason="cancellation")

    assert resolution.status == "done"
    assert resolution.platform_reference == "gid://shopify/Job/1"
    assert resolution.gateway_reference == "gid://shopify/Refund/929361464"
    (cancel,) = shopify.asked("OrderCancel")
    assert "refund: false" in cancel["query"]
    assert cancel["variables"]["orderId"] == ORDER_GID
    (refund,) = shopify.asked("RefundCreate")
    assert refund["variables"]["input"]["transactions"][0]["amount"] == "100.00"
    shop_order.refresh_from_db()
    assert shop_order.cancelled_at is not None


@pytest.mark.django_db
def test_a_shopify_payments_refund_is_sent_with_the_idempotent_directive(
    shop_order, shopify, people
):
    Connection.objects.filter(store=shop_order.store).update(
        config={
            **Connection.objects.get(store=shop_order.store).config,
            "api_version": "2026-01",
        }
    )
    shopify.on(
        "RefundCreate",
        data(
            {
                "refundCreate": {
                    "refund": {
                        "id": "gid://shopify/Refund/929361465",
                        "note": "",
                        "totalRefundedSet": {
                            "shopMoney": {"amount": "30.0", "currencyCode": "USD"}
                        },
                    },
                    "userErrors": [],
                }
            }
        ),
    )

    resolution = ask(people["agent"], shop_order, kind="partial_refund", amount="30.00")

    assert (resolution.status, resolution.gateway_reference) == (
        "done",
        "gid://shopify/Refund/929361465",
    )
    (sent,) = shopify.requests  # no lookup: the directive makes a retry safe
    assert sent["path"] == "/admin/api/2026-01/graphql.json"
    key = sent["variables"]["input"]["note"]
    assert f'@idempotent(key: "{key}")' in sent["query"]
    assert sent["variables"]["input"]["transactions"] == [
        {
            "orderId": ORDER_GID,
            "parentId": TRANSACTION_GID,
            "amount": "30.00",
            "gateway": "shopify_payments",
            "kind": "REFUND",
        }
    ]
    resolution.refund.refresh_from_db()
    assert resolution.refund.status == "succeeded"


@pytest.mark.django_db
def test_a_refund_retried_after_a_5xx_finds_the_refund_already_made(
    shop_order, shopify, people, settings
):
    settings.SHOPIFY_RESOLUTION_ATTEMPTS = 1
    shopify.on("OrderRefunds", data({"order": {"id": ORDER_GID, "refunds": []}}))
    shopify.on("RefundCreate", server_error(503))

    resolution = ask(people["agent"], shop_order, kind="partial_refund", amount="30.00")

    assert (resolution.status, resolution.error_code) == ("processing", "shopify_unavailable")
    key = shopify.asked("RefundCreate")[0]["variables"]["input"]["note"]
    # Shopify made the refund before failing to answer: the retry finds it by its key.
    shopify.script["OrderRefunds"] = [
        data(
            {
                "order": {
                    "id": ORDER_GID,
                    "refunds": [
                        {
                            "id": "gid://shopify/Refund/929361466",
                            "note": key,
                            "totalRefundedSet": {
                                "shopMoney": {"amount": "30.0", "currencyCode": "USD"}
                            },
                        }
                    ],
                }
            }
        )
    ]

    retried = do_execute_resolution(resolution.pk, force=True)

    assert (retried.status, retried.gateway_reference) == (
        "done",
        "gid://shopify/Refund/929361466",
    )
    assert len(shopify.asked("RefundCreate")) == 1


@pytest.mark.django_db
def test_a_refund_refused_by_shopify_fails_and_frees_the_money(shop_order, shopify, people):
    shopify.on("OrderRefunds", data({"order": {"id": ORDER_GID, "refunds": []}}))
    shopify.on(
        "RefundCreate",
        data(
            {
                "refundCreate": {
                    "refund": None,
                    "userErrors": [
                        user_error(["transactions"], "Amount can't be greater than refundable")
                    ],
                }
            }
        ),
    )

    resolution = ask(people["agent"], shop_order, kind="partial_refund", amount="30.00")

    assert (resolution.status, resolution.error_code) == ("failed", "shopify_refused")
    assert "greater than refundable" in resolution.error
    resolution.refund.refresh_from_db()
    assert resolution.refund.status == "failed"


@pytest.mark.django_db
def test_a_revoked_token_breaks_the_connection_and_fails_clearly(shop_order, shopify, people):
    shopify.on("CouponCreate", unauthorized())  # the token was revoked at Shopify

    with translation.override("en"):
        resolution = ask(people["agent"], shop_order, kind="coupon", amount="15.00", reason="late")

    assert (resolution.status, resolution.error_code) == ("failed", "shopify_connection_broken")
    assert "reconnect Shopify" in resolution.error
    connection = Connection.objects.get(store=shop_order.store)
    assert connection.status == Connection.Status.BROKEN
