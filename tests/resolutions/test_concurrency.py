"""Two agents, a double click, a retried request: on PostgreSQL with real row locks, threads
fire at one order at once and the money moves exactly once, never beyond what was captured."""

from decimal import Decimal

import pytest
from django.db import connection

from storedesk.commerce.models import Refund
from storedesk.resolutions.models import Resolution
from storedesk.resolutions.services import ResolutionRefused, do_request_resolution
from tests.concurrency import run_at_once
from tests.resolutions.conftest import paid_order

pytestmark = pytest.mark.django_db(transaction=True)


def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks and concurrent connections (PostgreSQL)")


def _refund(actor, order, key: str, amount: str = "15.00"):
    return lambda: do_request_resolution(
        actor=actor,
        order=order,
        kind="partial_refund",
        amount=Decimal(amount),
        currency="USD",
        reason="not_received",
        idempotency_key=key,
    )


def test_twenty_refunds_with_different_keys_never_exceed_the_capture(people, stripe_server):
    _needs_postgresql()
    order = paid_order("100.00")

    outcomes = run_at_once(*[_refund(people["admin"], order, f"key-{n}") for n in range(20)])

    done = [o for o in outcomes if isinstance(o, Resolution) and o.status == "done"]
    refused = [o for o in outcomes if isinstance(o, ResolutionRefused)]
    assert len(done) == 6  # 6 × 15.00 = 90.00 of 100.00
    assert len(refused) == 14
    assert {error.code for error in refused} == {"over_refund"}
    order.refresh_from_db()
    assert order.total_refunded == Decimal("90.00")
    assert Refund.objects.filter(status="succeeded").count() == 6
    assert Refund.objects.exclude(status="succeeded").count() == 0
    assert stripe_server.refunds_made == 6


def test_twenty_requests_with_the_same_key_refund_once(people, stripe_server):
    _needs_postgresql()
    order = paid_order("100.00")

    outcomes = run_at_once(*[_refund(people["admin"], order, "one-click") for _ in range(20)])

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert Resolution.objects.count() == 1
    assert Refund.objects.count() == 1
    assert stripe_server.refunds_made == 1
    order.refresh_from_db()
    assert order.total_refunded == Decimal("15.00")
