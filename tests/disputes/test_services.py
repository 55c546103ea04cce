from datetime import timedelta
from decimal import Decimal

import pytest

from storedesk.audit.models import AuditEntry
from storedesk.commerce.ingest import DisputeIn
from storedesk.commerce.services import do_ingest_orders
from storedesk.core.models import DomainEvent
from storedesk.disputes.models import Dispute
from storedesk.disputes.services import do_ingest_disputes
from tests.commerce.builders import BASE, order_in
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def _stripe(status="needs_response", **overrides) -> DisputeIn:
    values = {
        "gateway": "stripe",
        "provider_id": "dp_1Test",
        "reason": "fraudulent",
        "payment_provider_id": f"ch_3Test{1:020d}",
        "status": status,
        "amount": Decimal("89.00"),
        "currency": "usd",
        "opened_at": BASE,
        "network_reason_code": "10.4",
        "evidence_due_by": BASE + timedelta(days=14),
    }
    return DisputeIn(**{**values, **overrides})


def _paypal(**overrides) -> DisputeIn:
    values = {
        "gateway": "paypal",
        "provider_id": "PP-D-27803",
        "kind": "inquiry",
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "payment_provider_id": f"ch_3Test{2:020d}",
        "status": "WAITING_FOR_SELLER_RESPONSE",
        "amount": Decimal("89.00"),
        "currency": "USD",
        "opened_at": BASE,
        "evidence_due_by": BASE + timedelta(days=10),
    }
    return DisputeIn(**{**values, **overrides})


@pytest.fixture
def orders():
    store = StoreFactory()
    do_ingest_orders(store, [order_in(1), order_in(2, gateway="paypal")])


def test_disputes_are_stored_with_the_gateways_own_codes(orders):
    result = do_ingest_disputes([_stripe(), _paypal()])

    assert (result.created, result.unmatched) == (2, [])
    stripe = Dispute.objects.get(gateway="stripe")
    assert (stripe.reason, stripe.network_reason_code, stripe.status, stripe.currency) == (
        "fraudulent",
        "10.4",
        "needs_response",
        "USD",
    )
    assert stripe.order.number == "#TP1001"
    assert stripe.evidence_due_by == BASE + timedelta(days=14)
    paypal = Dispute.objects.get(gateway="paypal")
    assert (paypal.kind, paypal.reason) == ("inquiry", "MERCHANDISE_OR_SERVICE_NOT_RECEIVED")
    assert AuditEntry.objects.filter(action="dispute.opened").count() == 2
    assert DomainEvent.objects.filter(name="dispute_opened").count() == 2


def test_replaying_a_dispute_changes_nothing(orders):
    do_ingest_disputes([_stripe()])

    again = do_ingest_disputes([_stripe()])

    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert Dispute.objects.count() == 1
    assert AuditEntry.objects.filter(action__startswith="dispute.").count() == 1


def test_a_later_status_updates_the_dispute_and_closes_it(orders):
    do_ingest_disputes([_stripe()])

    result = do_ingest_disputes(
        [_stripe("under_review"), _stripe("lost", closed_at=BASE + timedelta(days=60))]
    )

    dispute = Dispute.objects.get()
    assert result.updated == 1
    assert (dispute.status, dispute.closed_at) == ("lost", BASE + timedelta(days=60))
    entry = AuditEntry.objects.get(action="dispute.updated")
    assert entry.changes["status"] == ["needs_response", "lost"]
    assert DomainEvent.objects.filter(name="dispute_closed").count() == 1


def test_a_dispute_for_an_unknown_payment_is_reported_not_stored(orders):
    result = do_ingest_disputes([_stripe(payment_provider_id="ch_unknown")])

    assert result.unmatched == ["dp_1Test"]
    assert not Dispute.objects.exists()


def test_unknown_gateways_are_rejected(orders):
    result = do_ingest_disputes([_stripe(gateway="venmo")])

    assert result.rejected == [("dp_1Test", "unknown_gateway")]
