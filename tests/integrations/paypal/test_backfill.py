"""The disputes backfill against a local server answering as PayPal's Disputes API does:
paged lists with `next` links, details per dispute, 401/404/422/429/5xx as PayPal sends them."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from werkzeug import Response

from storedesk.commerce.models import Order
from storedesk.commerce.services import do_ingest_orders
from storedesk.disputes.models import Dispute
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.paypal.client import (
    PayPalAuthError,
    PayPalClient,
    PayPalError,
    PayPalNotFound,
    PayPalUnavailable,
)
from storedesk.integrations.paypal.services import client_for, do_backfill_disputes
from tests.commerce.builders import order_in
from tests.factories import StoreFactory
from tests.integrations.paypal.helpers import connect, dispute

pytestmark = pytest.mark.django_db

TOKEN = {
    "scope": "https://uri.paypal.com/services/disputes/read-seller",
    "access_token": "A21AAFEpH4PsADK7qSS7pSRsgzfENtu-Q1ysgEDVDESseMHBYXVJYE8ovjj68elIDy8n",
    "token_type": "Bearer",
    "app_id": "APP-80W284485P519543T",
    "expires_in": 31668,
    "nonce": "2020-04-03T15:35:36ZaYZlGvEkV4yVSz8g6bAKFoGSEzuy3CQcz3ljhibkOHg",
}


def summary(dispute_id: str) -> dict:
    """A list item: the summary PayPal returns by default (no disputed transactions)."""
    return {
        "dispute_id": dispute_id,
        "create_time": "2026-03-04T18:13:42.000Z",
        "update_time": "2026-03-04T18:13:42.000Z",
        "reason": "UNAUTHORISED",
        "status": "UNDER_REVIEW",
        "dispute_state": "UNDER_PAYPAL_REVIEW",
        "dispute_amount": {"currency_code": "USD", "value": "89.00"},
        "links": [
            {
                "href": f"https://api-m.paypal.com/v1/customer/disputes/{dispute_id}",
                "rel": "self",
                "method": "GET",
            }
        ],
    }


def page(items, next_token=None) -> dict:
    links = [
        {
            "href": "https://api-m.paypal.com/v1/customer/disputes?page_size=50",
            "rel": "self",
            "method": "GET",
        }
    ]
    if next_token:
        links.append(
            {
                "href": f"https://api-m.paypal.com/v1/customer/disputes?page_size=50&next_page_token={next_token}",
                "rel": "next",
                "method": "GET",
            }
        )
    return {"items": items, "links": links}


def paypal_error(status: int, name: str, message: str, **extra) -> Response:
    body = {"name": name, "message": message, "debug_id": "b4c4ad5fc2a9c", **extra}
    return Response(json.dumps(body), status=status, content_type="application/json")


@pytest.fixture
def paypal_api(httpserver):
    httpserver.expect_request("/v1/oauth2/token", method="POST").respond_with_json(TOKEN)
    return httpserver


@pytest.fixture
def store():
    return StoreFactory()


def connected(store, httpserver):
    return connect(store, api_base_url=httpserver.url_for(""))


def test_backfill_pages_through_every_dispute_and_stores_them(paypal_api, store):
    do_ingest_orders(
        store, [order_in(n, gateway="paypal", total=Decimal("89.00")) for n in (1, 2, 3)]
    )
    captures = list(Order.objects.order_by("pk").values_list("payments__provider_id", flat=True))
    paypal_api.expect_request(
        "/v1/customer/disputes", query_string="page_size=50"
    ).respond_with_json(page([summary("PP-D-1"), summary("PP-D-2")], next_token="NEXT2"))
    paypal_api.expect_request(
        "/v1/customer/disputes", query_string="page_size=50&next_page_token=NEXT2"
    ).respond_with_json(page([summary("PP-D-3"), summary("PP-D-4")]))
    for n, capture_id in enumerate([*captures, "UNKNOWN-CAPTURE"], start=1):
        paypal_api.expect_request(f"/v1/customer/disputes/PP-D-{n}").respond_with_json(
            dispute(
                capture_id,
                dispute_id=f"PP-D-{n}",
                reason="UNAUTHORISED",
                dispute_channel="EXTERNAL",
            )
        )
    connection = connected(store, paypal_api)

    result = do_backfill_disputes(connection, client=client_of(connection))

    assert (result.listed, result.created, len(result.unmatched)) == (4, 3, 1)
    assert result.unmatched == ["PP-D-4"]
    assert sorted(Dispute.objects.values_list("provider_id", "kind", "reason")) == [
        ("PP-D-1", "chargeback", "UNAUTHORISED"),
        ("PP-D-2", "chargeback", "UNAUTHORISED"),
        ("PP-D-3", "chargeback", "UNAUTHORISED"),
    ]
    authorised = [e[0] for e in paypal_api.log if e[0].path.startswith("/v1/customer/")]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN['access_token']}" for r in authorised)
    # Run again: nothing new, nothing changed.
    again = do_backfill_disputes(connection, client=client_of(connection))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def client_of(connection):
    return client_for(connection, sleep=lambda seconds: waits.append(seconds))


waits: list[float] = []


def test_429_waits_for_retry_after_and_5xx_is_retried(paypal_api, store):
    waits.clear()
    answers = iter(
        [
            paypal_error(
                429,
                "RATE_LIMIT_REACHED",
                "Too many requests.",
            ),
            paypal_error(503, "SERVICE_UNAVAILABLE", "Service Unavailable."),
            None,
        ]
    )

    def handler(request):
        answer = next(answers)
        if answer is not None:
            if answer.status_code == 429:
                answer.headers["Retry-After"] = "7"
            return answer
        return Response(json.dumps(page([])), content_type="application/json")

    paypal_api.expect_request("/v1/customer/disputes").respond_with_handler(handler)
    connection = connected(store, paypal_api)

    result = do_backfill_disputes(connection, client=client_of(connection))

    assert result.listed == 0
    assert waits == [7.0, 4.0]


def test_401_marks_the_connection_broken_and_stops(paypal_api, store):
    paypal_api.expect_request("/v1/customer/disputes").respond_with_response(
        paypal_error(
            401,
            "AUTHENTICATION_FAILURE",
            "Authentication failed due to invalid authentication credentials or a missing "
            "Authorization header.",
        )
    )
    connection = connected(store, paypal_api)

    with pytest.raises(PayPalAuthError):
        do_backfill_disputes(connection, client=client_of(connection))

    connection.refresh_from_db()
    assert connection.status == Connection.Status.BROKEN
    assert "AUTHENTICATION_FAILURE" in connection.broken_reason


def test_404_and_422_are_refused_with_paypal_s_words(paypal_api):
    paypal_api.expect_request("/v1/customer/disputes/PP-D-404").respond_with_response(
        paypal_error(
            404,
            "RESOURCE_NOT_FOUND",
            "The specified resource does not exist.",
            details=[{"issue": "INVALID_RESOURCE_ID"}],
        )
    )
    paypal_api.expect_request(
        "/v1/customer/disputes",
        query_string={"page_size": "50", "update_time_after": "2020-01-01T00:00:00.000Z"},
    ).respond_with_response(
        paypal_error(
            422,
            "UNPROCESSABLE_ENTITY",
            "The requested action could not be performed.",
            details=[
                {
                    "field": "update_time_after",
                    "issue": "INVALID_PARAMETER_VALUE",
                    "description": "must be within the last 180 days",
                }
            ],
        )
    )
    client = PayPalClient(paypal_api.url_for(""), "id", "secret", sleep=lambda s: None)

    with pytest.raises(PayPalNotFound, match="RESOURCE_NOT_FOUND"):
        client.get_dispute("PP-D-404")
    with pytest.raises(PayPalError) as refused:
        list(client.list_disputes(updated_after=datetime(2020, 1, 1, tzinfo=UTC)))
    assert refused.value.status == 422
    assert refused.value.details[0]["field"] == "update_time_after"


def test_5xx_that_never_clears_is_unavailable(paypal_api):
    paypal_api.expect_request("/v1/customer/disputes").respond_with_response(
        paypal_error(500, "INTERNAL_SERVER_ERROR", "An internal server error occurred.")
    )
    client = PayPalClient(paypal_api.url_for(""), "id", "secret", sleep=lambda s: None)
    with pytest.raises(PayPalUnavailable):
        list(client.list_disputes())
