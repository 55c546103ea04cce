import pytest
from django.test import override_settings

IMMEDIATE_TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "mail", "webhooks"],
    }
}


@pytest.fixture(autouse=True)
def immediate_tasks():
    """These tests assert that tasks ran, so they pin the immediate backend explicitly rather
    than trusting whatever an earlier test left configured."""
    with override_settings(TASKS=IMMEDIATE_TASKS):
        yield
