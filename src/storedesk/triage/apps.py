from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    name = "storedesk.triage"
    label = "triage"
    verbose_name = _("Triage")

    def ready(self) -> None:
        from storedesk.desk.queries import register_sla_ticket_ids
        from storedesk.triage import tasks  # noqa: F401  (registers the handlers and jobs)
        from storedesk.triage.queries import sla_at_risk_ticket_ids, sla_overdue_ticket_ids

        # `tasks` registers the event handlers (analysis first: SLA clocks, priority and rules
        # read it), re-scoring on disputes and early fraud warnings, the SLA sweep and the
        # model retraining. The desk sits below triage and never imports it: it learns here
        # where the SLA clocks are, for its "SLA at risk" and "Overdue" inbox views.
        register_sla_ticket_ids(at_risk=sla_at_risk_ticket_ids, overdue=sla_overdue_ticket_ids)
