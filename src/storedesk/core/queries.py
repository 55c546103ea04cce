"""Reads of the core app: which background tasks are stuck, and which were abandoned."""

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks_db.models import DBTaskResult

from storedesk.core.models import WorkerHeartbeat

# Six missed heartbeats (see core.workers.HEARTBEAT_EVERY) and a worker counts as gone.
WORKER_LOST_AFTER = timedelta(minutes=1)
# A task still running this long on a live worker is shown as overdue (and left alone).
TASK_LEASE = timedelta(hours=1)
# What an abandoned row records as its error, so it can be told from a task that raised.
WORKER_LOST_ERROR = "storedesk.core.workers.WorkerLost"
STUCK_ROWS_SHOWN = 500
ABANDONED_FIELDS = (
    "id",
    "task_path",
    "queue_name",
    "started_at",
    "finished_at",
    "worker_ids",
    "traceback",
)


@dataclass(frozen=True)
class StuckTask:
    id: str
    task_path: str
    queue_name: str
    started_at: datetime | None
    finished_at: datetime | None
    worker_id: str
    worker_gone: bool
    reason: str

    @property
    def task_name(self) -> str:
        return self.task_path.rsplit(".", 1)[-1]


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def worker_is_gone(heartbeat: WorkerHeartbeat, now: datetime) -> bool:
    """Gone: its process no longer exists on this host, or it stopped beating elsewhere."""
    if heartbeat.hostname == socket.gethostname() and not _process_exists(heartbeat.pid):
        return True
    return heartbeat.last_seen_at < now - WORKER_LOST_AFTER


def _why_gone(heartbeat: WorkerHeartbeat | None, worker_id: str, started_at, now) -> str | None:
    if heartbeat is None:
        if started_at is None or started_at < now - WORKER_LOST_AFTER:
            return _("Worker %(worker)s is gone: it no longer reports a heartbeat.") % {
                "worker": worker_id or "?"
            }
        return None
    if heartbeat.hostname == socket.gethostname() and not _process_exists(heartbeat.pid):
        return _("Worker %(worker)s is gone: process %(pid)s no longer runs on %(host)s.") % {
            "worker": worker_id,
            "pid": heartbeat.pid,
            "host": heartbeat.hostname,
        }
    if heartbeat.last_seen_at < now - WORKER_LOST_AFTER:
        return _("Worker %(worker)s on %(host)s (pid %(pid)s) was last seen at %(seen)s.") % {
            "worker": worker_id,
            "host": heartbeat.hostname,
            "pid": heartbeat.pid,
            "seen": f"{heartbeat.last_seen_at:%Y-%m-%d %H:%M:%S} UTC",
        }
    return None


def find_stuck_tasks(now: datetime | None = None) -> list[StuckTask]:
    """RUNNING task rows whose worker is gone, and those running past their lease (two queries)."""
    now = now or timezone.now()
    running = list(
        DBTaskResult.objects.running()
        .order_by("started_at")
        .only("id", "task_path", "queue_name", "started_at", "worker_ids")[:STUCK_ROWS_SHOWN]
    )
    worker_ids = {row.worker_ids[-1] for row in running if row.worker_ids}
    heartbeats = {
        heartbeat.worker_id: heartbeat
        for heartbeat in WorkerHeartbeat.objects.filter(worker_id__in=worker_ids)
    }
    stuck = []
    for row in running:
        worker_id = row.worker_ids[-1] if row.worker_ids else ""
        reason = _why_gone(heartbeats.get(worker_id), worker_id, row.started_at, now)
        worker_gone = reason is not None
        if not worker_gone and row.started_at and row.started_at < now - TASK_LEASE:
            reason = _("Running for more than %(hours)s hour(s) on a live worker.") % {
                "hours": int(TASK_LEASE.total_seconds() // 3600)
            }
        if reason:
            stuck.append(
                StuckTask(
                    id=str(row.id),
                    task_path=row.task_path,
                    queue_name=row.queue_name,
                    started_at=row.started_at,
                    finished_at=None,
                    worker_id=worker_id,
                    worker_gone=worker_gone,
                    reason=reason,
                )
            )
    return stuck


def abandoned_tasks(since: datetime) -> list[StuckTask]:
    """Task rows the sweep marked FAILED because their worker was gone, newest first."""
    rows = (
        DBTaskResult.objects.failed()
        .filter(exception_class_path=WORKER_LOST_ERROR, finished_at__gte=since)
        .order_by("-finished_at")
        .only(
            "id", "task_path", "queue_name", "started_at", "finished_at", "worker_ids", "traceback"
        )[:STUCK_ROWS_SHOWN]
    )
    return [
        StuckTask(
            id=str(row.id),
            task_path=row.task_path,
            queue_name=row.queue_name,
            started_at=row.started_at,
            finished_at=row.finished_at,
            worker_id=row.worker_ids[-1] if row.worker_ids else "",
            worker_gone=True,
            reason=row.traceback,
        )
        for row in rows
    ]
