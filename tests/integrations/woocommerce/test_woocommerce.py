"""WooCommerce: the signature vectors, webhooks stored once and applied as orders (an older
version never overwrites a newer one), and the orders?modified_after= backfill against a local
server answering as the REST API v3 does (pages, 401, 404, 429 Retry-After, 5xx)."""

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from werkzeug import Response

from storedesk.commerce.models import Order
from storedesk.integrations.connections.models import Connection, InboundDelivery
from storedesk.integrations.connections.services import do_apply_delivery, do_connect
from storedesk.integrations.woocommerce.client import WooCommerceAuthError, WooCommerceError
from storedesk.integrations.woocommerce.services import client_for, do_sync_orders
from storedesk.integrations.woocommerce.webhooks import signature, verify
from tests.factories import StoreFactory
from tests.shared_data import shared_json, shared_path

pytestmark = pytest.mark.django_db

URL = "/webhooks/woocommerce/"
SITE = "https://shop.tinypearl.example"
SECRET = "wc-webhook-secret"


def example(name: str):
    return copy.deepcopy(shared_json(f"fixtures/woocommerce/rest-v3-json-examples/{name}.json"))


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def site(store, httpserver):
    return do_connect(
        store,
        "woocommerce",
        config={"site_url": SITE, "api_base_url": httpserver.url_for("").rstrip("/")},
        secrets={"consumer_key": "ck_test", "consumer_secret": "cs_test", "webhook_secret": SECRET},
    )


def post(client, payload, *, topic="order.created", delivery="1", secret=SECRET, source=SITE + "/"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={
            "X-WC-Webhook-Source": source,
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": topic.split(".")[-1],
            "X-WC-Webhook-ID": "12",
            "X-WC-Webhook-Delivery-ID": delivery,
            "X-WC-Webhook-Signature": signature(secret, body),
        },
    )


def test_signature_vectors():
    data = shared_json("fixtures/woocommerce/webhook-signature-test-vector.SELF-COMPUTED.json")
    for vector in data["vectors"]:
        if "raw_body_file" in vector:
            body = shared_path("fixtures/woocommerce/" + vector["raw_body_file"]).read_bytes()
        else:
            body = vector["raw_body"].encode()
        assert signature(vector["secret"], body) == vector["expected_header"]
        assert verify(vector["secret"], body, vector["expected_header"])
        assert not verify(vector["secret"], body + b" ", vector["expected_header"])


def test_order_webhook_is_stored_once_and_becomes_an_order(client, site):
    order = example("orders__retrieve-an-order")

    first = post(client, order)
    again = post(client, order)

    assert first.status_code == 200
    assert again.json()["duplicate"] is True
    delivery = InboundDelivery.objects.get()
    assert do_apply_delivery(delivery.pk) == "created"
    stored = Order.objects.get()
    assert (stored.number, stored.provider_id, stored.total_price) == (
        "#727",
        "727",
        Decimal("29.35"),
    )
    assert (stored.financial_status, stored.fulfillment_status) == ("paid", "unfulfilled")
    assert stored.created_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert stored.email == "john.doe@example.com"
    assert stored.shipping_address["city"] == "San Francisco"
    titles = list(stored.line_items.order_by("pk").values_list("title", "quantity", "price"))
    assert titles == [
        ("Woo Single #1", 2, Decimal("3.00")),
        ("Ship Your Idea – Color: Black, Size: M Test", 1, Decimal("12.00")),
    ]


def test_a_later_update_applies_and_an_older_one_does_not(client, site):
    order = example("orders__retrieve-an-order")
    post(client, order, delivery="1")
    completed = {**order, "status": "completed", "date_modified_gmt": "2017-03-23T10:00:00"}
    stale = {**order, "status": "on-hold", "date_modified_gmt": "2017-03-22T19:30:00"}
    post(client, completed, topic="order.updated", delivery="2")
    post(client, stale, topic="order.updated", delivery="3")

    outcomes = [
        do_apply_delivery(pk)
        for pk in InboundDelivery.objects.order_by("pk").values_list("pk", flat=True)
    ]

    assert outcomes == ["created", "updated", "stale"]
    assert Order.objects.get().fulfillment_status == "fulfilled"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"secret": "other"}, 401, "bad_signature"),
        ({"source": "https://stranger.example/"}, 401, "unknown_site"),
    ],
)
def test_forged_or_unknown_is_401_and_nothing_is_stored(client, site, change, status, code):
    response = post(client, example("orders__retrieve-an-order"), **change)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not InboundDelivery.objects.exists()


def test_the_ping_is_answered_and_not_stored(client, site):
    response = post(client, b"webhook_id=12")
    assert response.status_code == 200
    assert response.json()["ping"] is True
    assert not InboundDelivery.objects.exists()


def test_malformed_json_is_400(client, site):
    assert post(client, b'{"id": 727,').status_code == 400
    assert not InboundDelivery.objects.exists()


# --- backfill ----------------------------------------------------------------------------------


def orders_page(numbers, modified):
    base = example("orders__retrieve-an-order")
    return [{**base, "id": n, "number": str(n), "date_modified_gmt": modified} for n in numbers]


def test_backfill_pages_through_orders_modified_after_and_resumes(site, httpserver):
    waits = []
    httpserver.expect_request(
        "/wp-json/wc/v3/orders",
        query_string={
            "per_page": "100",
            "page": "1",
            "orderby": "modified",
            "order": "asc",
            "modified_after": "2017-01-01T00:00:00",
            "dates_are_gmt": "true",
        },
    ).respond_with_json(
        orders_page([801, 802], "2017-03-22T19:28:08"),
        headers={"X-WP-Total": "3", "X-WP-TotalPages": "2"},
    )
    answers = iter(
        [
            Response(
                json.dumps({"code": "too_many", "message": "Slow down"}),
                status=429,
                headers={"Retry-After": "3"},
                content_type="application/json",
            ),
            None,
        ]
    )

    def second_page(request):
        answer = next(answers)
        if answer is not None:
            return answer
        return Response(
            json.dumps(orders_page([803], "2017-03-24T08:00:00")),
            headers={"X-WP-TotalPages": "2"},
            content_type="application/json",
        )

    httpserver.expect_request(
        "/wp-json/wc/v3/orders",
        query_string={
            "per_page": "100",
            "page": "2",
            "orderby": "modified",
            "order": "asc",
            "modified_after": "2017-01-01T00:00:00",
            "dates_are_gmt": "true",
        },
    ).respond_with_handler(second_page)

    result = do_sync_orders(
        site, since=datetime(2017, 1, 1, tzinfo=UTC), client=client_for(site, sleep=waits.append)
    )

    assert (result.seen, result.created) == (3, 3)
    assert waits == [3.0]
    assert sorted(Order.objects.values_list("number", flat=True)) == ["#801", "#802", "#803"]
    site.refresh_from_db()
    assert site.sync_state["modified_after"] == "2017-03-24T08:00:00+00:00"
    assert all(r.authorization.username == "ck_test" for r, _ in httpserver.log)


def test_backfill_401_breaks_the_connection(site, httpserver):
    httpserver.expect_request("/wp-json/wc/v3/orders").respond_with_json(
        {
            "code": "woocommerce_rest_cannot_view",
            "message": "Sorry, you cannot list resources.",
            "data": {"status": 401},
        },
        status=401,
    )
    with pytest.raises(WooCommerceAuthError):
        do_sync_orders(site, client=client_for(site, sleep=lambda s: None))
    assert Connection.objects.get(pk=site.pk).status == Connection.Status.BROKEN


def test_backfill_404_is_refused(site, httpserver):
    httpserver.expect_request("/wp-json/wc/v3/orders").respond_with_json(
        {
            "code": "rest_no_route",
            "message": "No route was found matching the URL and request method.",
            "data": {"status": 404},
        },
        status=404,
    )
    with pytest.raises(WooCommerceError, match="rest_no_route"):
        do_sync_orders(site, client=client_for(site, sleep=lambda s: None))
    assert Connection.objects.get(pk=site.pk).status == Connection.Status.ACTIVE


def test_backfill_5xx_is_retried_with_backoff(site, httpserver):
    waits = []
    answers = iter([500, 502, 200])

    def handler(request):
        status = next(answers)
        if status != 200:
            return Response(
                json.dumps({"code": "internal_server_error", "message": "Error"}),
                status=status,
                content_type="application/json",
            )
        return Response("[]", headers={"X-WP-TotalPages": "1"}, content_type="application/json")

    httpserver.expect_request("/wp-json/wc/v3/orders").respond_with_handler(handler)

    result = do_sync_orders(site, client=client_for(site, sleep=waits.append))

    assert result.seen == 0
    assert waits == [2.0, 4.0]
