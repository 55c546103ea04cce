"""Tasks of the Stripe receiver: process one stored event; retry the due ones every minute."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.scheduler import periodic


@task()
def process_stripe_event(stored_id: int) -> str:
    """Idempotent: an event already processed, or not yet due for a retry, is skipped."""
    from storedesk.integrations.stripe.services import do_process_event  # services queue us

    return do_process_event(stored_id)


@periodic("stripe-event-retries", every=timedelta(minutes=1))
@task()
def retry_stripe_events() -> int:
    from storedesk.integrations.stripe.services import enqueue_due_events

    return enqueue_due_events()
