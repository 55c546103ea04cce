"""The core app's writers: the abandoned-task sweep.

A task row stays RUNNING forever when its worker dies mid-task (SIGKILL, out-of-memory, a lost
machine): django-tasks-db has no lease. The sweep marks such rows FAILED with the reason, so
they stop looking busy; the work itself is redone by whoever owns it (the outbox sweep
re-dispatches lost domain events).
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from storedesk.core.models import WorkerHeartbeat
from storedesk.core.queries import WORKER_LOST_ERROR, find_stuck_tasks, worker_is_gone

logger = logging.getLogger(__name__)


def do_mark_abandoned_tasks(now: datetime | None = None) -> int:
    """Mark every RUNNING task row whose worker is gone as FAILED, with why; returns how many."""
    now = now or timezone.now()
    marked = 0
    with transaction.atomic():
        for stuck in find_stuck_tasks(now):
            if not stuck.worker_gone:
                continue  # still running on a live worker, only overdue: shown, not touched
            marked += DBTaskResult.objects.filter(
                pk=stuck.id, status=TaskResultStatus.RUNNING
            ).update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                return_value=None,
                exception_class_path=WORKER_LOST_ERROR,
                traceback=stuck.reason,
            )
            logger.warning("Task %s (%s) abandoned: %s", stuck.id, stuck.task_path, stuck.reason)
        # A handful of rows, one per worker: forget the ones that are gone.
        gone_workers = [
            heartbeat.pk
            for heartbeat in WorkerHeartbeat.objects.all()
            if worker_is_gone(heartbeat, now)
        ]
        WorkerHeartbeat.objects.filter(pk__in=gone_workers).delete()
    return marked
