"""What triage adds to the desk, which sits below it and cannot import it: where the SLA
clocks are, for the inbox's "SLA at risk" and "Overdue" views and Home's deadlines (via
`desk.queries.register_sla_ticket_ids`). `TriageConfig.ready()` calls `register()`."""

from storedesk.desk.queries import register_sla_ticket_ids
from storedesk.triage.queries import sla_at_risk_ticket_ids, sla_overdue_ticket_ids


def register() -> None:
    register_sla_ticket_ids(at_risk=sla_at_risk_ticket_ids, overdue=sla_overdue_ticket_ids)
