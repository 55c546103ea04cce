"""The registry through which the desk and triage tell disputes what it cannot import."""

from datetime import UTC, datetime

from storedesk.disputes import extensions, queries


def test_the_desk_and_triage_fill_the_registry():
    from storedesk.desk.extensions import dispute_conversation, ticket_id_of
    from storedesk.triage.extensions import team_calendar, threatened_chargeback

    assert extensions._conversation_source is dispute_conversation
    assert extensions._ticket_lookup is ticket_id_of
    assert extensions._business_calendar is team_calendar
    assert extensions._threat_check is threatened_chargeback


def test_without_registrations_disputes_answers_neutrally(monkeypatch, settings):
    for name in ("_conversation_source", "_business_calendar", "_ticket_lookup", "_threat_check"):
        monkeypatch.setattr(extensions, name, None)
    settings.TEAM_TIMEZONE = "America/New_York"
    start = datetime(2026, 1, 3, 12, tzinfo=UTC)  # a Saturday: around the clock still counts

    calendar = queries.team_calendar()

    assert calendar.zone == "America/New_York"
    assert queries.urgent_cutoff(start, calendar) == datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert extensions.conversation_of(object()) == ([], [])
    assert queries.ticket_dispute_risk(1) is None
    assert extensions.threatened_chargeback(1) is False
