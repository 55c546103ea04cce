from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "storedesk.integrations.connections"
    label = "connections"
    verbose_name = "Connections"

    def ready(self) -> None:
        # The periodic sweep that applies parked, failed and lost deliveries; who is told
        # when a connection breaks.
        from storedesk.integrations.connections import handlers, tasks  # noqa: F401
