"""`storedesk add-webhook URL --events ticket_created message_sent`: follow ticket events.

Prints the endpoint's signing secret once; see storedesk.core.webhooks for how to verify it.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from storedesk.core.webhooks import SIGNATURE_HEADER, TICKET_EVENTS, do_add_endpoint


class Command(BaseCommand):
    help = "Add a webhook endpoint for ticket events and print its signing secret."

    def add_arguments(self, parser):
        parser.add_argument("url", help="https://… that receives signed POSTs")
        parser.add_argument(
            "--events",
            nargs="+",
            default=["*"],
            metavar="EVENT",
            help=f"Event names (default: all): {', '.join(TICKET_EVENTS)}",
        )
        parser.add_argument("--description", default="")

    def handle(self, *args, **options):
        try:
            endpoint = do_add_endpoint(
                options["url"], options["events"], description=options["description"]
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"Webhook {endpoint.pk} → {endpoint.url}")
        self.stdout.write(f"Events: {', '.join(endpoint.events)}")
        self.stdout.write(f"Secret: {endpoint.secret}")
        self.stdout.write(
            f"Verify the {SIGNATURE_HEADER} header (t=…,v1=…): HMAC-SHA256 of "
            "'<t>.<raw body>' with this secret; keep the secret private."
        )
