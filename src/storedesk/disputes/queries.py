"""Reads other apps' pages need of disputes, each one query whatever the number of rows."""

from storedesk.disputes.models import Dispute


def disputes_of_orders(order_ids: list[int]) -> dict[int, list[Dispute]]:
    """Each order's disputes, oldest first, in one query along `dispute_order_idx`: what a
    panel showing several orders needs (status, amount, evidence deadline), without `raw`."""
    by_order: dict[int, list[Dispute]] = {pk: [] for pk in order_ids}
    if order_ids:
        disputes = Dispute.objects.filter(order_id__in=order_ids).only(
            "order",
            "gateway",
            "kind",
            "reason",
            "status",
            "amount",
            "currency",
            "opened_at",
            "evidence_due_by",
        )
        for dispute in disputes.order_by("opened_at", "pk"):
            by_order[dispute.order_id].append(dispute)
    return by_order
