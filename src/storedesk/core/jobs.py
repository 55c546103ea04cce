"""Periodic jobs of the core app."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.events import redispatch_stale_events
from storedesk.core.scheduler import periodic, prune_runs


@periodic("outbox-sweep", every=timedelta(minutes=1))
@task()
def sweep_outbox() -> int:
    return redispatch_stale_events()


@periodic("scheduler-prune", every=timedelta(hours=1))
@task()
def prune_scheduled_runs() -> int:
    return prune_runs()
