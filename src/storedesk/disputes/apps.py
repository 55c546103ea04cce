from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "storedesk.disputes"
    label = "disputes"
    verbose_name = "Disputes"

    def ready(self) -> None:
        # Registers the evidence assembly on `dispute_opened`, the early fraud warning policy
        # and the deadline reminder job.
        from storedesk.disputes import tasks  # noqa: F401
