from datetime import UTC, datetime, timedelta

import pytest
from django.tasks import task

from storedesk.core import scheduler
from storedesk.core.models import ScheduledRun

RUNS = []


@task()
def count_run() -> None:
    RUNS.append(1)


@pytest.fixture
def only_test_job(monkeypatch):
    RUNS.clear()
    monkeypatch.setattr(scheduler, "_jobs", {})
    scheduler.periodic("test-job", every=timedelta(minutes=5))(count_run)


@pytest.mark.django_db
def test_a_job_fires_once_per_slot_even_with_two_schedulers(only_test_job):
    at = datetime(2026, 5, 1, 10, 2, tzinfo=UTC)
    assert scheduler.fire_due_jobs(at) == ["test-job"]
    assert scheduler.fire_due_jobs(at + timedelta(minutes=2)) == []  # same 10:00 slot
    assert scheduler.fire_due_jobs(at + timedelta(minutes=3)) == ["test-job"]  # 10:05 slot
    assert RUNS == [1, 1]
    assert list(ScheduledRun.objects.order_by("slot").values_list("slot", flat=True)) == [
        datetime(2026, 5, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 5, 1, 10, 5, tzinfo=UTC),
    ]


def test_core_jobs_are_registered():
    assert "outbox-sweep" in [job.name for job in scheduler.registered_jobs()]
