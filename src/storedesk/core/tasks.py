"""Background work of the core app (the outbox sweep, pruning the scheduler's runs, marking
abandoned tasks), and `enqueue_on_commit`, which every app uses to queue a task after commit."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.events import redispatch_stale_events
from storedesk.core.queueing import enqueue_on_commit
from storedesk.core.scheduler import periodic, prune_runs
from storedesk.core.services import do_mark_abandoned_tasks

__all__ = ["enqueue_on_commit", "mark_abandoned_tasks", "prune_scheduled_runs", "sweep_outbox"]


@periodic("outbox-sweep", every=timedelta(minutes=1))
@task()
def sweep_outbox() -> int:
    return redispatch_stale_events()


@periodic("scheduler-prune", every=timedelta(hours=1))
@task()
def prune_scheduled_runs() -> int:
    return prune_runs()


@periodic("abandoned-task-sweep", every=timedelta(minutes=1))
@task()
def mark_abandoned_tasks() -> int:
    """Task rows left RUNNING by a killed worker are marked FAILED, with the reason."""
    return do_mark_abandoned_tasks()
