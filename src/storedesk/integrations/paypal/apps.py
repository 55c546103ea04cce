from django.apps import AppConfig


class PayPalConfig(AppConfig):
    name = "storedesk.integrations.paypal"
    label = "paypal"
    verbose_name = "PayPal"

    def ready(self) -> None:
        # Registers how PayPal's webhook events are applied.
        from storedesk.integrations.paypal import appliers  # noqa: F401
        from storedesk.integrations.paypal.refunds import PayPalRefundGateway
        from storedesk.resolutions.gateways import register_refund_gateway

        register_refund_gateway("paypal", PayPalRefundGateway)
