from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "storedesk.gateways"
    label = "gateways"
    verbose_name = "Gateway account health"

    def ready(self) -> None:
        from storedesk.gateways import handlers  # noqa: F401
