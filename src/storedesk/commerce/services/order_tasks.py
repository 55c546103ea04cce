"""Work someone owes on an order outside Storedesk (a refund to make at the gateway): opened
once per kind while open, done once."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Order, OrderTask
from storedesk.commerce.services.refunds import lock_order
from storedesk.core.events import record_event


def do_open_refund_task(order: Order, amount: Decimal, *, actor, reason: str) -> OrderTask:
    """The one open "refund needed" task of the order (the partial unique constraint makes a
    racing second insert fail; the first one's task is returned)."""
    existing = OrderTask.objects.filter(
        order=order, kind=OrderTask.Kind.REFUND_NEEDED, status=OrderTask.Status.OPEN
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            task = OrderTask.objects.create(
                order=order,
                kind=OrderTask.Kind.REFUND_NEEDED,
                amount=amount,
                currency=order.currency,
                reason=reason,
                created_by=actor if getattr(actor, "pk", None) else None,
                created_at=timezone.now(),
            )
    except IntegrityError:
        return OrderTask.objects.get(
            order=order, kind=OrderTask.Kind.REFUND_NEEDED, status=OrderTask.Status.OPEN
        )
    record_audit(
        actor=actor,
        action="order_task.created",
        obj=task,
        changes={
            "order": order.number,
            "kind": task.kind,
            "amount": amount,
            "currency": order.currency,
        },
    )
    return task


@transaction.atomic
def do_complete_order_task(
    task: OrderTask, *, actor, note: str = ""
) -> tuple[Order, OrderTask, bool]:
    """Mark the task done (e.g. the refund was made at the gateway), under the order's lock.
    Returns the locked order and task, and whether this call did it: done twice is done once
    (no second audit entry or event)."""
    order = lock_order(task.order_id)
    locked = OrderTask.objects.select_for_update(of=("self",)).get(pk=task.pk)
    if locked.status == OrderTask.Status.DONE:
        return order, locked, False
    locked.status, locked.done_by, locked.done_at = OrderTask.Status.DONE, actor, timezone.now()
    locked.save(update_fields=["status", "done_by", "done_at"])
    record_audit(
        actor=actor,
        action="order_task.done",
        obj=locked,
        changes={"order": order.number, "kind": locked.kind, "note": note},
    )
    record_event("order_task_done", task_id=locked.pk, order_id=order.pk, kind=locked.kind)
    return order, locked, True


@transaction.atomic
def do_set_cancel_reason(order: Order, reason: str, *, actor) -> Order:
    """Change why a cancelled order was cancelled (found to be fraud afterwards, say)."""
    if order.cancel_reason == reason:
        return order
    previous = order.cancel_reason
    order.cancel_reason = reason
    order.save(update_fields=["cancel_reason"])
    record_audit(
        actor=actor,
        action="order.cancel_reason_changed",
        obj=order,
        changes={"cancel_reason": reason, "previous": previous},
    )
    return order
