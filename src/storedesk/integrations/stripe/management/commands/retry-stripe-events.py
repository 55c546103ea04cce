"""`storedesk retry-stripe-events [evt_… …]`: apply failed Stripe events again.

Without ids, every event that ran out of automatic retries; run it once the cause is fixed
(the order imported, the bug deployed). The worker applies them.
"""

from django.core.management.base import BaseCommand

from storedesk.integrations.stripe.services import do_retry_events


class Command(BaseCommand):
    help = "Queue failed Stripe events for another attempt."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="*", metavar="EVENT_ID", help="evt_… ids")

    def handle(self, *args, **options):
        count = do_retry_events(options["event_ids"])
        self.stdout.write(f"{count} Stripe event(s) queued for another attempt.")
