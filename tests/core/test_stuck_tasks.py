"""Task rows left RUNNING by a worker that is gone are found, marked failed and shown."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.tasks import task
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from storedesk.accounts.roles import Role
from storedesk.core import events
from storedesk.core.events import record_event, redispatch_stale_events
from storedesk.core.models import DomainEvent, NamedSequence, WorkerHeartbeat
from storedesk.core.queries import (
    TASK_LEASE,
    WORKER_LOST_AFTER,
    WORKER_LOST_ERROR,
    abandoned_tasks,
    find_stuck_tasks,
)
from storedesk.core.scheduler import registered_jobs
from storedesk.core.services import do_mark_abandoned_tasks
from storedesk.core.workers import build_worker
from tests.core import slow_work_worker
from tests.core.test_worker import DB_TASKS

REPO_ROOT = Path(__file__).resolve().parents[2]


@task()
def noop() -> None:
    return None


def _running_row(worker_id: str, *, started_ago: timedelta = timedelta(0)) -> DBTaskResult:
    with override_settings(TASKS=DB_TASKS):
        result = noop.enqueue()
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim(worker_id)
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=timezone.now() - started_ago)
    return row


def _abandoned_ids() -> list[str]:
    return [task.id for task in abandoned_tasks(timezone.now() - timedelta(days=1))]


def _heartbeat(worker_id: str, *, host: str, pid: int, seen_ago: timedelta) -> WorkerHeartbeat:
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id, hostname=host, pid=pid, last_seen_at=timezone.now() - seen_ago
    )


@pytest.mark.django_db
def test_a_row_whose_worker_stopped_beating_is_marked_failed_with_the_reason():
    _heartbeat("w-lost", host="other-host", pid=4242, seen_ago=WORKER_LOST_AFTER * 2)
    row = _running_row("w-lost", started_ago=timedelta(minutes=5))

    assert do_mark_abandoned_tasks() == 1

    row.refresh_from_db()
    assert row.status == "FAILED"
    assert row.exception_class_path == WORKER_LOST_ERROR
    assert "w-lost on other-host (pid 4242) was last seen" in row.traceback
    assert row.finished_at is not None
    assert [task.id for task in abandoned_tasks(timezone.now() - timedelta(days=1))] == [
        str(row.pk)
    ]
    assert not WorkerHeartbeat.objects.exists()  # the gone worker is forgotten
    assert do_mark_abandoned_tasks() == 0


@pytest.mark.django_db
def test_a_row_whose_worker_process_is_gone_from_this_host_is_marked_at_once():
    dead_pid = _a_pid_that_is_not_running()
    _heartbeat("w-dead", host=socket.gethostname(), pid=dead_pid, seen_ago=timedelta(0))
    row = _running_row("w-dead")

    assert do_mark_abandoned_tasks() == 1

    row.refresh_from_db()
    assert row.status == "FAILED"
    assert f"process {dead_pid} no longer runs" in row.traceback


@pytest.mark.django_db
def test_a_row_of_a_live_worker_is_left_alone_and_past_its_lease_only_shown():
    _heartbeat("w-live", host=socket.gethostname(), pid=os.getpid(), seen_ago=timedelta(0))
    fresh = _running_row("w-live")
    overdue = _running_row("w-live", started_ago=TASK_LEASE + timedelta(minutes=1))

    assert do_mark_abandoned_tasks() == 0

    stuck = find_stuck_tasks()
    assert [(task.id, task.worker_gone) for task in stuck] == [(str(overdue.pk), False)]
    fresh.refresh_from_db()
    overdue.refresh_from_db()
    assert (fresh.status, overdue.status) == ("RUNNING", "RUNNING")


@pytest.mark.django_db
def test_a_row_of_a_worker_without_heartbeat_is_marked_only_after_the_grace():
    just_claimed = _running_row("w-unknown")
    long_ago = _running_row("w-unknown", started_ago=WORKER_LOST_AFTER * 2)

    assert do_mark_abandoned_tasks() == 1

    assert DBTaskResult.objects.get(pk=long_ago.pk).status == "FAILED"
    assert DBTaskResult.objects.get(pk=just_claimed.pk).status == "RUNNING"


def test_the_scheduler_sweeps_abandoned_tasks_every_minute():
    jobs = {job.name: job.every for job in registered_jobs()}
    assert jobs["abandoned-task-sweep"] == timedelta(minutes=1)


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_a_heartbeat_while_it_runs_and_removes_it_when_it_stops():
    seen = []
    with override_settings(TASKS=DB_TASKS):
        noop.enqueue()
        worker = build_worker(interval=0)
        worker.batch = True
        original = worker.run_task

        def run_task(db_task_result):
            seen.extend(WorkerHeartbeat.objects.values_list("worker_id", "hostname", "pid"))
            original(db_task_result)

        worker.run_task = run_task
        worker.run()

    assert seen == [(worker.worker_id, socket.gethostname(), os.getpid())]
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db
def test_the_stuck_tasks_page_is_for_admins_and_lists_both_kinds(client, make_user):
    _heartbeat("w-lost", host="other-host", pid=4242, seen_ago=WORKER_LOST_AFTER * 2)
    marked = _running_row("w-lost")
    do_mark_abandoned_tasks()
    still = _running_row("w-gone", started_ago=WORKER_LOST_AFTER * 2)

    client.force_login(make_user(Role.LEAD))
    assert client.get("/system/tasks/stuck/").status_code == 403

    client.force_login(make_user(Role.ADMIN, username="admin"))
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/system/tasks/stuck/")
    assert page.status_code == 200
    body = page.content.decode()
    assert str(marked.pk) in body
    assert str(still.pk) in body
    assert "w-gone is gone" in body
    # session, user, permissions (2), running rows, their heartbeats, abandoned rows
    assert len(queries) == 7


@pytest.mark.django_db
def test_the_command_lists_and_marks(capsys):
    _heartbeat("w-lost", host="other-host", pid=4242, seen_ago=WORKER_LOST_AFTER * 2)
    row = _running_row("w-lost")
    out = StringIO()
    call_command("stuck-tasks", stdout=out)
    assert "Still RUNNING: 1" in out.getvalue()
    assert str(row.pk) in out.getvalue()

    out = StringIO()
    call_command("stuck-tasks", "--mark", stdout=out)
    assert "Marked 1 abandoned task(s) failed." in out.getvalue()
    assert "Marked abandoned (last 7 days): 1" in out.getvalue()
    assert "Still RUNNING" not in out.getvalue()


def _a_pid_that_is_not_running() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _database_url_for_other_processes() -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
        return (
            f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}"
        )
    return f"sqlite:///{settings['NAME']}"


@pytest.fixture
def slow_work_handler():
    slow_work_worker.register_slow_work_handler()
    yield
    events._handlers.pop(slow_work_worker.SLOW_WORK_EVENT, None)


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_leaves_a_row_that_is_marked_and_the_work_is_done_once(
    tmp_path, slow_work_handler
):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "needs a database another process can open: PostgreSQL or STOREDESK_TEST_DB_FILE=1"
        )
    hold, started = tmp_path / "hold", tmp_path / "started"
    hold.touch()
    with override_settings(TASKS=DB_TASKS):
        with transaction.atomic():
            event = record_event(slow_work_worker.SLOW_WORK_EVENT)
        env = {
            **os.environ,
            "DATABASE_URL": _database_url_for_other_processes(),
            "DJANGO_SETTINGS_MODULE": "storedesk.settings.prod",
            "STOREDESK_VAR_DIR": str(tmp_path),
            slow_work_worker.HOLD_FILE: str(hold),
            slow_work_worker.STARTED_FILE: str(started),
        }
        log = tmp_path / "worker.log"
        worker = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [sys.executable, str(Path(slow_work_worker.__file__))],
            env=env,
            cwd=REPO_ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 180  # a cold start on a busy machine is slow
            while not started.exists():
                if worker.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the worker never started the task: {log.read_text()}")
                time.sleep(0.1)
            worker.send_signal(signal.SIGKILL)  # mid-task, its transaction open
        finally:
            worker.kill()
            worker.wait(timeout=30)

        row = DBTaskResult.objects.get(task_path="storedesk.core.events.dispatch_event")
        assert row.status == "RUNNING"  # what the killed worker left behind
        assert not NamedSequence.objects.filter(name=slow_work_worker.SLOW_WORK_COUNTER).exists()

        out = StringIO()
        call_command("stuck-tasks", "--mark", stdout=out)
        row.refresh_from_db()
        assert row.status == "FAILED"
        assert row.exception_class_path == WORKER_LOST_ERROR
        assert f"process {worker.pid} no longer runs" in row.traceback
        assert "Marked 1 abandoned task(s) failed." in out.getvalue()
        assert str(row.pk) in out.getvalue()

        # The outbox sweep re-dispatches the lost event; a worker does the work, once.
        hold.unlink()
        assert redispatch_stale_events(older_than=timedelta(0)) == 1
        redo = build_worker(interval=0)
        redo.batch = True
        redo.run()

    event.refresh_from_db()
    assert event.handled_at is not None
    assert NamedSequence.objects.get(name=slow_work_worker.SLOW_WORK_COUNTER).value == 1
    assert DomainEvent.objects.count() == 1
    assert list(DBTaskResult.objects.order_by("enqueued_at").values_list("status", flat=True)) == [
        "FAILED",
        "SUCCESSFUL",
    ]
    assert [task.id for task in abandoned_tasks(timezone.now() - timedelta(days=1))] == [
        str(row.pk)
    ]
    assert find_stuck_tasks() == []
