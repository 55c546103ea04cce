"""What each outside system needs to be connected: its settings (kept in clear) and its
secrets (kept encrypted), and which setting finds the connection when a webhook arrives.

Connectors read these through `credentials_for(store, system)`; the settings page, the API
and `storedesk connect` validate against them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class SystemSpec:
    key: str
    label: str
    config_fields: tuple[str, ...]  # required, non-secret
    secret_fields: tuple[str, ...]  # required, encrypted at rest
    optional_config: tuple[str, ...] = ()
    optional_secrets: tuple[str, ...] = ()
    # The setting a webhook names its sender by (Shopify's shop domain …); '' if none.
    lookup_field: str = ""

    @property
    def all_config(self) -> tuple[str, ...]:
        return self.config_fields + self.optional_config

    @property
    def all_secrets(self) -> tuple[str, ...]:
        return self.secret_fields + self.optional_secrets


SHOPIFY = "shopify"
WOOCOMMERCE = "woocommerce"
STRIPE = "stripe"
PAYPAL = "paypal"
EASYPOST = "easypost"

SYSTEMS: dict[str, SystemSpec] = {
    SHOPIFY: SystemSpec(
        SHOPIFY,
        "Shopify",
        config_fields=("shop_domain",),
        secret_fields=("access_token", "webhook_secret"),
        optional_config=("api_version", "api_base_url"),
        lookup_field="shop_domain",
    ),
    WOOCOMMERCE: SystemSpec(
        WOOCOMMERCE,
        "WooCommerce",
        config_fields=("site_url",),
        secret_fields=("consumer_key", "consumer_secret", "webhook_secret"),
        optional_config=("api_base_url",),
        lookup_field="site_url",
    ),
    STRIPE: SystemSpec(
        STRIPE,
        "Stripe",
        config_fields=("account_id",),
        secret_fields=("api_key",),
        optional_secrets=("webhook_secret",),
        optional_config=("api_base_url",),
        lookup_field="account_id",
    ),
    PAYPAL: SystemSpec(
        PAYPAL,
        "PayPal",
        config_fields=("client_id", "webhook_id"),
        secret_fields=("client_secret",),
        optional_config=("environment", "api_base_url"),
        lookup_field="webhook_id",
    ),
    EASYPOST: SystemSpec(
        EASYPOST,
        "EasyPost",
        config_fields=(),
        secret_fields=("api_key", "webhook_secret"),
        optional_config=("api_base_url",),
    ),
}

SYSTEM_CHOICES = [(spec.key, spec.label) for spec in SYSTEMS.values()]
SYSTEM_HELP = {
    SHOPIFY: _("Orders, payments, refunds, fulfilments and disputes of a Shopify shop."),
    WOOCOMMERCE: _("Orders and refunds of a WooCommerce site."),
    STRIPE: _("Charges, refunds and disputes of a Stripe account."),
    PAYPAL: _("Captures, refunds and disputes of a PayPal account."),
    EASYPOST: _("Live tracking of shipments through EasyPost."),
}
