from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "storedesk.risk"
    label = "risk"
    verbose_name = "Payment risk"

    def ready(self) -> None:
        # Registers the event handlers (scoring; closing reviews events overtook), the daily
        # digest job and the GeoIP file check.
        from storedesk.risk import checks, review, services, tasks  # noqa: F401
