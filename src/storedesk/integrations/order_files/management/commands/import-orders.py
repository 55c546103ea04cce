"""`storedesk import-orders FILE [--dry-run] [--store SLUG]`: load orders from Shopify's order
export or the generic CSV/XLSX layout (README, "Import orders from a file")."""

from django.core.management.base import BaseCommand, CommandError

from storedesk.commerce.models import Store
from storedesk.integrations.order_files.reader import OrderFileError
from storedesk.integrations.order_files.services import do_import_orders


class Command(BaseCommand):
    help = "Import orders from a CSV or XLSX file; --dry-run checks every row and stores nothing."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check only, store nothing")
        parser.add_argument("--store", default="", help="the store's slug (needed with several)")

    def handle(self, *args, **options):
        store = store_for(options["store"])
        try:
            with open(options["file"], "rb") as stream:
                report = do_import_orders(
                    store, stream, options["file"], dry_run=options["dry_run"]
                )
        except FileNotFoundError:
            raise CommandError(f"no such file: {options['file']}") from None
        except OrderFileError as error:
            raise CommandError(str(error)) from None
        for problem in report.problems:
            self.stdout.write(str(problem))
        verb = "would be new" if report.dry_run else "created"
        new = report.orders_valid - report.orders_already_stored
        self.stdout.write(
            f"{report.layout}: {report.rows_read} rows, {report.orders_valid} valid orders "
            f"({new if report.dry_run else report.orders_created} {verb}, "
            f"{report.orders_already_stored} already stored), "
            f"{report.rows_refused} rows refused"
        )


def store_for(slug: str) -> Store:
    if slug:
        store = Store.objects.filter(slug=slug).first()
        if store is None:
            raise CommandError(f"no store with the slug {slug!r}")
        return store
    stores = list(Store.objects.order_by("pk")[:2])
    if len(stores) != 1:
        raise CommandError(
            "name the store with --store SLUG" if stores else "no store yet: run `storedesk setup`"
        )
    return stores[0]
