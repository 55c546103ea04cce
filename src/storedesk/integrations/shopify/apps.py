from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "storedesk.integrations.shopify"
    label = "shopify"
    verbose_name = "Shopify"

    def ready(self) -> None:
        # Registers how Shopify's deliveries are applied and how a shop is reconciled.
        from storedesk.integrations.shopify import appliers, tasks  # noqa: F401
