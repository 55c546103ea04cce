"""Start the task worker and the scheduler, in their own processes or inside `storedesk run`.

Every worker keeps a heartbeat row (worker id, host, pid, last seen) while it runs, so a task
row left RUNNING by a worker that was killed can be told from one that is still working.
"""

import logging
import os
import socket
import threading
from datetime import timedelta

from django.db import close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from storedesk.core.models import WorkerHeartbeat
from storedesk.core.scheduler import run_scheduler

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = timedelta(seconds=10)


class HeartbeatWorker(Worker):
    """django-tasks-db's worker, plus a heartbeat row written every `HEARTBEAT_EVERY`."""

    def run(self) -> None:
        stopped = threading.Event()
        self._beat()
        thread = threading.Thread(
            target=self._keep_beating, args=(stopped,), name="worker-heartbeat", daemon=True
        )
        thread.start()
        try:
            super().run()
        finally:
            stopped.set()
            thread.join(timeout=5)
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()

    def _beat(self) -> None:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "last_seen_at": timezone.now(),
            },
        )

    def _keep_beating(self, stopped: threading.Event) -> None:
        while not stopped.wait(HEARTBEAT_EVERY.total_seconds()):
            try:
                close_old_connections()
                self._beat()
            except Exception:
                logger.exception("Worker heartbeat failed")
        close_old_connections()


def build_worker(interval: float = 1.0, queues: list[str] | None = None) -> HeartbeatWorker:
    return HeartbeatWorker(
        queue_names=queues or ["*"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"storedesk-{get_random_string(8)}",
        excluded_queue_names=[],
    )


def start_background_threads(stop: threading.Event) -> list[threading.Thread]:
    """The embedded mode: one worker and the scheduler as daemon threads of the web process."""
    worker = build_worker()

    def run_worker():
        try:
            worker.run()
        except Exception:
            logger.exception("Embedded worker stopped")

    def stop_worker_when_asked():
        stop.wait()
        worker.running = False

    threads = [
        threading.Thread(target=run_worker, name="task-worker", daemon=True),
        threading.Thread(target=stop_worker_when_asked, name="worker-stopper", daemon=True),
        threading.Thread(target=run_scheduler, args=(stop,), name="scheduler", daemon=True),
    ]
    for thread in threads:
        thread.start()
    return threads
