from django.apps import AppConfig


class WooCommerceConfig(AppConfig):
    name = "storedesk.integrations.woocommerce"
    label = "woocommerce"
    verbose_name = "WooCommerce"

    def ready(self) -> None:
        # Registers how WooCommerce deliveries are applied and how a site is reconciled.
        from storedesk.integrations.connections.intake import register_source
        from storedesk.integrations.woocommerce import appliers, tasks  # noqa: F401
        from storedesk.integrations.woocommerce.webhooks import SOURCE

        # POST /webhooks/woocommerce/ is answered by the lean WSGI entry of `storedesk web`.
        register_source(SOURCE)
        # Resolutions act through WooCommerce for stores with an active WooCommerce connection.
        from storedesk.integrations.woocommerce.platform import platform_for_store
        from storedesk.resolutions.platform import register_platform

        register_platform("woocommerce", platform_for_store)
