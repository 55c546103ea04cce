"""`storedesk risk-digest [--date YYYY-MM-DD] [--send]`: print a day's payment digest or mail
it to the leads and payments specialists."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from storedesk.commerce.queries import current_store, store_today
from storedesk.risk.digest import DigestDayError, build_digest, parse_day
from storedesk.risk.digest_email import do_send_digest, render_digest


class Command(BaseCommand):
    help = (
        "Print the daily payment digest of one store day (yesterday in the store's time zone "
        "unless --date is given). With --send, email it to the leads and payments specialists "
        "who have not had that day's digest yet."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", default="", help="the store day, as YYYY-MM-DD")
        parser.add_argument(
            "--send", action="store_true", help="email it (once per person and day)"
        )

    def handle(self, *args, **options):
        store = current_store()
        if store is None:
            raise CommandError("There is no store yet: connect one or run `storedesk demo`.")
        now = timezone.now()
        today = store_today(store, now)
        try:
            day = parse_day(options["date"], today) if options["date"] else today - timedelta(1)
        except DigestDayError as error:
            raise CommandError(f"--date: {error}") from None
        if options["send"]:
            report = do_send_digest(store, day, now=now)
            self.stdout.write(f"Digest of {day}: sent to {len(report.sent)}")
            for label, emails in (
                ("sent", report.sent),
                ("already had it", report.already_sent),
                ("failed (retried on the next run)", report.failed),
            ):
                for email in emails:
                    self.stdout.write(f"  {label}: {email}")
            if report.failed:
                raise CommandError(f"{len(report.failed)} digest emails could not be sent")
            return
        digest = build_digest(store, day, now=now)
        self.stdout.write(render_digest(digest).text)
        self.stderr.write(f"anomalies computed in {digest.anomalies.seconds * 1000:.0f} ms")
