"""What triage adds to the layers below it, which cannot import triage: where the SLA clocks
are, for the desk's inbox "SLA at risk" and "Overdue" views and Home's deadlines (via
`desk.queries.register_sla_ticket_ids`), and the team's business-hours calendar and the
chargeback-threat flag for the disputes workspace (via `disputes.extensions`).
`TriageConfig.ready()` calls `register()`."""

from storedesk.desk.queries import register_sla_ticket_ids
from storedesk.disputes import extensions as dispute_extensions
from storedesk.triage.calendar import Calendar, calendar_of, default_calendar_record
from storedesk.triage.models import MessageAnalysis
from storedesk.triage.queries import sla_at_risk_ticket_ids, sla_overdue_ticket_ids


def team_calendar() -> Calendar:
    """The team's default calendar (the one the SLA clocks follow)."""
    return calendar_of(default_calendar_record())


def threatened_chargeback(ticket_id: int) -> bool:
    """Whether any analysed message of the ticket threatens a chargeback (one query)."""
    return any(
        "chargeback" in (threats or [])
        for threats in MessageAnalysis.objects.filter(
            ticket_id=ticket_id, has_threat=True
        ).values_list("threats", flat=True)
    )


def register() -> None:
    register_sla_ticket_ids(at_risk=sla_at_risk_ticket_ids, overdue=sla_overdue_ticket_ids)
    dispute_extensions.register_business_calendar(team_calendar)
    dispute_extensions.register_threat_check(threatened_chargeback)
