"""`storedesk risk-train [--force] [--holdout-days N]`: train the risk score model on the
store's labelled history and print its held-out metrics."""

from django.core.management.base import BaseCommand, CommandError

from storedesk.risk.model import NotEnoughLabels, metrics_table
from storedesk.risk.training import do_train_model


class Command(BaseCommand):
    help = (
        "Train the risk score model on the store's own labelled history (fraud disputes, "
        "orders cancelled or refunded as fraud, review decisions; good orders once they are "
        "old enough for a chargeback to have arrived). The new version is activated only if it "
        "does at least as well as the active one on the held-out window, unless --force; an "
        "activation re-scores the last week's orders that nobody has acted on yet."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="activate the new model even if it is worse"
        )
        parser.add_argument(
            "--holdout-days",
            type=str,
            default=None,
            help="days of the most recent labelled orders held out for testing (default 60)",
        )
        parser.add_argument(
            "--no-rescore", action="store_true", help="do not re-score open orders afterwards"
        )

    def handle(self, *args, **options):
        holdout = _holdout_days(options["holdout_days"])
        try:
            report = do_train_model(
                force=options["force"], holdout_days=holdout, rescore=not options["no_rescore"]
            )
        except NotEnoughLabels as refusal:
            raise CommandError(str(refusal)) from None
        self.stdout.write(metrics_table(report.risk_model))
        if report.activated:
            self.stdout.write(f"  re-scored {report.rescored:,} open orders of the last week")
        self.stdout.write(f"  in {report.seconds:.1f} s")


def _holdout_days(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        days = int(value)
    except ValueError:
        raise CommandError(f"--holdout-days must be a whole number, got {value!r}") from None
    if not 1 <= days <= 365:
        raise CommandError(f"--holdout-days must be between 1 and 365, got {days}")
    return days
