"""Resolution rows for page tests of what the pages READ (lists, counts, the budget): written
directly in the states the services leave them in. Tests of what the pages DO go through the
services (see test_resolution_panel.py and test_resolution_approvals.py)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from storedesk.resolutions.models import Approval, Kind, Reason, Resolution

_keys = iter(range(1, 10**9))


def make_resolution(order, *, actor=None, ticket=None, **fields) -> Resolution:
    now = timezone.now()
    values = {
        "store": order.store,
        "order": order,
        "customer": order.customer,
        "ticket": ticket,
        "kind": Kind.PARTIAL_REFUND,
        "reason": Reason.DAMAGED,
        "amount": Decimal("20.00"),
        "currency": order.currency,
        "cost": Decimal("20.88"),
        "status": Resolution.Status.DONE,
        "idempotency_key": f"page-test-{next(_keys)}",
        "actor": actor,
        "actor_label": actor.display_name if actor else "",
        "created_at": now,
        "updated_at": now,
    }
    values |= fields
    if values["status"] == Resolution.Status.DONE and "done_at" not in fields:
        values["done_at"] = now
    return Resolution.objects.create(**values)


def make_approval(order, *, requested_by, reason="Customer waited six weeks", **fields):
    resolution = make_resolution(
        order,
        actor=requested_by,
        status=Resolution.Status.PENDING_APPROVAL,
        amount=fields.pop("amount", Decimal("80.00")),
        **fields,
    )
    now = timezone.now()
    return Approval.objects.create(
        resolution=resolution,
        store=order.store,
        requested_by=requested_by,
        reason=reason,
        why_needed=["over the 50.00 limit per action"],
        requested_amount=resolution.amount,
        created_at=now,
        expires_at=now + timedelta(hours=48),
    )
