"""Tasks of the Stripe receiver: process one stored event; retry the due ones every minute."""

from datetime import datetime, timedelta

from django.tasks import task
from django.utils import timezone

from storedesk.core.scheduler import periodic
from storedesk.integrations.connections.services import register_syncer
from storedesk.integrations.connections.systems import STRIPE
from storedesk.integrations.stripe.models import StripeEvent
from storedesk.integrations.stripe.processing import Status, do_process_event

DUE_BATCH = 200


@task()
def process_stripe_event(stored_id: int) -> str:
    """Idempotent: an event already processed, or not yet due for a retry, is skipped."""
    return do_process_event(stored_id)


def enqueue_due_events(now: datetime | None = None) -> int:
    """Queue the failed events whose retry time has come and the received ones whose task
    was lost; returns how many."""
    now = now or timezone.now()
    due = list(
        StripeEvent.objects.filter(
            status__in=[Status.RECEIVED, Status.FAILED], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )
    for stored_id in due:
        process_stripe_event.enqueue(stored_id)
    return len(due)


@periodic("stripe-event-retries", every=timedelta(minutes=1))
@task()
def retry_stripe_events() -> int:
    return enqueue_due_events()


@task()
def sync_stripe(connection_id: int) -> int:
    """ "Sync now" and the periodic reconcile of a Stripe connection: the charges and disputes
    created since the last sync (an hour's overlap), or all of them the first time."""
    from storedesk.integrations.connections.models import Connection
    from storedesk.integrations.stripe.backfill import do_backfill

    connection = Connection.objects.filter(pk=connection_id, status="active").first()
    if connection is None:
        return 0
    since = connection.last_synced_at - timedelta(hours=1) if connection.last_synced_at else None
    result = do_backfill(connection, since=since)
    return result.charges + result.disputes


register_syncer(STRIPE, sync_stripe)
