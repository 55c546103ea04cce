"""`storedesk stuck-tasks [--mark] [--days N]`: background tasks whose worker is gone."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from storedesk.core.queries import abandoned_tasks, find_stuck_tasks
from storedesk.core.services import do_mark_abandoned_tasks


class Command(BaseCommand):
    help = (
        "List task rows left RUNNING by a worker that is gone (or running past their lease), "
        "and those the abandoned-task sweep already marked failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--mark",
            action="store_true",
            help="mark the abandoned ones failed now (the scheduler does it every minute)",
        )
        parser.add_argument(
            "--days", type=int, default=7, help="marked ones of the last N days (default 7)"
        )

    def handle(self, *args, mark, days, **options):
        now = timezone.now()
        if mark:
            marked = do_mark_abandoned_tasks(now)
            self.stdout.write(f"Marked {marked} abandoned task(s) failed.")
        stuck = find_stuck_tasks(now)
        abandoned = abandoned_tasks(now - timedelta(days=days))
        if not stuck and not abandoned:
            self.stdout.write("No stuck tasks.")
            return
        for title, rows in (
            ("Still RUNNING", stuck),
            (f"Marked abandoned (last {days} days)", abandoned),
        ):
            if not rows:
                continue
            self.stdout.write(f"{title}: {len(rows)}")
            for row in rows:
                started = f"{row.started_at:%Y-%m-%d %H:%M:%S}" if row.started_at else "-"
                self.stdout.write(
                    f"  {row.id}  {row.task_path}  queue={row.queue_name}  "
                    f"started={started}  worker={row.worker_id or '-'}\n    {row.reason}"
                )
