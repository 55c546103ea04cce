from django.apps import AppConfig


class StripeConfig(AppConfig):
    name = "storedesk.integrations.stripe"
    label = "stripe"
    verbose_name = "Stripe"

    def ready(self) -> None:
        # Registers the periodic job that retries failed and lost events.
        from storedesk.integrations.stripe import tasks  # noqa: F401
        from storedesk.integrations.stripe.refunds import StripeRefundGateway
        from storedesk.resolutions.gateways import register_refund_gateway

        register_refund_gateway("stripe", StripeRefundGateway)
