"""Tasks of the connections: apply one delivery; sweep the due ones every minute; reconcile."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.scheduler import periodic


@task()
def apply_delivery(delivery_id: int) -> str:
    """Idempotent: a delivery already applied, or not yet due, is skipped."""
    from storedesk.integrations.connections.services import do_apply_delivery

    return do_apply_delivery(delivery_id)


@task()
def apply_received_deliveries() -> int:
    """Drain the received deliveries, oldest first (queued by the webhook endpoints)."""
    from storedesk.integrations.connections.services import do_apply_received

    return do_apply_received()


@periodic("inbound-delivery-retries", every=timedelta(minutes=1))
@task()
def retry_inbound_deliveries() -> int:
    from storedesk.integrations.connections.services import enqueue_due_deliveries

    return enqueue_due_deliveries()


@periodic("connection-reconcile", every=timedelta(minutes=15))
@task()
def reconcile_connections() -> int:
    """Queue every active connection's reconcile (catches webhooks that never came)."""
    from storedesk.integrations.connections.models import Connection
    from storedesk.integrations.connections.services import syncer_for

    queued = 0
    for pk, system in Connection.objects.filter(status=Connection.Status.ACTIVE).values_list(
        "pk", "system"
    ):
        syncer = syncer_for(system)
        if syncer is not None:
            syncer.enqueue(pk)
            queued += 1
    return queued
