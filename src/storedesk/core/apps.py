from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "storedesk.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Import the modules that register event handlers and periodic jobs.
        from storedesk.core import tasks, webhooks  # noqa: F401
