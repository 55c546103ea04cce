"""`storedesk connect shopify --store SLUG --domain X.myshopify.com --token T --webhook-secret S`

Connects a store to an outside system (or replaces its credentials). One sub-command per
system, each with its own settings and secrets; `storedesk connect SYSTEM --help` lists them.
Secrets are encrypted before they are stored and never printed back.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from storedesk.commerce.models import Store
from storedesk.integrations.connections.services import do_connect
from storedesk.integrations.connections.systems import SYSTEMS

# How each setting or secret is spelled on the command line, where it differs from its name.
FLAGS = {
    "shop_domain": "--domain",
    "access_token": "--token",
}


def flag_for(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


class Command(BaseCommand):
    help = "Connect a store to Shopify, WooCommerce, Stripe, PayPal or EasyPost."

    def add_arguments(self, parser):
        systems = parser.add_subparsers(dest="system", required=True, metavar="SYSTEM")
        for spec in SYSTEMS.values():
            sub = systems.add_parser(spec.key, help=f"Connect {spec.label}")
            sub.add_argument("--store", required=True, help="the store's slug")
            for name in spec.all_config:
                sub.add_argument(
                    flag_for(name), dest=name, required=name in spec.config_fields, default=""
                )
            for name in spec.all_secrets:
                sub.add_argument(
                    flag_for(name),
                    dest=name,
                    required=name in spec.secret_fields,
                    default="",
                    help="secret: stored encrypted",
                )

    def handle(self, *args, system, store, **options):
        spec = SYSTEMS[system]
        found = Store.objects.filter(slug=store).first()
        if found is None:
            raise CommandError(f"no store with slug {store!r}")
        config = {name: options.get(name, "") for name in spec.all_config}
        secrets = {name: options.get(name, "") for name in spec.all_secrets}
        try:
            connection = do_connect(
                found, system, config=config, secrets=secrets, actor="command-line"
            )
        except ValidationError as error:
            details = "; ".join(
                f"{flag_for(name)}: {', '.join(messages)}"
                for name, messages in error.message_dict.items()
            )
            raise CommandError(details) from None
        shown = ", ".join(f"{key}={value}" for key, value in sorted(connection.config.items()))
        self.stdout.write(
            f"Connected {found.slug} to {spec.label} (connection {connection.pk}): {shown}; "
            f"secrets stored encrypted: {', '.join(connection.secret_names)}"
        )
