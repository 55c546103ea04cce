"""The captured-payments backfill through the official SDK's transaction search
(GET /v1/reporting/transactions) against a local server answering as PayPal does: 31-day
windows, every page, a capture of a known order becomes its payment, resumable after an outage,
a revoked secret breaks the connection."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from werkzeug import Response

from storedesk.commerce.models import Order, Payment
from storedesk.commerce.services import do_ingest_orders
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.paypal.client import PayPalError
from storedesk.integrations.paypal.services import do_backfill_captures
from tests.commerce.builders import order_in
from tests.factories import StoreFactory
from tests.integrations.paypal.helpers import connect
from tests.integrations.paypal.test_backfill import TOKEN

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 1, tzinfo=UTC)
SINCE = datetime(2026, 1, 1, tzinfo=UTC)  # two windows: Jan 1 – Feb 1, Feb 1 – Mar 1


def transaction(transaction_id: str, invoice: str, value="20.00", code="T0006", status="S"):
    """One `transaction_details` item as the Transaction Search API lists it."""
    return {
        "transaction_info": {
            "paypal_account_id": "6STWC2LSUYYYE",
            "transaction_id": transaction_id,
            "transaction_event_code": code,
            "transaction_initiation_date": "2026-01-10T10:00:00+0000",
            "transaction_updated_date": "2026-01-10T10:00:02+0000",
            "transaction_amount": {"currency_code": "USD", "value": value},
            "fee_amount": {"currency_code": "USD", "value": "-0.88"},
            "transaction_status": status,
            "invoice_id": invoice,
            "protection_eligibility": "01",
        }
    }


def search_page(items, page: int, total_pages: int) -> dict:
    return {
        "transaction_details": items,
        "account_number": "XZXSPECPDZHZU",
        "start_date": "2026-01-01T00:00:00+0000",
        "end_date": "2026-02-01T00:00:00+0000",
        "last_refreshed_datetime": "2026-02-28T01:59:59+0000",
        "page": page,
        "total_items": len(items),
        "total_pages": total_pages,
        "links": [],
    }


@pytest.fixture
def account(httpserver):
    store = StoreFactory()
    orders = [replace(order_in(n, paid=False), shipments=()) for n in (1, 2)]
    do_ingest_orders(store, orders)
    httpserver.expect_request("/v1/oauth2/token", method="POST").respond_with_json(TOKEN)
    return connect(store, api_base_url=httpserver.url_for("").rstrip("/"))


def expect_search(httpserver, start: str, end: str, page: int):
    return httpserver.expect_request(
        "/v1/reporting/transactions",
        method="GET",
        query_string={
            "start_date": start,
            "end_date": end,
            "fields": "transaction_info",
            "page_size": "500",
            "page": str(page),
        },
    )


def serve(httpserver, *, outage: bool = False):
    first, second = Order.objects.order_by("pk").values_list("number", flat=True)
    expect_search(httpserver, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", 1).respond_with_json(
        search_page(
            [
                transaction("5O190127TN364715T", first),
                transaction("1AB23456CD789012E", "#NOT-OURS"),
                transaction("9XX11111YY222222Z", first, value="-20.00", code="T1107"),
            ],
            1,
            2,
        )
    )
    later = expect_search(httpserver, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", 2)
    if outage:
        later.respond_with_response(
            Response(json.dumps({"name": "INTERNAL_SERVER_ERROR"}), status=500)
        )
    else:
        later.respond_with_json(search_page([transaction("7RT12345AB678901C", second)], 2, 2))
    expect_search(httpserver, "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", 1).respond_with_json(
        search_page([], 1, 0)
    )


def test_payments_received_become_the_orders_payments(account, httpserver):
    serve(httpserver)
    result = do_backfill_captures(account, since=SINCE, now=NOW)
    first, second = Order.objects.order_by("pk")
    payment = Payment.objects.get(provider_id="5O190127TN364715T")
    assert (payment.order, payment.gateway, payment.amount, payment.status) == (
        first,
        "paypal",
        Decimal("20.00"),
        "succeeded",
    )
    assert Payment.objects.get(provider_id="7RT12345AB678901C").order == second
    assert result.listed == 3  # the refund (T1107, negative) is not a payment received
    assert [line.split(":")[0] for line in result.waiting] == ["1AB23456CD789012E"]
    account.refresh_from_db()
    assert "paypal_captures_from" not in account.sync_state
    assert account.last_synced_at is not None


def test_an_outage_resumes_at_the_page_that_failed(account, httpserver):
    serve(httpserver, outage=True)
    with pytest.raises(PayPalError):
        do_backfill_captures(account, since=SINCE, now=NOW)
    account.refresh_from_db()
    assert account.sync_state["paypal_captures_page"] == 2
    assert Payment.objects.filter(provider_id="5O190127TN364715T").exists()

    httpserver.clear()
    httpserver.expect_request("/v1/oauth2/token", method="POST").respond_with_json(TOKEN)
    second = Order.objects.order_by("pk").values_list("number", flat=True)[1]
    expect_search(httpserver, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", 2).respond_with_json(
        search_page([transaction("7RT12345AB678901C", second)], 2, 2)
    )
    expect_search(httpserver, "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", 1).respond_with_json(
        search_page([], 1, 0)
    )
    result = do_backfill_captures(account, since=SINCE, now=NOW)
    assert result.listed == 1  # only what was left
    assert Payment.objects.get(provider_id="7RT12345AB678901C").order.number == second


def test_a_revoked_secret_breaks_the_connection(account, httpserver):
    httpserver.expect_request("/v1/reporting/transactions").respond_with_json(
        {"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed.", "links": []},
        status=401,
    )
    with pytest.raises(PayPalError):
        do_backfill_captures(account, since=SINCE, now=NOW)
    account.refresh_from_db()
    assert account.status == Connection.Status.BROKEN
