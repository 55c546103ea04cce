"""`storedesk risk-close-overtaken`: close the open reviews that events have overtaken."""

import time

from django.core.management.base import BaseCommand

from storedesk.risk.review import do_close_overtaken_reviews


class Command(BaseCommand):
    help = (
        "Close every open risk review whose order was already cancelled, voided, refunded in "
        "full or shipped, with the fact and its date on the review's timeline and in the "
        "order's history. New facts close reviews as they arrive; this catches the reviews "
        "opened before that. Safe to run again."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        closed = do_close_overtaken_reviews()
        seconds = time.perf_counter() - started
        self.stdout.write(f"Closed {closed:,} reviews overtaken by events in {seconds:.1f} s")
