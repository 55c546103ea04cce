import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand
from waitress import serve

from storedesk.core.workers import start_background_threads
from storedesk.wsgi import application


class Command(BaseCommand):
    help = "Everything in one process: migrate, then serve the desk with a worker and scheduler."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, host, port, no_migrate, **options):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        stop = threading.Event()
        start_background_threads(stop)
        self.stdout.write(self.style.SUCCESS(f"Storedesk is serving on http://{host}:{port}/"))
        try:
            serve(application, host=host, port=port, threads=8, ident="storedesk")
        finally:
            stop.set()
