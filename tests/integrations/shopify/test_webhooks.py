"""POST /webhooks/shopify/: Shopify's HMAC checked against the shop's own secret (with
Shopify's published test vectors), each delivery stored once, refusals store nothing."""

import pytest
from django.db import connection
from django.test import Client

from storedesk.integrations.connections.models import InboundDelivery
from storedesk.integrations.shopify.webhooks import signature, verify
from tests.concurrency import run_at_once
from tests.factories import StoreFactory
from tests.integrations.shopify.helpers import URL, connect, fixture, post
from tests.shared_data import shared_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return connect(StoreFactory())


def test_shopify_s_own_vectors_verify():
    vectors = shared_json("fixtures/shopify/webhook-hmac-test-vectors.json")["vectors"]
    for vector in vectors:
        body = vector["raw_body"].encode()
        assert signature(vector["secret"], body) == vector["expected_header"]
        assert verify(vector["secret"], body, vector["expected_header"])
        assert not verify(vector["secret"], body + b" ", vector["expected_header"])
        assert not verify("other", body, vector["expected_header"])


def test_a_signed_delivery_is_stored_once_with_its_topic_and_raw_body(client, shop):
    order = fixture("order")
    first = post(client, "orders/create", order, webhook_id="w-1")
    again = post(client, "orders/create", order, webhook_id="w-1")
    assert first.status_code == 200
    assert first.json()["duplicate"] is False
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    delivery = InboundDelivery.objects.get()
    assert (delivery.system, delivery.delivery_id, delivery.topic) == (
        "shopify",
        "w-1",
        "orders/create",
    )
    assert delivery.object_key == "order:450789469"
    assert delivery.occurred_at is not None


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"X-Shopify-Hmac-Sha256": "AAAA"}, "bad_signature"),
        ({"X-Shopify-Hmac-Sha256": ""}, "bad_signature"),
        ({"X-Shopify-Shop-Domain": "stranger.myshopify.com"}, "unknown_shop"),
        ({"X-Shopify-Shop-Domain": ""}, "unknown_shop"),
    ],
)
def test_forged_missing_or_unknown_is_401_and_nothing_is_stored(client, shop, headers, code):
    response = post(client, "orders/create", fixture("order"), **headers)
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert not InboundDelivery.objects.exists()


def test_signed_with_another_shop_s_secret_is_refused(client, shop):
    response = post(client, "orders/create", fixture("order"), secret="someone-else")
    assert response.status_code == 401
    assert not InboundDelivery.objects.exists()


def test_malformed_json_is_400_and_nothing_is_stored(client, shop):
    for body in (b"{not json", b"[1, 2]", b'{"a": NaN}', b"\xff\xfe"):
        response = post(client, "orders/create", body)
        assert response.status_code == 400, body
        assert response.json()["code"] == "malformed_json"
    assert not InboundDelivery.objects.exists()


def test_a_body_over_one_mebibyte_is_413(client, shop):
    body = b'{"note": "' + b"x" * (1024 * 1024) + b'"}'
    response = post(client, "orders/create", body)
    assert response.status_code == 413
    assert not InboundDelivery.objects.exists()


def test_missing_webhook_id_is_refused(client, shop):
    response = post(client, "orders/create", fixture("order"), webhook_id=" ")
    assert response.status_code == 400
    assert not InboundDelivery.objects.exists()


def test_an_unknown_topic_is_stored_as_ignored(client, shop):
    response = post(client, "products/create", fixture("product"))
    assert response.status_code == 200
    delivery = InboundDelivery.objects.get()
    assert delivery.status == InboundDelivery.Status.IGNORED
    assert delivery.outcome == "unknown_topic"


def test_get_is_405(client, shop):
    assert client.get(URL).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_posted_at_once_is_stored_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections (PostgreSQL); bench/connectors.py races SQLite")
    connect(StoreFactory())
    order = fixture("order")

    def deliver():
        return post(Client(), "orders/create", order, webhook_id="race-1").status_code

    assert run_at_once(*[deliver] * 6) == [200] * 6
    assert InboundDelivery.objects.filter(delivery_id="race-1").count() == 1
