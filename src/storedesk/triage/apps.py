from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    name = "storedesk.triage"
    label = "triage"
    verbose_name = _("Triage")

    def ready(self) -> None:
        # Importing `tasks` registers the event handlers (analysis first: SLA clocks, priority
        # and rules read it), re-scoring on disputes and early fraud warnings, the SLA sweep
        # and the model retraining.
        from storedesk.triage import extensions, tasks  # noqa: F401

        extensions.register()  # where the SLA clocks are, for the desk's inbox views
