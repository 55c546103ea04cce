import signal
import threading

from django.core.management.base import BaseCommand

from storedesk.core.scheduler import registered_jobs, run_scheduler


class Command(BaseCommand):
    help = "Run the scheduler that enqueues periodic jobs (run exactly one per deployment)."

    def handle(self, *args, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        for job in registered_jobs():
            self.stdout.write(f"  {job.name}: every {job.every}")
        run_scheduler(stop)
