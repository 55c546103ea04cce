"""Tasks of the connections: drain the received deliveries; apply one delivery; sweep the due
ones every minute; reconcile. This module owns all their queueing: services never import it
(they record the `inbound_deliveries_due` outbox event, handled here)."""

import threading
import time
from datetime import timedelta

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from storedesk.core.events import handles
from storedesk.core.scheduler import periodic
from storedesk.core.tasks import enqueue_on_commit
from storedesk.integrations.connections import services
from storedesk.integrations.connections.models import Connection, InboundDelivery


@task()
def apply_delivery(delivery_id: int) -> str:
    """Idempotent: a delivery already applied, or not yet due, is skipped."""
    return services.do_apply_delivery(delivery_id)


@task()
def apply_received_deliveries() -> int:
    """Drain the received deliveries, oldest first (queued by the webhook endpoints); queue
    the next drain when this one has run long enough and some are still waiting."""
    drained = services.do_apply_received()
    if drained.more_left:
        apply_received_deliveries.enqueue()
    return drained.applied


# A burst of a thousand deliveries a second queues a drain at most twice per window per
# process (at once, and once more at the window's end for what arrived meanwhile) instead of a
# task each: every delivery still has a drain that starts after it was stored.
DRAIN_WINDOW_SECONDS = 0.2
_drain_lock = threading.Lock()
_drain = {"until": 0.0, "trailing": False}


def request_drain() -> None:
    """Queue the drain of received deliveries (called after a delivery is committed)."""
    if not apply_received_deliveries.get_backend().supports_defer:
        apply_received_deliveries.enqueue()  # nothing to coalesce with (tests, immediate)
        return
    now = time.monotonic()
    with _drain_lock:
        if now >= _drain["until"]:
            _drain["until"], _drain["trailing"] = now + DRAIN_WINDOW_SECONDS, False
            delay = None
        elif not _drain["trailing"]:
            _drain["trailing"] = True
            delay = _drain["until"] - now
        else:
            return
    if delay is None:
        apply_received_deliveries.enqueue()
    else:
        run_after = timezone.now() + timedelta(seconds=delay)
        apply_received_deliveries.using(run_after=run_after).enqueue()


def drain_after_commit(received: services.ReceivedDelivery) -> None:
    """What a webhook endpoint does after `do_receive_delivery`: a new delivery to apply has
    its drain queued once it is committed; a repeat or an ignored topic queues nothing."""
    if received.created and received.status == InboundDelivery.Status.RECEIVED:
        transaction.on_commit(request_drain)


def enqueue_due_deliveries(now=None) -> int:
    """Queue the parked and failed deliveries whose time has come and the received ones
    whose drain was lost; returns how many."""
    due = services.due_delivery_ids(now)
    for pk in due:
        apply_delivery.enqueue(pk)
    return len(due)


@handles(services.DELIVERIES_DUE)
def queue_due_deliveries(event) -> None:
    """Deliveries a service made due now (woken parked ones, failed ones retried by a person)
    are applied by a task each once the change has committed."""
    for pk in event.payload["delivery_ids"]:
        enqueue_on_commit(apply_delivery, pk)


@periodic("inbound-delivery-retries", every=timedelta(minutes=1))
@task()
def retry_inbound_deliveries() -> int:
    return enqueue_due_deliveries()


@periodic("connection-reconcile", every=timedelta(minutes=15))
@task()
def reconcile_connections() -> int:
    """Queue every active connection's reconcile (catches webhooks that never came)."""
    queued = 0
    for pk, system in Connection.objects.filter(status=Connection.Status.ACTIVE).values_list(
        "pk", "system"
    ):
        syncer = services.syncer_for(system)
        if syncer is not None:
            syncer.enqueue(pk)
            queued += 1
    return queued
