from django.apps import AppConfig


class CarriersConfig(AppConfig):
    name = "storedesk.integrations.carriers"
    label = "carriers"
    verbose_name = "Carrier tracking"

    def ready(self) -> None:
        # Registers the tracker webhooks' applier and the "new tracking number" handler.
        from storedesk.integrations.carriers import appliers, handlers, tasks  # noqa: F401
