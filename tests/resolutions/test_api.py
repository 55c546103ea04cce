"""The resolutions API through the Django test client, with bearer tokens of each role."""

import itertools
from decimal import Decimal

import pytest

from storedesk.commerce.models import Refund
from storedesk.resolutions.models import Approval, Resolution
from tests.factories import ShipmentFactory
from tests.resolutions.conftest import paid_order

AUTH = 3  # token+user, user permissions, group permissions
_keys = itertools.count()


def post(client, order, body, key=None):
    values = {"currency": "USD", "reason": "damaged"} | body
    return client.post(
        f"/api/v1/orders/{order.number.lstrip('#')}/resolutions",
        values,
        content_type="application/json",
        headers={"Idempotency-Key": key or f"api-{next(_keys)}"},
    )


# role × action × amount → the answer (orders of $100, unflagged, nothing refunded yet)
MATRIX = [
    ("agent", "partial_refund", "20.00", 201),
    ("agent", "partial_refund", "30.00", 201),
    ("agent", "partial_refund", "30.01", 202),  # over 30% of the order
    ("agent", "partial_refund", "60.00", 202),
    ("agent", "coupon", "25.00", 201),
    ("agent", "coupon", "26.00", 202),
    ("agent", "store_credit", "50.00", 201),
    ("agent", "cancel", None, 201),
    ("lead", "partial_refund", "60.00", 201),
    ("lead", "refund", None, 201),
    ("lead", "coupon", "150.00", 202),
    ("payments", "partial_refund", "99.00", 201),
    ("admin", "refund", None, 201),
    ("nobody", "partial_refund", "1.00", 403),
    ("nobody", "no_compensation", None, 403),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "kind", "amount", "status"), MATRIX)
def test_authorization_matrix(api_as, stripe_server, who, kind, amount, status):
    order = paid_order()

    response = post(api_as(who), order, {"kind": kind, "amount": amount})

    assert response.status_code == status, response.json()
    if status == 201:
        body = response.json()
        assert body["status"] == "done"
        if kind in ("refund", "partial_refund", "cancel"):
            assert body["gateway_reference"].startswith("re_test")
            assert Refund.objects.get(order=order).status == "succeeded"
    elif status == 202:
        assert response.json()["approval"]["status"] == "pending"
        assert stripe_server.requests == []
    else:
        assert response.json()["code"] in ("permission_denied", "role_not_allowed")
        assert Resolution.objects.count() == 0


@pytest.mark.django_db
def test_the_answers_for_rules_and_bad_input(api_as, stripe_server):
    order = paid_order()
    agent = api_as("agent")

    cases = [
        ({"kind": "partial_refund", "amount": "0"}, 422, "invalid_amount"),
        ({"kind": "partial_refund", "amount": "-3.00"}, 422, "invalid_amount"),
        ({"kind": "partial_refund", "amount": "ten"}, 422, "invalid_amount"),
        ({"kind": "partial_refund", "amount": "1.005"}, 422, "invalid_amount"),
        ({"kind": "partial_refund", "amount": "500.00"}, 422, "more_than_refundable"),
        ({"kind": "partial_refund", "amount": "5.00", "currency": "EUR"}, 422, "wrong_currency"),
        ({"kind": "partial_refund", "amount": "5.00", "reason": "meh"}, 422, "invalid_reason"),
        ({"kind": "teleport", "amount": "5.00"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = post(agent, order, body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    missing_key = agent.post(
        f"/api/v1/orders/{order.number.lstrip('#')}/resolutions",
        {"kind": "partial_refund", "amount": "5.00", "currency": "USD", "reason": "late"},
        content_type="application/json",
    )
    assert (missing_key.status_code, missing_key.json()["code"]) == (
        422,
        "idempotency_key_required",
    )
    small = paid_order("10.00", store=order.store)
    # "up to $50 or 30%" is whichever is lower: a full refund of $10 is over 30% of it
    assert post(agent, small, {"kind": "refund"}).status_code == 202

    admin = api_as("admin")
    assert post(admin, order, {"kind": "partial_refund", "amount": "90.00"}).status_code == 201
    over = post(admin, order, {"kind": "partial_refund", "amount": "20.00"})
    assert (over.status_code, over.json()["code"]) == (409, "over_refund")

    shipped = paid_order("40.00", store=order.store)
    ShipmentFactory(order=shipped, status="in_transit")
    cancel = post(admin, shipped, {"kind": "cancel", "reason": "cancellation"})
    assert (cancel.status_code, cancel.json()["code"]) == (409, "shipped")
    assert "shipped" in cancel.json()["message"]
    rest = post(api_as("agent"), order, {"kind": "refund"})  # the 10.00 left
    assert (rest.status_code, rest.json()["amount"]["amount"]) == (201, "10.00")
    done = post(api_as("agent"), order, {"kind": "refund"})
    assert (done.status_code, done.json()["code"]) == (409, "over_refund")
    assert "in full" in done.json()["message"]
    unknown = agent.post(
        "/api/v1/orders/TP999999/resolutions",
        {"kind": "refund", "reason": "late"},
        content_type="application/json",
        headers={"Idempotency-Key": "y"},
    )
    assert unknown.status_code == 404


@pytest.mark.django_db
def test_the_same_key_twice_answers_the_same_and_refunds_once(api_as, stripe_server):
    order = paid_order()
    client = api_as("agent")

    first = post(client, order, {"kind": "partial_refund", "amount": "12.50"}, key="same")
    second = post(client, order, {"kind": "partial_refund", "amount": "12.50"}, key="same")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["amount"] == {"amount": "12.50", "currency": "USD"}
    assert len(stripe_server.requests) == 1
    assert Refund.objects.count() == 1


@pytest.mark.django_db
def test_approve_lower_decline_and_list(api_as, stripe_server, django_assert_num_queries):
    order = paid_order()
    asked = post(api_as("agent"), order, {"kind": "partial_refund", "amount": "60.00"})
    assert asked.status_code == 202
    approval_id = asked.json()["approval"]["id"]

    own = api_as("lead").post(
        f"/api/v1/approvals/{approval_id}/approve", {}, content_type="application/json"
    )
    assert own.status_code == 201  # a lead approves an agent's request
    # …but an agent approves nothing, and nobody their own request:
    mine = post(api_as("lead"), order, {"kind": "coupon", "amount": "150.00"})
    coupon_approval = mine.json()["approval"]["id"]
    refused = api_as("lead").post(
        f"/api/v1/approvals/{coupon_approval}/approve", {}, content_type="application/json"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "own_request")
    by_agent = api_as("agent").post(
        f"/api/v1/approvals/{coupon_approval}/decline",
        {"reason": "no"},
        content_type="application/json",
    )
    assert by_agent.status_code == 403
    declined = api_as("admin").post(
        f"/api/v1/approvals/{coupon_approval}/decline",
        {"reason": "too generous"},
        content_type="application/json",
    )
    assert declined.status_code == 200
    assert declined.json()["status"] == "declined"
    assert declined.json()["approval"]["decline_reason"] == "too generous"

    for _n in range(3):
        post(api_as("agent"), paid_order(store=order.store), {"kind": "coupon", "amount": "40.00"})
    lead = api_as("lead")
    lead.get("/api/v1/approvals")  # warm up the content-type cache
    with django_assert_num_queries(AUTH + 1):
        pending = lead.get("/api/v1/approvals?status=pending")
    assert pending.status_code == 200
    assert [row["resolution"]["kind"] for row in pending.json()["items"]] == ["coupon"] * 3
    with django_assert_num_queries(AUTH + 2):  # the order, its resolutions
        listed = lead.get(f"/api/v1/orders/{order.number.lstrip('#')}/resolutions")
    assert [row["status"] for row in listed.json()["items"]] == ["declined", "done"]


@pytest.mark.django_db
def test_approving_lower_through_the_api(api_as, stripe_server):
    order = paid_order()
    asked = post(api_as("agent"), order, {"kind": "partial_refund", "amount": "60.00"})
    approval_id = asked.json()["approval"]["id"]

    higher = api_as("lead").post(
        f"/api/v1/approvals/{approval_id}/approve",
        {"amount": "70.00"},
        content_type="application/json",
    )
    assert (higher.status_code, higher.json()["code"]) == (422, "amount_above_request")
    approved = api_as("lead").post(
        f"/api/v1/approvals/{approval_id}/approve",
        {"amount": "40.00"},
        content_type="application/json",
    )
    assert approved.status_code == 201
    assert approved.json()["amount"] == {"amount": "40.00", "currency": "USD"}
    assert approved.json()["approval"]["approved_amount"] == {"amount": "40.00", "currency": "USD"}
    assert Approval.objects.get().approver.username == "lead"
    again = api_as("lead2").post(
        f"/api/v1/approvals/{approval_id}/approve", {}, content_type="application/json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "approval_closed")
    assert Refund.objects.get().amount == Decimal("40.00")


@pytest.mark.django_db
def test_budget_shows_spend_against_the_plan_with_warnings(api_as, stripe_server, people):
    from django.utils import timezone

    from storedesk.resolutions.services import do_set_budget

    order = paid_order()
    do_set_budget(
        actor=people["lead"],
        store=order.store,
        month=timezone.localdate(),
        refunds=Decimal("30.00"),
        coupons=Decimal("100.00"),
    )
    post(api_as("agent"), order, {"kind": "partial_refund", "amount": "25.00"})

    response = api_as("agent").get(f"/api/v1/budget?month={timezone.localdate():%Y-%m}")

    assert response.status_code == 200
    refunds = response.json()["categories"][0]
    assert refunds["category"] == "refunds"
    assert refunds["spent"] == {"amount": "25.80", "currency": "USD"}
    assert refunds["warning"] == "near"
    assert refunds["left"] == {"amount": "4.20", "currency": "USD"}
    assert api_as("agent").get("/api/v1/budget?month=2026-13").status_code == 422


@pytest.mark.django_db
def test_a_gateway_refusal_is_a_409_with_the_gateways_code_and_nothing_done(api_as, stripe_server):
    order = paid_order()
    stripe_server.fail("charge_disputed")

    response = post(api_as("agent"), order, {"kind": "partial_refund", "amount": "10.00"})

    assert (response.status_code, response.json()["code"]) == (409, "charge_disputed")
    assert "charged back" in response.json()["message"]
    assert Resolution.objects.get().status == "failed"
    assert Refund.objects.get().status == "failed"


@pytest.mark.django_db
@pytest.mark.parametrize("refunds", [1, 4])
def test_the_budget_costs_the_same_queries_whatever_the_spend(
    api_as, stripe_server, django_assert_num_queries, refunds
):
    store = paid_order().store
    for _ in range(refunds):
        post(api_as("lead"), paid_order(store=store), {"kind": "partial_refund", "amount": "5.00"})
    client = api_as("agent")
    client.get("/api/v1/budget")  # warm up

    # store, plan, spend by kind, by reason, by agent, the rows and the line items by product
    with django_assert_num_queries(AUTH + 7):
        response = client.get("/api/v1/budget")

    assert response.json()["total_spent"]["amount"] == str(
        Decimal("5.16") * refunds  # + the share of the 3.20 fee Stripe keeps
    )
