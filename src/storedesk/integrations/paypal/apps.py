from django.apps import AppConfig


class PayPalConfig(AppConfig):
    name = "storedesk.integrations.paypal"
    label = "paypal"
    verbose_name = "PayPal"

    def ready(self) -> None:
        # Registers how PayPal's webhook events are applied.
        from storedesk.integrations.paypal import appliers  # noqa: F401
