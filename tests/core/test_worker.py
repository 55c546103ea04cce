"""The embedded queue: tasks enqueued on the database backend are run by our worker."""

import pytest
from django.tasks import task
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from storedesk.core.workers import build_worker

DB_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "mail", "webhooks"],
    }
}


@task()
def add(a: int, b: int) -> int:
    return a + b


@pytest.mark.django_db(transaction=True)
def test_database_queue_runs_enqueued_tasks():
    with override_settings(TASKS=DB_TASKS):
        result = add.enqueue(2, 3)
        assert DBTaskResult.objects.filter(status="READY").count() == 1
        worker = build_worker(interval=0)
        worker.batch = True
        worker.run()
        result.refresh()
        assert result.status == "SUCCESSFUL"
        assert result.return_value == 5
