"""Work owed on an order and a cancelled order's reason, written only by commerce services."""

from decimal import Decimal

import pytest

from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import OrderTask
from storedesk.commerce.services import (
    do_complete_order_task,
    do_open_refund_task,
    do_set_cancel_reason,
)
from storedesk.core.models import DomainEvent
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_refund_task_is_opened_once_while_open():
    order, lead = OrderFactory(), UserFactory()
    first = do_open_refund_task(order, Decimal("12.50"), actor=lead, reason="fraud")
    again = do_open_refund_task(order, Decimal("99.00"), actor=lead, reason="fraud again")

    assert again.pk == first.pk
    assert (first.amount, first.currency, first.status) == (
        Decimal("12.50"),
        order.currency,
        OrderTask.Status.OPEN,
    )
    assert AuditEntry.objects.filter(action="order_task.created").count() == 1


def test_a_task_done_twice_is_done_once():
    order, lead = OrderFactory(), UserFactory()
    task = do_open_refund_task(order, Decimal("5.00"), actor=lead, reason="fraud")

    _order, done, completed = do_complete_order_task(task, actor=lead, note="refunded")
    _order, twice, completed_again = do_complete_order_task(task, actor=lead)

    assert (completed, completed_again) == (True, False)
    assert done.status == twice.status == OrderTask.Status.DONE
    assert done.done_by == lead
    assert AuditEntry.objects.filter(action="order_task.done").count() == 1
    assert DomainEvent.objects.filter(name="order_task_done").count() == 1


def test_changing_a_cancel_reason_is_audited_and_a_repeat_writes_nothing():
    order, lead = OrderFactory(cancel_reason="customer"), UserFactory()

    do_set_cancel_reason(order, "fraud", actor=lead)
    do_set_cancel_reason(order, "fraud", actor=lead)

    order.refresh_from_db()
    assert order.cancel_reason == "fraud"
    entries = AuditEntry.objects.filter(action="order.cancel_reason_changed")
    assert [entry.changes for entry in entries] == [
        {"cancel_reason": "fraud", "previous": "customer"}
    ]
