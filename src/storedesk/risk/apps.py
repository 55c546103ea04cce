from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "storedesk.risk"
    label = "risk"
    verbose_name = "Payment risk"

    def ready(self) -> None:
        from storedesk.risk import services  # noqa: F401 - registers the event handlers
