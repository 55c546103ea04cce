from django.apps import AppConfig


class ExperienceConfig(AppConfig):
    """The customer's side beyond tickets: help center, order tracking, surveys, outreach."""

    name = "storedesk.experience"
    label = "experience"
    verbose_name = "Customer experience"

    def ready(self) -> None:
        # Registers the outbox handlers and periodic jobs of each feature (help center
        # deflection, tracking's proactive notices, outreach sending, …).
        # Importing the tasks registers the periodic jobs and the outbox handlers (help center
        # deflection, surveys after a solve).
        from storedesk.experience import tasks  # noqa: F401
