"""`storedesk triage-sla-backfill`: store the resolution time of solved tickets whose clock was
last brought up to date before the clock kept it, so the SLA report counts them."""

from django.core.management.base import BaseCommand

from storedesk.triage.services import do_backfill_resolution_times


class Command(BaseCommand):
    help = (
        "Store the business-minute resolution time of solved and closed tickets that lack it "
        "(clocks written before it was stored). Safe to run again: done tickets are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="at most this many tickets")

    def handle(self, *args, **options):
        done = do_backfill_resolution_times(limit=options["limit"])
        self.stdout.write(f"{done:,} resolution times stored")
