"""The Stripe backfill: charges and disputes listed through the official SDK's auto-pagination
from a local server answering as Stripe's list endpoints do (`object: list`, `has_more`,
`starting_after`), applied like their webhook events, resumable after an outage, and a revoked
key marks the connection broken."""

import json
from dataclasses import replace
from decimal import Decimal

import pytest
import stripe
from werkzeug import Response

from storedesk.commerce.models import Order, Payment, Refund
from storedesk.commerce.services import do_ingest_orders
from storedesk.disputes.models import Dispute
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import do_connect
from storedesk.integrations.stripe import backfill
from tests.commerce.builders import order_in
from tests.factories import StoreFactory
from tests.integrations.test_stripe_webhooks import DJ_STRIPE
from tests.shared_data import shared_json

pytestmark = pytest.mark.django_db
KEY = "sk_test_backfill_51H"


def charge(charge_id: str, order_number: str | None, **changes) -> dict:
    body = shared_json(f"{DJ_STRIPE}/charge_ch_fakefakefakefakefake0001.json")
    metadata = {"order_number": order_number} if order_number else {}
    return body | {"id": charge_id, "metadata": metadata, "payment_intent": None} | changes


def dispute(charge_id: str) -> dict:
    body = shared_json(f"{DJ_STRIPE}/dispute_dp_fakefakefakefake01.json")
    return body | {"charge": charge_id, "payment_intent": None}


def page(url: str, objects: list[dict], has_more: bool) -> str:
    return json.dumps({"object": "list", "url": url, "has_more": has_more, "data": objects})


@pytest.fixture
def account(httpserver):
    store = StoreFactory()
    orders = [
        replace(order_in(n, total=Decimal("20.00"), paid=False), shipments=()) for n in (1, 2)
    ]
    do_ingest_orders(store, orders)
    return do_connect(
        store,
        "stripe",
        config={"account_id": "acct_1Backfill", "api_base_url": httpserver.url_for("").rstrip("/")},
        secrets={"api_key": KEY},
    )


def numbers():
    return list(Order.objects.order_by("pk").values_list("number", flat=True))


def serve_lists(httpserver, *, second_page: Response | None = None):
    first, second = numbers()
    httpserver.expect_request(
        "/v1/charges",
        method="GET",
        query_string={"limit": "100"},
        headers={"Authorization": f"Bearer {KEY}"},
    ).respond_with_data(
        page(
            "/v1/charges",
            [
                charge("ch_A", first, amount_refunded=500, refunded=False),
                charge("ch_B", None),  # for no order of ours
            ],
            has_more=True,
        ),
        content_type="application/json",
    )
    later = httpserver.expect_request(
        "/v1/charges", method="GET", query_string={"limit": "100", "starting_after": "ch_B"}
    )
    if second_page is not None:
        later.respond_with_response(second_page)
    else:
        later.respond_with_data(
            page("/v1/charges", [charge("ch_C", second)], has_more=False),
            content_type="application/json",
        )
    httpserver.expect_request(
        "/v1/disputes", method="GET", query_string={"limit": "100"}
    ).respond_with_data(
        page("/v1/disputes", [dispute("ch_A")], has_more=False), content_type="application/json"
    )


def test_every_page_of_charges_and_disputes_is_applied(account, httpserver):
    serve_lists(httpserver)
    result = backfill.do_backfill(account)
    assert (result.charges, result.disputes) == (3, 1)
    first, second = Order.objects.order_by("pk")
    assert Payment.objects.get(provider_id="ch_A").order == first
    assert Payment.objects.get(provider_id="ch_C").order == second
    assert not Payment.objects.filter(provider_id="ch_B").exists()
    assert [line.split(":")[0] for line in result.waiting] == ["ch_B"]
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("5.00")]
    disputed = Dispute.objects.get()
    assert (disputed.provider_id, disputed.payment.provider_id) == (
        "dp_1JAyTwJSZQVUcJYgPqasUEn1",
        "ch_A",
    )
    account.refresh_from_db()
    assert account.last_synced_at is not None
    assert "stripe_charges_after" not in account.sync_state
    # a second run changes nothing
    again = backfill.do_backfill(account)
    assert again.outcomes.get("recorded", 0) == 0
    assert Payment.objects.filter(provider_id__in=["ch_A", "ch_B", "ch_C"]).count() == 2
    assert Refund.objects.count() == 1


def test_an_outage_mid_list_resumes_after_the_last_object_applied(account, httpserver, monkeypatch):
    monkeypatch.setattr(backfill, "CHECKPOINT_EVERY", 1)
    error = {"error": {"type": "api_error", "message": "Something went wrong on Stripe's end."}}
    serve_lists(httpserver, second_page=Response(json.dumps(error), status=500))
    quick = stripe.StripeClient(
        KEY, base_addresses={"api": httpserver.url_for("").rstrip("/")}, max_network_retries=0
    )
    with pytest.raises(stripe.APIError):
        backfill.do_backfill(account, client=quick)
    account.refresh_from_db()
    assert account.sync_state["stripe_charges_after"] == "ch_B"
    assert Payment.objects.filter(provider_id="ch_A").exists()

    httpserver.clear()
    first, second = numbers()
    httpserver.expect_ordered_request(
        "/v1/charges", method="GET", query_string={"limit": "100", "starting_after": "ch_B"}
    ).respond_with_data(
        page("/v1/charges", [charge("ch_C", second)], has_more=False),
        content_type="application/json",
    )
    httpserver.expect_ordered_request(
        "/v1/disputes", method="GET", query_string={"limit": "100"}
    ).respond_with_data(page("/v1/disputes", [], has_more=False), content_type="application/json")
    result = backfill.do_backfill(account)
    assert result.charges == 1  # only what was left
    assert Payment.objects.get(provider_id="ch_C").order.number == second
    account.refresh_from_db()
    assert "stripe_charges_after" not in account.sync_state


def test_a_revoked_key_marks_the_connection_broken(account, httpserver):
    httpserver.expect_request("/v1/charges").respond_with_json(
        {
            "error": {
                "type": "invalid_request_error",
                "message": "Invalid API Key provided: sk_test_****51H",
            }
        },
        status=401,
    )
    with pytest.raises(stripe.AuthenticationError):
        backfill.do_backfill(account)
    account.refresh_from_db()
    assert account.status == Connection.Status.BROKEN
    assert "Invalid API Key" in account.broken_reason


def test_sync_now_runs_the_stripe_backfill(account):
    from storedesk.integrations.connections.services import syncer_for
    from storedesk.integrations.stripe.tasks import sync_stripe

    assert syncer_for("stripe") is sync_stripe
