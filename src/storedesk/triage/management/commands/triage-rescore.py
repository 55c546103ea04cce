"""`storedesk triage-rescore`: score every open ticket again with the priority weights that
apply now (set-based, in batches); priorities a person set are kept."""

from django.core.management.base import BaseCommand

from storedesk.triage.services import RESCORE_BATCH, do_rescore_open_tickets


class Command(BaseCommand):
    help = (
        "Re-score the open tickets' priority with the current weights (the newest version "
        "leads saved in the desk). Priorities set by hand stay."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=RESCORE_BATCH, help="tickets per transaction"
        )

    def handle(self, *args, **options):
        result = do_rescore_open_tickets(batch_size=max(1, options["batch_size"]))
        self.stdout.write(
            f"weights v{result.weights_version or 0}: {result.scored:,} open tickets scored, "
            f"{result.changed:,} changed priority"
        )
