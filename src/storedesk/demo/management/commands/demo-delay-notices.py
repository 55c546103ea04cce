"""`storedesk demo-delay-notices`: the demo store's late parcels as delay notices."""

from django.core.management.base import BaseCommand, CommandError

from storedesk.demo.loader import demo_store
from storedesk.demo.tracking_scenarios import record_demo_notices


class Command(BaseCommand):
    help = (
        "Record the demo store's stuck parcels and carrier exceptions of the last eight weeks; "
        "tell the last week's customers (the weeks before are the baseline). Run after `demo`."
    )

    def handle(self, *args, **options):
        store = demo_store()
        if store is None:
            raise CommandError("No demo store: run `storedesk demo` first.")
        done = record_demo_notices(store)
        self.stdout.write(
            f"Delay notices sent: {done.notified}; problems recorded without a notice "
            f"(baseline): {done.unnotified}"
        )
