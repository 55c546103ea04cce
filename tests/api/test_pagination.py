"""Keyset pagination: every row once across pages, stable under inserts, cursors tamper-proof."""

import base64
from datetime import timedelta

import pytest

from storedesk.commerce.models import Order
from tests.factories import BASE_TIME, OrderFactory, PaymentFactory

ORDERS = "/api/v1/orders"


def _walk(client, url, limit, **params) -> tuple[list[int], int]:
    """Follow next_cursor to the end; return the ids seen and the number of pages."""
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, query)
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["items"]) <= limit
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.fixture
def many_orders(db):
    """57 orders, several sharing a timestamp, so ties on created_at must break on id."""
    return [OrderFactory(created_at=BASE_TIME + timedelta(hours=n // 3)) for n in range(57)]


def test_walking_the_pages_sees_every_order_once_newest_first(agent_api, many_orders):
    seen, pages = _walk(agent_api, ORDERS, limit=10)

    expected = [o.id for o in sorted(many_orders, key=lambda o: (o.created_at, o.id), reverse=True)]
    assert seen == expected
    assert pages == 6


def test_exact_multiple_of_limit_ends_without_an_empty_page(agent_api, db):
    for n in range(6):
        OrderFactory(created_at=BASE_TIME + timedelta(minutes=n))

    seen, pages = _walk(agent_api, ORDERS, limit=3)

    assert (len(seen), pages) == (6, 2)


def test_default_limit_is_50(agent_api, many_orders):
    body = agent_api.get(ORDERS).json()

    assert len(body["items"]) == 50
    assert body["next_cursor"]


def test_limit_200_is_allowed(agent_api, many_orders):
    body = agent_api.get(ORDERS, {"limit": 200}).json()

    assert len(body["items"]) == 57
    assert body["next_cursor"] is None


def test_pages_are_stable_when_new_orders_arrive(agent_api, many_orders):
    first = agent_api.get(ORDERS, {"limit": 20}).json()
    for n in range(5):  # new orders land in front of the list while the caller pages
        OrderFactory(created_at=BASE_TIME + timedelta(days=30, minutes=n))

    rest, _ = _walk(agent_api, ORDERS, limit=20, cursor=first["next_cursor"])

    seen = [item["id"] for item in first["items"]] + rest
    assert sorted(seen) == sorted(o.id for o in many_orders)
    assert len(seen) == len(set(seen))


def test_paging_keeps_filters(agent_api, many_orders):
    for order in many_orders[::2]:
        Order.objects.filter(pk=order.pk).update(financial_status="refunded")

    seen, _ = _walk(agent_api, ORDERS, limit=4, financial_status="refunded")

    assert sorted(seen) == sorted(o.id for o in many_orders[::2])


def test_payments_page_over_created_at_and_id(agent_api, db):
    payments = [PaymentFactory(created_at=BASE_TIME + timedelta(hours=n // 2)) for n in range(9)]

    seen, _ = _walk(agent_api, "/api/v1/payments", limit=2)

    assert seen == [
        p.id for p in sorted(payments, key=lambda p: (p.created_at, p.id), reverse=True)
    ]


def _tamper(cursor: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[3] = ord("9") if raw[3] != ord("9") else ord("8")  # change the key, keep the signature
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def _forged(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    "make_cursor",
    [
        _tamper,
        lambda cursor: cursor[:-2],
        lambda cursor: cursor + "AAAA",
        lambda cursor: "not-a-cursor",
        lambda cursor: "%%%",
        lambda cursor: _forged(b'["2026-03-02T15:00:00+00:00",1]'),
        lambda cursor: _forged(b"\xff\xfe\xfd"),
    ],
)
def test_tampered_or_foreign_cursor_is_400(agent_api, many_orders, make_cursor):
    cursor = agent_api.get(ORDERS, {"limit": 5}).json()["next_cursor"]

    response = agent_api.get(ORDERS, {"cursor": make_cursor(cursor)})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"
    assert response.json()["details"] == {"field": "cursor"}


def test_cursor_of_another_list_is_400(agent_api, many_orders):
    cursor = agent_api.get(ORDERS, {"limit": 5}).json()["next_cursor"]

    response = agent_api.get("/api/v1/payments", {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"
