"""Settings → Connections: administrators connect a system (secrets never shown back), see
each topic's health, and queue a sync; the page costs the same queries whatever it lists."""

import json
import re

import pytest
from django.test import Client

from storedesk.accounts.roles import Role
from storedesk.accounts.services import do_create_api_token
from storedesk.integrations.connections.models import Connection, InboundDelivery
from storedesk.integrations.connections.services import (
    do_apply_delivery,
    do_connect,
    do_receive_delivery,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user(Role.ADMIN, username="owner"))
    return client


@pytest.fixture
def admin_api_client(make_user):
    _token, raw_key = do_create_api_token(make_user(Role.ADMIN, username="owner-api"), name="t")
    return Client(headers={"Authorization": f"Bearer {raw_key}"})


TOKEN = "shpat_page_secret_0001"
LIST_QUERIES = 5
DETAIL_QUERIES = 8


def shop(store, domain="tiny-pearl.myshopify.com"):
    return do_connect(
        store,
        "shopify",
        config={"shop_domain": domain},
        secrets={"access_token": TOKEN, "webhook_secret": "page-secret"},
    )


def deliveries(connection, count: int, start: int = 0):
    for number in range(start, start + count):
        received = do_receive_delivery(
            connection,
            delivery_id=f"page-{number}",
            topic="refunds/create" if number % 2 else "products/create",
            body=json.dumps({"order_id": 999, "id": number}),
            object_key="order:999",
        )
        if received.delivery.status == InboundDelivery.Status.RECEIVED:
            do_apply_delivery(received.delivery.pk)  # parked: order 999 is unknown


def test_connecting_from_the_page_stores_the_secrets_encrypted_and_never_shows_them(
    admin_client, store
):
    response = admin_client.post(
        "/settings/connections/add/shopify/",
        {
            "store": store.pk,
            "shop_domain": "tiny-pearl.myshopify.com",
            "access_token": TOKEN,
            "webhook_secret": "page-secret",
        },
        follow=True,
    )
    assert response.status_code == 200
    connection = Connection.objects.get()
    page = response.content.decode()
    assert TOKEN not in page
    assert "page-secret" not in page
    assert "access_token" in page  # the names of the secrets set, not their values
    assert "/webhooks/shopify/" in page
    assert TOKEN not in connection.secrets_token


def test_a_refused_connection_keeps_no_secret_in_the_form(admin_client, store):
    response = admin_client.post(
        "/settings/connections/add/shopify/",
        {"store": store.pk, "shop_domain": "shop.example.com", "access_token": TOKEN},
    )
    assert response.status_code == 200
    assert TOKEN not in response.content.decode()
    assert "myshopify.com" in response.content.decode()
    assert not Connection.objects.exists()


def test_the_connection_page_shows_each_topic_parked_and_ignored(admin_client, store):
    connection = shop(store)
    deliveries(connection, 4)
    page = admin_client.get(f"/settings/connections/{connection.pk}/").content.decode()
    assert "refunds/create" in page
    assert "products/create" in page
    assert "ignored topic" in page
    assert "order 999 is not stored yet" in page


@pytest.mark.parametrize("rows", [2, 30])
def test_the_pages_cost_a_fixed_number_of_queries(
    admin_client, store, django_assert_num_queries, rows
):
    connection = shop(store)
    deliveries(connection, rows)
    with django_assert_num_queries(LIST_QUERIES):
        assert admin_client.get("/settings/connections/").status_code == 200
    with django_assert_num_queries(DETAIL_QUERIES):
        assert admin_client.get(f"/settings/connections/{connection.pk}/").status_code == 200


def test_sync_now_refuses_a_broken_connection_with_a_reason(admin_client, store):
    connection = shop(store)
    Connection.objects.filter(pk=connection.pk).update(status="broken", broken_reason="revoked")
    response = admin_client.post(f"/settings/connections/{connection.pk}/sync/", follow=True)
    assert "not active" in response.content.decode()


def test_the_api_never_returns_a_secret(admin_api_client, store):
    connection = shop(store)
    listed = admin_api_client.get("/api/v1/connections").json()
    detail = admin_api_client.get(f"/api/v1/connections/{connection.pk}").json()
    assert listed["items"][0]["secrets_set"] == ["access_token", "webhook_secret"]
    assert detail["config"] == {"shop_domain": "tiny-pearl.myshopify.com"}
    assert not re.search(TOKEN, str(listed) + str(detail))
    created = admin_api_client.post(
        "/api/v1/connections",
        {
            "store": store.slug,
            "system": "easypost",
            "secrets": {"api_key": "EZAK_secret", "webhook_secret": "ep-secret"},
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    assert "EZAK_secret" not in created.content.decode()
    refused = admin_api_client.post(
        "/api/v1/connections",
        {"store": store.slug, "system": "shopify", "config": {}, "secrets": {}},
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert set(refused.json()["details"]) >= {"shop_domain", "access_token"}


API_LIST_QUERIES = 5
API_DETAIL_QUERIES = 5


@pytest.mark.parametrize("rows", [2, 30])
def test_the_api_costs_a_fixed_number_of_queries(
    admin_api_client, store, django_assert_num_queries, rows
):
    connection = shop(store)
    deliveries(connection, rows)
    with django_assert_num_queries(API_LIST_QUERIES):
        assert admin_api_client.get("/api/v1/connections").status_code == 200
    with django_assert_num_queries(API_DETAIL_QUERIES):
        assert admin_api_client.get(f"/api/v1/connections/{connection.pk}").status_code == 200
