"""The one scheduler for periodic jobs (SLA sweeps, mailbox polling, digests, reports).

Each job fires once per time slot: the slot is claimed with a unique row, so running two
schedulers by mistake never runs a job twice. The job itself is a task, run by the workers.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Q
from django.tasks import Task
from django.utils import timezone

from storedesk.core.models import ScheduledRun

logger = logging.getLogger(__name__)
ZERO = timedelta(0)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    task: Task

    def slot_for(self, moment: datetime) -> datetime:
        seconds = int(self.every.total_seconds())
        epoch = int(moment.timestamp())
        return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


_jobs: dict[str, PeriodicJob] = {}


def periodic(name: str, every: timedelta) -> callable:
    """Register a task to be enqueued once every `every`."""

    def register(job_task: Task) -> Task:
        _jobs[name] = PeriodicJob(name=name, every=every, task=job_task)
        return job_task

    return register


def registered_jobs() -> list[PeriodicJob]:
    return sorted(_jobs.values(), key=lambda job: job.name)


def fire_due_jobs(now: datetime | None = None) -> list[str]:
    """Enqueue every job whose current slot has not been claimed yet; returns their names."""
    now = now or timezone.now()
    fired = []
    for job in registered_jobs():
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(job=job.name, slot=job.slot_for(now))
                job.task.enqueue()
        except IntegrityError:
            continue
        fired.append(job.name)
    return fired


RUNS_KEPT_FOR = timedelta(days=1)  # beyond the job's own period


def prune_runs(now: datetime | None = None) -> int:
    """Forget claimed slots a day older than their job's period (the current slot of every
    job stays claimed, so nothing fires twice); a job polled every 20 s claims 4,320 a day."""
    now = now or timezone.now()
    jobs = registered_jobs()
    stale = Q(slot__lt=now - RUNS_KEPT_FOR - max((job.every for job in jobs), default=ZERO))
    for job in jobs:
        stale |= Q(job=job.name, slot__lt=now - RUNS_KEPT_FOR - job.every)
    deleted, _ = ScheduledRun.objects.filter(stale).delete()
    return deleted


def run_scheduler(stop: threading.Event, tick_seconds: float = 5.0) -> None:
    logger.info("Scheduler started with %d jobs", len(_jobs))
    while not stop.is_set():
        close_old_connections()
        try:
            fired = fire_due_jobs()
            if fired:
                logger.info("Enqueued periodic jobs: %s", ", ".join(fired))
        except Exception:
            logger.exception("Scheduler tick failed")
        stop.wait(tick_seconds)
    close_old_connections()
