from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "storedesk.integrations.shopify"
    label = "shopify"
    verbose_name = "Shopify"

    def ready(self) -> None:
        # Registers how Shopify's deliveries are applied and how a shop is reconciled.
        from storedesk.disputes.responders import register_dispute_client
        from storedesk.integrations.connections.intake import register_source
        from storedesk.integrations.shopify import appliers, disputes_client, tasks  # noqa: F401
        from storedesk.integrations.shopify.platform import platform_for_store
        from storedesk.integrations.shopify.refunds import GATEWAY, ShopifyPaymentsRefundGateway
        from storedesk.integrations.shopify.webhooks import SOURCE
        from storedesk.resolutions.gateways import register_refund_gateway
        from storedesk.resolutions.platform import register_platform

        # Resolutions act through Shopify for stores with an active Shopify connection.
        register_platform("shopify", platform_for_store)
        register_refund_gateway(GATEWAY, lambda **_credentials: ShopifyPaymentsRefundGateway())
        # Evidence for Shopify Payments disputes goes through the same store's connection.
        register_dispute_client(GATEWAY, disputes_client)
        # POST /webhooks/shopify/ is answered by the lean WSGI entry of `storedesk web`.
        register_source(SOURCE)
