"""Backfill and reconcile against a local server answering like Shopify's Admin GraphQL API:
the bulk result streamed and put back together, resumable after a crash, throttling waited
out, a revoked token breaking the connection, a failed page never skipped."""

import gzip
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from graphql import build_client_schema, parse, validate

from storedesk.commerce.models import LineItem, Order, Payment, Refund, Shipment
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.shopify import graphql as documents
from storedesk.integrations.shopify.sync import SyncFailed, backfill, reconcile
from tests.factories import StoreFactory
from tests.integrations.shopify.fake_admin import (
    FakeAdmin,
    bulk_jsonl,
    data,
    line_item_rows,
    order_node,
    server_error,
    throttled,
    too_many,
    unauthorized,
)
from tests.integrations.shopify.helpers import connect
from tests.shared_data import shared_path

pytestmark = pytest.mark.django_db
OPERATION = "gid://shopify/BulkOperation/720918"


@pytest.fixture
def admin(httpserver):
    return FakeAdmin(httpserver)


@pytest.fixture
def shop(admin):
    return connect(StoreFactory(), api_base_url=admin.base_url)


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def test_every_document_is_valid_against_shopify_s_schema():
    path = shared_path("fixtures/shopify/graphql/admin_schema_2025-01.json.gz")
    raw = json.loads(gzip.decompress(path.read_bytes()))
    introspection = raw.get("data", raw)
    # graphql-core refuses a schema whose implementations are deprecated where the interface
    # is not (Shopify's is); deprecation does not matter to validity, so it is dropped here.
    for kind in introspection["__schema"]["types"]:
        for field in kind.get("fields") or ():
            field["isDeprecated"], field["deprecationReason"] = False, None
    schema = build_client_schema(introspection)
    for document in (
        documents.bulk_orders_query("updated_at:>='2026-01-01T00:00:00+00:00'"),
        documents.RUN_BULK,
        documents.CURRENT_BULK,
        documents.BULK_STATUS,
        documents.ORDERS_PAGE,
    ):
        assert validate(schema, parse(document)) == []


def bulk_script(admin, httpserver, jsonl: str):
    httpserver.expect_request("/bulk/result.jsonl").respond_with_data(jsonl)
    url = httpserver.url_for("/bulk/result.jsonl")
    admin.on(
        "RunBulk",
        data(
            {
                "bulkOperationRunQuery": {
                    "bulkOperation": {"id": OPERATION, "status": "CREATED"},
                    "userErrors": [],
                }
            }
        ),
    )
    running = {
        "id": OPERATION,
        "status": "RUNNING",
        "errorCode": None,
        "objectCount": "3",
        "url": None,
        "partialDataUrl": None,
        "createdAt": "2026-01-06T00:00:00Z",
    }
    admin.on(
        "BulkStatus",
        data({"node": running}),
        data({"node": running | {"status": "COMPLETED", "url": url, "objectCount": "9"}}),
    )


def test_backfill_streams_the_bulk_result_and_ingests_whole_orders(admin, httpserver, shop):
    bulk_script(admin, httpserver, bulk_jsonl([1, 2, 3], refunded="50.00"))
    sleeps = Sleeps()
    result = backfill(shop, batch_size=2, sleep=sleeps, poll_seconds=0.5)
    assert result.orders_created == 3
    assert result.refunds_created == 3
    assert not result.rejected
    order = Order.objects.get(number="#1001")
    assert order.line_items.count() == 2
    assert order.provider_id == "5001"
    assert order.financial_status == "partially_refunded"
    assert order.total_refunded == Decimal("50.00")
    assert Payment.objects.get(order=order).provider_id == "90001"
    assert Shipment.objects.get(order=order).status == "in_transit"
    assert sleeps == [0.5]  # polled once while RUNNING
    shop.refresh_from_db()
    assert "bulk" not in shop.sync_state
    assert shop.sync_state["reconciled_until"]
    assert shop.last_synced_at is not None
    assert "updated_at:>=" not in admin.served("RunBulk")[0]["query"]


def test_a_crashed_backfill_resumes_after_its_last_batch_and_stores_nothing_twice(
    admin, httpserver, shop
):
    bulk_script(admin, httpserver, bulk_jsonl(range(1, 6)))
    from urllib.request import urlopen

    from storedesk.integrations.shopify import sync

    def dropped_after_lines(limit):
        def open_url(url, timeout):
            response = urlopen(url, timeout=timeout)  # noqa: S310 - the local test server

            class Cut:
                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    response.close()

                def __iter__(self):
                    for number, line in enumerate(response, 1):
                        if number > limit:
                            raise ConnectionResetError("connection reset by peer")
                        yield line

            return Cut()

        return open_url

    with pytest.raises(ConnectionResetError):
        backfill(shop, batch_size=2, sleep=Sleeps(), open_url=dropped_after_lines(10))
    shop.refresh_from_db()
    assert shop.sync_state["bulk"]["lines_done"] == 6  # orders 1 and 2, three lines each
    assert Order.objects.count() == 2
    result = backfill(shop, batch_size=2, sleep=Sleeps())
    assert result.orders_created == 3
    assert Order.objects.count() == 5
    assert LineItem.objects.count() == 10
    assert len(admin.served("RunBulk")) == 1  # the same operation, followed to its end
    assert sync.BATCH


def test_bulk_user_errors_are_reported(admin, shop):
    admin.on(
        "RunBulk",
        data(
            {
                "bulkOperationRunQuery": {
                    "bulkOperation": None,
                    "userErrors": [{"field": ["query"], "message": "Invalid bulk query: orders"}],
                }
            }
        ),
    )
    admin.on("CurrentBulk", data({"currentBulkOperation": None}))
    with pytest.raises(SyncFailed, match="Invalid bulk query"):
        backfill(shop, sleep=Sleeps())


def test_a_revoked_token_breaks_the_connection_and_stops(admin, shop):
    admin.on("RunBulk", unauthorized())
    with pytest.raises(SyncFailed):
        backfill(shop, sleep=Sleeps())
    shop.refresh_from_db()
    assert shop.status == Connection.Status.BROKEN
    assert "401" in shop.broken_reason
    with pytest.raises(CommandError, match="broken"):
        call_command("sync", "shopify", "--store", shop.store.slug)
    assert len(admin.requests) == 1


def page(numbers, *, next_cursor=None, updated="2026-01-06T10:00:00Z", **extensions):
    edges = []
    for number in numbers:
        node = order_node(number, updated=updated)
        node["lineItems"] = {
            "edges": [
                {"node": {k: v for k, v in row.items() if k != "__parentId"}}
                for row in line_item_rows(number)
            ]
        }
        edges.append({"cursor": f"c{number}", "node": node})
    return data(
        {
            "orders": {
                "pageInfo": {
                    "hasNextPage": next_cursor is not None,
                    "endCursor": next_cursor or f"c{numbers[-1]}",
                },
                "edges": edges,
            }
        },
        **extensions,
    )


def test_reconcile_pages_through_updates_waiting_out_every_limit(admin, shop):
    admin.on(
        "OrdersPage",
        too_many("2.5"),
        page([1, 2], next_cursor="cursor-2", available=60.0),
        throttled(available=10.0, requested=502),
        page([3]),
    )
    sleeps = Sleeps()
    result = reconcile(shop, page_size=2, sleep=sleeps)
    assert result.orders_created == 3
    assert result.pages == 2
    assert sleeps == [2.5, 0.4, 4.92]  # Retry-After; budget nearly spent; THROTTLED refill
    cursors = [variables["after"] for variables in admin.served("OrdersPage")]
    assert cursors == [None, None, "cursor-2", "cursor-2"]  # the throttled page asked again
    assert "updated_at:>=" in admin.served("OrdersPage")[0]["query"]


def test_reconcile_brings_known_orders_up_to_date(admin, shop):
    admin.on("OrdersPage", page([1]))
    reconcile(shop, sleep=Sleeps())
    admin.script["OrdersPage"].clear()
    admin.on("OrdersPage", page([1], updated="2026-01-07T10:00:00Z"))
    first = order_node(1, updated="2026-01-07T10:00:00Z", refunded="9.94")
    first["displayFinancialStatus"] = "PARTIALLY_REFUNDED"
    first["lineItems"] = {"edges": []}
    admin.script["OrdersPage"].clear()
    admin.on(
        "OrdersPage",
        data(
            {
                "orders": {
                    "pageInfo": {"hasNextPage": False, "endCursor": "c1"},
                    "edges": [{"node": first}],
                }
            }
        ),
    )
    result = reconcile(shop, sleep=Sleeps())
    assert result.orders_updated == 1
    assert result.refunds_created == 1
    assert Refund.objects.get().amount == Decimal("9.94")
    assert Order.objects.get().financial_status == "partially_refunded"


def test_a_page_that_keeps_failing_is_retried_by_the_next_run_not_skipped(admin, shop):
    admin.on("OrdersPage", page([1], next_cursor="cursor-1"), server_error(503))
    with pytest.raises(SyncFailed, match="resumes at the same page"):
        reconcile(shop, sleep=Sleeps())
    shop.refresh_from_db()
    assert shop.sync_state["reconcile_cursor"] == "cursor-1"
    admin.script["OrdersPage"].clear()
    admin.on("OrdersPage", page([2]))
    reconcile(shop, sleep=Sleeps())
    assert admin.served("OrdersPage")[-1]["after"] == "cursor-1"
    assert Order.objects.count() == 2
    shop.refresh_from_db()
    assert "reconcile_cursor" not in shop.sync_state
