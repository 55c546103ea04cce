from django.apps import AppConfig


class ResolutionsConfig(AppConfig):
    name = "storedesk.resolutions"
    label = "resolutions"
    verbose_name = "Resolutions"

    def ready(self) -> None:
        # Registers the periodic jobs: retrying gateway calls, expiring approvals.
        from storedesk.resolutions import tasks  # noqa: F401
