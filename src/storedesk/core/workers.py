"""Start the task worker and the scheduler, in their own processes or inside `storedesk run`."""

import logging
import threading

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from storedesk.core.scheduler import run_scheduler

logger = logging.getLogger(__name__)


def build_worker(interval: float = 1.0, queues: list[str] | None = None) -> Worker:
    return Worker(
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
