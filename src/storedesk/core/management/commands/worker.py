from django.core.management.base import BaseCommand

from storedesk.core.workers import build_worker


class Command(BaseCommand):
    help = "Run a task worker (start as many as you need, on any machine)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue",
            action="append",
            dest="queues",
            help="queue to serve (repeatable); all queues by default",
        )
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, queues, interval, **options):
        worker = build_worker(interval=interval, queues=queues)
        worker.configure_signals()
        worker.run()
