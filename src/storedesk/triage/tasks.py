"""Triage's background work: the outbox event handlers (run after commit by
`core.events.dispatch_event`, idempotent) and the periodic jobs (SLA sweep, model retraining),
plus the re-scoring task a lead starts from the priority page. Each calls `triage.services`.
"""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from storedesk.core.events import handles
from storedesk.core.models import DomainEvent
from storedesk.core.scheduler import periodic
from storedesk.desk.models import Message, Ticket
from storedesk.triage.models import IntentLabel, IntentModel
from storedesk.triage.services import (
    do_acknowledge,
    do_analyse_message,
    do_refresh_sla,
    do_rescore_open_tickets,
    do_rescore_ticket,
    do_rescore_tickets_of_orders,
    do_route_first_message,
    do_run_rules,
    do_score_priority,
    do_sweep_sla,
    do_train_intent_model,
)


@handles("message_received")
def analyse_received_message(event) -> None:
    """Every inbound message is understood as it arrives (runs again harmlessly)."""
    message = (
        Message.objects.select_related("ticket")
        .filter(pk=event.payload.get("message_id"), kind=Message.Kind.INBOUND)
        .first()
    )
    if message is not None:
        do_analyse_message(message)


@handles("message_received")
def on_message_received(event: DomainEvent) -> None:
    message = Message.objects.filter(pk=event.payload.get("message_id")).first()
    if message is None or message.kind != Message.Kind.INBOUND:
        return
    ticket = message.ticket
    do_refresh_sla(ticket)
    do_score_priority(ticket)
    do_refresh_sla(ticket)  # the policy may depend on the priority just set
    do_run_rules(ticket, message)
    do_route_first_message(ticket, message)
    do_refresh_sla(ticket)
    ticket.refresh_from_db()
    already_answered = ticket.messages.filter(
        kind=Message.Kind.OUTBOUND, created_at__gte=message.created_at
    ).exists()
    if not message.is_automatic and not already_answered:
        do_acknowledge(ticket)


@handles("message_sent")
@handles("ticket_status_changed")
@handles("ticket_created")
@handles("ticket_priority_changed")  # SLA policies go by priority
def on_ticket_changed(event: DomainEvent) -> None:
    ids = event.payload.get("ticket_ids") or [event.payload.get("ticket_id")]
    for ticket in Ticket.objects.filter(pk__in=ids).order_by("pk"):
        do_refresh_sla(ticket)


@handles("ticket_orders_linked")
def rescore_after_orders_linked(event: DomainEvent) -> None:
    """An order linked (by hand, by a rule or by a merge) brings its value and dispute risk."""
    do_rescore_ticket(event.payload.get("ticket_id"))


@handles("disputes_opened")
def rescore_after_disputes(event: DomainEvent) -> None:
    do_rescore_tickets_of_orders(event.payload.get("order_ids") or [])


@handles("early_fraud_warning_recorded")
def rescore_after_early_fraud_warning(event: DomainEvent) -> None:
    do_rescore_tickets_of_orders([event.payload.get("order_id")])


@handles("early_fraud_warning_updated")
def rescore_after_early_fraud_warning_linked(event: DomainEvent) -> None:
    """A warning stored before its charge was known counts once its order is found."""
    if {"order_id", "actionable"} & set(event.payload.get("changed") or ()):
        do_rescore_tickets_of_orders([event.payload.get("order_id")])


@handles("order_risk_approved")
@handles("order_risk_cancelled")
@handles("order_risk_closed")
@handles("order_flagged")
def rescore_after_risk_review_changed(event: DomainEvent) -> None:
    """A review decided, closed or (re)opened: "payment in risk review" must follow it on
    the tickets about that order."""
    do_rescore_tickets_of_orders([event.payload.get("order_id")])


@handles("order_facts_changed")
def rescore_after_order_update(event: DomainEvent) -> None:
    """Paid, refunded, shipped or cancelled at the source: the tickets about the order weigh
    differently."""
    do_rescore_tickets_of_orders([event.payload.get("order_id")])


@periodic("triage-sla-sweep", every=timedelta(minutes=1))
@task()
def sweep_sla_task() -> dict[str, int]:
    return do_sweep_sla()


RETRAIN_EVERY = timedelta(days=1)


@periodic("triage-model-retrain", every=RETRAIN_EVERY)
@task()
def retrain_intent_model() -> str:
    """Daily: a new model when agents labelled messages since the active one was trained
    (or when there is none); otherwise nothing to learn, nothing done."""
    active = IntentModel.objects.filter(is_active=True).only("trained_at", "version").first()
    if active is not None:
        new_labels = IntentLabel.objects.filter(created_at__gt=active.trained_at).count()
        if not new_labels:
            return f"{active.version}: no new labels"
    report = do_train_intent_model()
    return (
        f"{report.intent_model.version}: {report.agent_labels} agent labels, {report.seconds:.1f} s"
    )


@task()
def rescore_open_tickets() -> str:
    """Re-score every open ticket with the priority weights that apply now (after a lead
    saves new ones and asks for it). Idempotent: a second run changes nothing."""
    result = do_rescore_open_tickets()
    return (
        f"weights v{result.weights_version or 0}: {result.scored} scored, {result.changed} changed"
    )
