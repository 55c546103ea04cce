"""Writes the agent's screens need beyond `desk.services`: bulk actions, unlinking an order and
the inbox views an agent saves.

Bulk actions call the ordinary services once per ticket, so each ticket gets its own timeline
event, audit entry and domain event, exactly as if the agent had changed it by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Order
from storedesk.desk import services
from storedesk.desk.models import SavedView, Ticket


@transaction.atomic
def do_unlink_order(ticket: Ticket, order: Order, *, actor) -> bool:
    """Remove a wrongly linked order from a ticket; False when it was not linked."""
    if not ticket.orders.filter(pk=order.pk).exists():
        return False
    ticket.orders.remove(order)
    services._timeline(ticket, "orders_unlinked", actor, orders=[order.number])
    record_audit(
        actor=actor, action="desk.orders_unlinked", obj=ticket, changes={"orders": [order.number]}
    )
    return True


@transaction.atomic
def do_bulk_action(
    tickets: Sequence[Ticket],
    action: str,
    *,
    actor,
    assignee=None,
    status: str = "",
    tag: str = "",
    priority: int | None = None,
) -> int:
    """Apply one inbox action to each ticket (in pk order, the lock order); all or nothing.
    Returns how many tickets were acted on."""
    tickets = sorted(tickets, key=lambda ticket: ticket.pk)
    if action == "merge":
        if len(tickets) != 2:
            raise ValidationError("select exactly two tickets to merge")
        older, newer = tickets  # the newer conversation joins the older one
        services.do_merge(newer, older, actor=actor)
        return 2
    for ticket in tickets:
        if action == "assign":
            services.do_assign(ticket, actor=actor, assignee=assignee, team=ticket.team)
        elif action == "status":
            services.do_change_status(ticket, status, actor=actor)
        elif action == "tag":
            names = [*ticket.tags.values_list("name", flat=True), tag]
            services.do_set_tags(ticket, names, actor=actor)
        elif action == "priority":
            services.do_set_priority(ticket, priority, actor=actor, reason="bulk")
        else:
            raise ValidationError(f"unknown action: {action}")
    return len(tickets)


@transaction.atomic
def do_save_view(*, owner, name: str, filters: dict, is_shared: bool = False) -> SavedView:
    """Save inbox filters as a view of `owner`'s (shared: the whole team sees it too)."""
    if not filters:
        raise ValidationError("a view needs at least one filter")
    return SavedView.objects.create(name=name, owner=owner, filters=filters, is_shared=is_shared)


@transaction.atomic
def do_delete_view(view_id: int, *, owner) -> bool:
    """Delete one of `owner`'s own views; False when it is not theirs (or gone)."""
    deleted, _count = SavedView.objects.filter(pk=view_id, owner=owner).delete()
    return bool(deleted)
