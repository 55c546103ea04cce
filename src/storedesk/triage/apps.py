from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    name = "storedesk.triage"
    label = "triage"
    verbose_name = _("Triage")

    def ready(self) -> None:
        # Registers the event handlers (analysis first: SLA clocks, priority and rules read
        # it), re-scoring on disputes and early fraud warnings, the SLA sweep and the model
        # retraining.
        from storedesk.triage import tasks  # noqa: F401
