"""Desk services other apps call to change tickets set-based: priorities from a score and
system lines on many timelines. They keep the desk's rules (a person's priority stays, every
change on the timeline, in the audit and announced once)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from storedesk.audit.models import AuditEntry
from storedesk.core.models import DomainEvent
from storedesk.desk.models import Ticket, TicketEvent
from storedesk.desk.services import (
    do_add_timeline_event,
    do_add_timeline_events,
    do_set_priority,
    do_set_scored_priorities,
)
from tests.desk.builders import make_ticket

pytestmark = pytest.mark.django_db


def test_scored_priorities_change_only_what_no_person_set(agent):
    changed, by_hand, same = make_ticket(), make_ticket(), make_ticket()
    do_set_priority(by_hand, Ticket.Priority.LOW, actor=agent)
    normal = Ticket.Priority.NORMAL
    Ticket.objects.filter(pk=same.pk).update(priority=normal)
    DomainEvent.objects.all().delete()

    moves = do_set_scored_priorities(
        {
            changed.pk: (Ticket.Priority.URGENT, "score 90"),
            by_hand.pk: (Ticket.Priority.URGENT, "score 90"),
            same.pk: (normal, "score 20"),
        }
    )

    assert moves == {changed.pk: (Ticket.Priority.NORMAL, Ticket.Priority.URGENT)}
    priorities = dict(Ticket.objects.values_list("pk", "priority"))
    assert priorities == {
        changed.pk: Ticket.Priority.URGENT,
        by_hand.pk: Ticket.Priority.LOW,
        same.pk: normal,
    }
    line = TicketEvent.objects.filter(ticket=changed, kind="priority").get()
    assert line.data == {"old": normal, "new": Ticket.Priority.URGENT, "reason": "score 90"}
    assert line.actor is None
    audit = AuditEntry.objects.filter(action="desk.priority_changed", object_id=str(changed.pk))
    assert audit.get().changes == {"old": normal, "new": Ticket.Priority.URGENT}
    event = DomainEvent.objects.get(name="ticket_priority_changed")
    assert event.payload == {"ticket_ids": [changed.pk]}
    assert do_set_scored_priorities({changed.pk: (Ticket.Priority.URGENT, "again")}) == {}


def test_scored_priorities_cost_the_same_queries_for_more_tickets():
    def queries_for(count: int) -> int:
        tickets = [make_ticket() for _ in range(count)]
        with CaptureQueriesContext(connection) as captured:
            do_set_scored_priorities({t.pk: (Ticket.Priority.HIGH, "score 50") for t in tickets})
        return len(captured)

    assert queries_for(2) == queries_for(9)


def test_system_lines_on_many_timelines_in_one_insert(django_assert_num_queries):
    first, second = make_ticket(), make_ticket()
    at = timezone.now()
    with django_assert_num_queries(1):
        written = do_add_timeline_events(
            "sla_warning", {first.pk: {"target": "resolution"}, second.pk: {"target": "x"}}, at=at
        )
    assert written == 2
    lines = TicketEvent.objects.filter(kind="sla_warning").order_by("ticket_id")
    assert [(line.ticket_id, line.data, line.actor_label) for line in lines] == [
        (first.pk, {"target": "resolution"}, "system"),
        (second.pk, {"target": "x"}, "system"),
    ]
    assert {line.created_at for line in lines} == {at}


def test_one_line_for_what_another_app_did(agent):
    ticket = make_ticket()
    line = do_add_timeline_event(ticket, "handoff", actor=agent, team="Payments")
    assert (line.kind, line.actor, line.data) == ("handoff", agent, {"team": "Payments"})
