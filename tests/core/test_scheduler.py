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
    names = [job.name for job in scheduler.registered_jobs()]
    assert {"outbox-sweep", "scheduler-prune"} <= set(names)


@pytest.mark.django_db
def test_old_claimed_slots_are_forgotten_the_current_ones_kept(only_test_job):
    scheduler.periodic("weekly-job", every=timedelta(days=7))(count_run)
    now = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
    for moment in (now - timedelta(days=9), now - timedelta(days=3), now):
        scheduler.fire_due_jobs(moment)
    weekly_now = scheduler._jobs["weekly-job"].slot_for(now)

    assert scheduler.prune_runs(now) == 3  # test-job 9 and 3 days ago, the weekly of 9 days

    assert set(ScheduledRun.objects.values_list("job", "slot")) == {
        ("test-job", now),
        ("weekly-job", weekly_now),  # still claimed: it must not fire again this week
    }
