"""Priority: the weights leads save, a ticket's score, and re-scoring open tickets set-based
(the desk sets the priorities, `desk.services.do_set_scored_priorities`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import batched

from django.db import transaction
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.core.versioned import save_version
from storedesk.desk.models import Ticket
from storedesk.desk.services import (
    do_set_priority,
    do_set_scored_priorities,
)
from storedesk.triage.facts import facts_for, facts_for_tickets, tickets_for_facts
from storedesk.triage.models import (
    PriorityWeights,
    TicketPriority,
)
from storedesk.triage.priority import (
    PriorityScore,
    latest_weights,
    score_facts,
    set_by_hand,
    validate_weights,
    version_number,
    weights_of,
)


@transaction.atomic
def do_save_priority_weights(data: dict, *, actor, note: str = "") -> PriorityWeights:
    """Validate the whole set, then store it as a new version with an audit entry. Nothing is
    saved when a value is wrong; an unchanged set writes no version (returns the current one).
    Tickets scored from now on use it; open tickets keep their score until re-scored."""
    checked = validate_weights(data)
    saved, before, written = save_version(
        PriorityWeights,
        "weights",
        checked,
        values_of=lambda current: validate_weights(weights_of(current)),
        actor=actor,
        note=note,
    )
    if not written:
        return saved
    changed = {key: [before[key], checked[key]] for key in checked if checked[key] != before[key]}
    record_audit(
        actor=actor,
        action="triage.priority_weights_saved",
        obj=saved,
        changes={"version": saved.version, "changed": changed, "note": saved.note},
    )
    return saved


@transaction.atomic
def do_score_priority(ticket: Ticket, *, now: datetime | None = None) -> PriorityScore:
    """Score the ticket, store the reasons, and set the desk priority unless a person did."""
    now = now or timezone.now()
    version = latest_weights()
    result = score_facts(facts_for(ticket, now), weights_of(version))
    TicketPriority.objects.update_or_create(
        ticket=ticket,
        defaults={
            "score": result.score,
            "level": result.level,
            "reasons": result.reasons,
            "weights_version": version_number(version),
            "computed_at": now,
        },
    )
    if not set_by_hand(ticket):
        top = ", ".join(item["reason"] for item in result.reasons[:3])
        do_set_priority(ticket, result.level, actor=None, reason=f"score {result.score}: {top}")
    return result


RESCORE_BATCH = 500


@dataclass
class RescoreResult:
    scored: int = 0
    changed: int = 0
    weights_version: int | None = None
    levels: dict[int, int] = field(default_factory=dict)


def _rescore_batch(
    ids: tuple[int, ...], w: dict, version: int | None, now: datetime, result: RescoreResult
) -> None:
    """One batch in one transaction and a fixed number of queries, whatever its size."""
    tickets = list(tickets_for_facts(ids))
    facts = facts_for_tickets(tickets, now)
    scores = {ticket.pk: score_facts(facts[ticket.pk], w) for ticket in tickets}
    TicketPriority.objects.bulk_create(
        [
            TicketPriority(
                ticket_id=pk,
                score=score.score,
                level=score.level,
                reasons=score.reasons,
                weights_version=version,
                computed_at=now,
            )
            for pk, score in scores.items()
        ],
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=["score", "level", "reasons", "weights_version", "computed_at"],
    )
    # Set through the desk (locks, timeline, audit, and the event the SLA clocks follow).
    moves = do_set_scored_priorities(
        {
            pk: (score.level, f"re-scored with weights v{version or 0}: score {score.score}")
            for pk, score in scores.items()
        },
        at=now,
    )
    for _old, level in moves.values():
        result.levels[level] = result.levels.get(level, 0) + 1
    result.scored += len(tickets)
    result.changed += len(moves)


def _rescore(ids, *, now: datetime | None, batch_size: int) -> RescoreResult:
    now = now or timezone.now()
    version = latest_weights()
    w = weights_of(version)
    result = RescoreResult(weights_version=version_number(version))
    for batch in batched(ids, batch_size):
        with transaction.atomic():
            _rescore_batch(batch, w, result.weights_version, now, result)
    return result


def _open_tickets():
    return Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES, merged_into__isnull=True)


def do_rescore_open_tickets(
    *, now: datetime | None = None, batch_size: int = RESCORE_BATCH
) -> RescoreResult:
    """Score every open ticket again with the weights that apply now: set-based, a fixed
    number of queries per batch of `batch_size` tickets, one transaction per batch. Priorities
    a person set stay; changed ones get a timeline event and an audit entry."""
    open_ids = _open_tickets().order_by("pk").values_list("pk", flat=True)
    return _rescore(open_ids.iterator(chunk_size=batch_size * 4), now=now, batch_size=batch_size)


def do_rescore_ticket(ticket_id: int | None, *, now: datetime | None = None) -> RescoreResult:
    """Re-score one ticket if it is open (the set-based path, so it reads like a batch)."""
    ids = list(_open_tickets().filter(pk=ticket_id).values_list("pk", flat=True))
    if not ids:
        return RescoreResult()
    return _rescore(ids, now=now, batch_size=RESCORE_BATCH)


def do_rescore_tickets_of_orders(order_ids, *, now: datetime | None = None) -> RescoreResult:
    """Re-score the open tickets about these orders (a dispute or an early fraud warning
    arrived: the dispute risk of their customers' messages changed)."""
    order_ids = [order_id for order_id in order_ids or () if order_id]
    if not order_ids:
        return RescoreResult()
    ids = list(
        _open_tickets()
        .filter(orders__in=order_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    if not ids:  # most disputes are about orders nobody wrote to us about
        return RescoreResult()
    return _rescore(ids, now=now, batch_size=RESCORE_BATCH)
