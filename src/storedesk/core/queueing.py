"""Enqueueing after commit. `django.tasks` has no 'enqueue after commit', so every app uses
this one (also importable from `core.tasks`)."""

from functools import partial

from django.db import transaction
from django.tasks import Task


def enqueue_on_commit(task: Task, *args, using: str | None = None, **kwargs) -> None:
    """Enqueue `task` once the current transaction commits; never for a rolled-back change."""
    transaction.on_commit(partial(task.enqueue, *args, **kwargs), using=using)
