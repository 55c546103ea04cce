"""A real `storedesk worker` process whose handler of `test.slow_work` can be held mid-task.

Run as a script (by tests/core/test_stuck_tasks.py) it registers the handler and starts the
worker command; imported, it only registers the handler (for the in-process redo).
"""

import os
import sys
import time
from pathlib import Path

HOLD_FILE = "SLOW_WORK_HOLD_FILE"  # while this file exists, the handler waits mid-transaction
STARTED_FILE = "SLOW_WORK_STARTED_FILE"  # touched once the handler has done its write
SLOW_WORK_EVENT = "test.slow_work"
SLOW_WORK_COUNTER = "slow-work-done"


def do_slow_work(event) -> None:
    """Count the work in the event's transaction, then wait while the hold file exists."""
    from django.db.models import F

    from storedesk.core.models import NamedSequence

    NamedSequence.objects.get_or_create(name=SLOW_WORK_COUNTER)
    NamedSequence.objects.filter(name=SLOW_WORK_COUNTER).update(value=F("value") + 1)
    if started := os.environ.get(STARTED_FILE):
        Path(started).touch()
    hold = os.environ.get(HOLD_FILE)
    while hold and Path(hold).exists():
        time.sleep(0.05)


def register_slow_work_handler() -> None:
    from storedesk.core.events import handles

    handles(SLOW_WORK_EVENT)(do_slow_work)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storedesk.settings.prod")
    import django

    django.setup()
    register_slow_work_handler()
    from django.core.management import call_command

    call_command("worker", interval=0.1)
