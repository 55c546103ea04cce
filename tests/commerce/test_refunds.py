from decimal import Decimal

import pytest
from django.db import connection

from storedesk.audit.models import AuditEntry
from storedesk.commerce.ingest import RefundIn
from storedesk.commerce.models import Customer, Order, Refund
from storedesk.commerce.services import (
    IdempotencyKeyReusedError,
    OverRefundError,
    RefundAmountError,
    RefundCurrencyError,
    do_ingest_orders,
    do_ingest_refunds,
    do_record_refund,
)
from storedesk.core.models import DomainEvent
from storedesk.core.money import Money
from tests.commerce.builders import BASE, order_in
from tests.concurrency import run_at_once
from tests.factories import StoreFactory


def _paid_order(total="100.00") -> Order:
    store = StoreFactory()
    do_ingest_orders(store, [order_in(1, total=Decimal(total))])
    return Order.objects.get(number_key="TP1001")


@pytest.mark.django_db
def test_a_refund_updates_the_order_the_customer_audit_and_outbox(make_user):
    order = _paid_order()
    actor = make_user()

    refund = do_record_refund(
        order,
        Money(Decimal("30.00"), "USD"),
        reason="wrong_size",
        idempotency_key="rf-1",
        actor=actor,
        note="size 7 too small",
    )

    order.refresh_from_db()
    assert (refund.amount, refund.status, refund.created_by) == (
        Decimal("30.00"),
        "succeeded",
        actor,
    )
    assert refund.payment == order.payments.get()
    assert (order.total_refunded, order.financial_status) == (
        Decimal("30.00"),
        "partially_refunded",
    )
    assert Customer.objects.get().total_spent == Decimal("70.00")
    assert AuditEntry.objects.filter(action="refund.recorded", actor=actor).count() == 1
    assert DomainEvent.objects.filter(name="refund_recorded").count() == 1


@pytest.mark.django_db
def test_repeating_a_refund_with_its_key_returns_the_first_and_moves_no_money():
    order = _paid_order()

    first = do_record_refund(order, Decimal("40.00"), "USD", "damaged", idempotency_key="k")
    again = do_record_refund(order, Decimal("40.00"), "USD", "damaged", idempotency_key="k")

    assert again.pk == first.pk
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.total_refunded == Decimal("40.00")
    assert AuditEntry.objects.filter(action="refund.recorded").count() == 1


@pytest.mark.django_db
def test_a_key_reused_for_another_amount_is_refused():
    order = _paid_order()
    do_record_refund(order, Decimal("40.00"), "USD", "damaged", idempotency_key="k")

    with pytest.raises(IdempotencyKeyReusedError):
        do_record_refund(order, Decimal("41.00"), "USD", "damaged", idempotency_key="k")


@pytest.mark.django_db
def test_refunding_more_than_was_captured_is_refused():
    order = _paid_order()
    do_record_refund(order, Decimal("60.00"), "USD", "damaged", idempotency_key="a")

    with pytest.raises(OverRefundError, match="exceeds what is left: 40.00 of 100.00"):
        do_record_refund(order, Decimal("40.01"), "USD", "damaged", idempotency_key="b")

    last = do_record_refund(order, Decimal("40.00"), "USD", "damaged", idempotency_key="c")
    order.refresh_from_db()
    assert last.amount == Decimal("40.00")
    assert (order.total_refunded, order.financial_status) == (Decimal("100.00"), "refunded")


@pytest.mark.django_db
def test_failed_refunds_do_not_count_against_the_captured_total():
    order = _paid_order()
    do_record_refund(
        order, Decimal("100.00"), "USD", "damaged", idempotency_key="a", status=Refund.Status.FAILED
    )

    do_record_refund(order, Decimal("100.00"), "USD", "damaged", idempotency_key="b")

    assert Refund.objects.filter(status="succeeded").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "currency", "error"),
    [
        (Decimal("10.00"), "EUR", RefundCurrencyError),
        (Decimal("0.00"), "USD", RefundAmountError),
        (Decimal("-5.00"), "USD", RefundAmountError),
        (Decimal("1.001"), "USD", RefundAmountError),
    ],
)
def test_wrong_currency_and_nonsense_amounts_are_refused(amount, currency, error):
    order = _paid_order()

    with pytest.raises(error):
        do_record_refund(order, amount, currency, "damaged", idempotency_key="x")
    assert not Refund.objects.exists()


@pytest.mark.django_db
def test_floats_are_refused():
    order = _paid_order()

    with pytest.raises(TypeError):
        do_record_refund(order, 10.0, "USD", "damaged", idempotency_key="x")


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_move_money_exactly_once():
    """Threads racing on one order: same key -> one refund; different keys -> no over-refund."""
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks and concurrent connections (PostgreSQL)")
    order = _paid_order()

    def refund(key: str):
        return lambda: (
            do_record_refund(order, Decimal("60.00"), "USD", "damaged", idempotency_key=key).pk
        )

    outcomes = run_at_once(
        *[refund(key) for key in ["same", "same", "same", "other-1", "other-2", "other-3"]]
    )

    order.refresh_from_db()
    assert Refund.objects.count() == 1
    assert order.total_refunded == Decimal("60.00")
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(o, OverRefundError) for o in refused)
    assert len(refused) == 3 or len({o for o in outcomes if o not in refused}) == 1


@pytest.mark.django_db
def test_bulk_refunds_are_idempotent_and_refuse_over_refunds():
    order = _paid_order()
    refunds = [
        RefundIn(
            order_number="#TP1001",
            amount=Decimal("70.00"),
            currency="USD",
            reason="damaged",
            idempotency_key="stripe:re_1",
            created_at=BASE,
        ),
        RefundIn(
            order_number="#TP1001",
            amount=Decimal("40.00"),
            currency="USD",
            reason="damaged",
            idempotency_key="stripe:re_2",
            created_at=BASE,
        ),
        RefundIn(
            order_number="#TP9999",
            amount=Decimal("1.00"),
            currency="USD",
            reason="damaged",
            idempotency_key="stripe:re_3",
            created_at=BASE,
        ),
    ]

    result = do_ingest_refunds(order.store, refunds)
    again = do_ingest_refunds(order.store, refunds[:1])

    assert result.created == 1
    assert result.rejected == [("stripe:re_2", "over_refund"), ("stripe:re_3", "unknown_order")]
    assert (again.created, again.skipped) == (0, 1)
    order.refresh_from_db()
    assert (order.total_refunded, order.financial_status) == (
        Decimal("70.00"),
        "partially_refunded",
    )
    assert Customer.objects.get().total_spent == Decimal("30.00")
