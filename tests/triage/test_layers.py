"""Triage sits above the desk (`tests/test_architecture.py` checks the imports): the desk's
"SLA at risk" and "Overdue" inbox views learn where the clocks are from triage at start-up."""

from storedesk.desk import queries


def test_triage_tells_the_desk_where_the_sla_clocks_are():
    assert set(queries._sla_ticket_ids) == {"at_risk", "overdue"}
