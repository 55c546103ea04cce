"""Resolutions' actions at a connected WooCommerce site, against a local server answering as
the REST API v3 does (its own example bodies and error shapes): a single-use coupon made once
per resolution, the order cancelled, and the rest left to a person with a note."""

import copy
import json
from decimal import Decimal

import pytest

from storedesk.commerce.models import Order
from storedesk.commerce.services import do_ingest_orders
from storedesk.integrations.connections.services import do_connect
from storedesk.integrations.woocommerce.platform import WooCommercePlatform
from storedesk.resolutions.platform import PlatformError, platform_for, stable_code
from tests.commerce.builders import order_in
from tests.factories import StoreFactory
from tests.shared_data import shared_json

pytestmark = pytest.mark.django_db
API = "/wp-json/wc/v3"
KEY = "resolution-41-coupon"


def example(name: str):
    return copy.deepcopy(shared_json(f"fixtures/woocommerce/rest-v3-json-examples/{name}.json"))


@pytest.fixture
def site(httpserver):
    store = StoreFactory()
    do_ingest_orders(store, [order_in(1)])
    Order.objects.update(provider_id="727")
    do_connect(
        store,
        "woocommerce",
        config={
            "site_url": "https://shop.tinypearl.example",
            "api_base_url": httpserver.url_for("").rstrip("/"),
        },
        secrets={"consumer_key": "ck_test", "consumer_secret": "cs_test", "webhook_secret": "s"},
    )
    return store


def posts(httpserver) -> list:
    return [request for request, _ in httpserver.log if request.method == "POST"]


def test_a_connected_site_gets_the_woocommerce_platform(site):
    assert isinstance(platform_for(site), WooCommercePlatform)


def test_the_coupon_is_made_once_for_the_customer(site, httpserver):
    order = Order.objects.get()
    code = stable_code("SORRY", KEY)
    made = example("coupons__create-a-coupon") | {"code": code.lower(), "amount": "15.00"}
    httpserver.expect_ordered_request(
        f"{API}/coupons", method="GET", query_string={"code": code}
    ).respond_with_json([])
    httpserver.expect_ordered_request(f"{API}/coupons", method="POST").respond_with_json(
        made, status=201
    )
    httpserver.expect_ordered_request(
        f"{API}/coupons", method="GET", query_string={"code": code}
    ).respond_with_json([made])

    first = platform_for(site).create_coupon(order, Decimal("15"), "USD", KEY)
    again = platform_for(site).create_coupon(order, Decimal("15"), "USD", KEY)

    assert first.reference == again.reference == code
    assert first.platform == "woocommerce"
    assert len(posts(httpserver)) == 1
    sent = json.loads(posts(httpserver)[0].data)
    assert sent == {
        "code": code,
        "discount_type": "fixed_cart",
        "amount": "15.00",
        "individual_use": True,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "email_restrictions": [order.email],
        "description": f"Apology for order {order.number}",
    }
    assert posts(httpserver)[0].authorization.username == "ck_test"


def test_a_coupon_made_by_a_lost_first_try_is_the_same_coupon(site, httpserver):
    httpserver.expect_request(f"{API}/coupons", method="GET").respond_with_json([])
    httpserver.expect_request(f"{API}/coupons", method="POST").respond_with_json(
        {
            "code": "woocommerce_rest_coupon_code_already_exists",
            "message": "The coupon code already exists",
            "data": {"status": 400},
        },
        status=400,
    )
    made = platform_for(site).create_coupon(Order.objects.get(), Decimal("15"), "USD", KEY)
    assert made.reference == stable_code("SORRY", KEY)


def test_the_order_is_cancelled_at_the_site(site, httpserver):
    cancelled = example("orders__update-an-order") | {"id": 727, "status": "cancelled"}
    httpserver.expect_request(
        f"{API}/orders/727", method="PUT", json={"status": "cancelled"}
    ).respond_with_json(cancelled)
    result = platform_for(site).cancel_order(Order.objects.get(), "resolution-41-cancel")
    assert result.reference == "wc-order-727-cancelled"


def test_a_revoked_key_is_a_clear_final_error(site, httpserver):
    httpserver.expect_request(f"{API}/orders/727", method="PUT").respond_with_json(
        {
            "code": "woocommerce_rest_cannot_edit",
            "message": "Sorry, you are not allowed to edit this resource.",
            "data": {"status": 401},
        },
        status=401,
    )
    with pytest.raises(PlatformError) as refused:
        platform_for(site).cancel_order(Order.objects.get(), "resolution-41-cancel")
    assert (refused.value.code, refused.value.retryable) == ("platform_not_authorised", False)


def test_reship_and_store_credit_are_left_to_a_person_with_a_note(site, httpserver):
    platform = platform_for(site)
    reship = platform.reship(Order.objects.get(), [], "resolution-41-reship")
    credit = platform.grant_store_credit(Order.objects.get(), Decimal("5"), "USD", "r-41-credit")
    assert "zero price" in reship.note
    assert "store credit" in credit.note
    assert not httpserver.log  # nothing was sent
