"""Playbooks: a checklist per intent, editable by leads, step status recorded per ticket."""

import pytest
from django.core.exceptions import ValidationError

from storedesk.desk.models import TicketEvent
from storedesk.triage.models import Playbook
from storedesk.triage.playbooks import checklist, parse_steps
from storedesk.triage.services import do_save_playbook, do_set_step
from tests.desk.builders import make_ticket
from tests.triage.workflow_helpers import analyse

pytestmark = pytest.mark.django_db


def test_delivered_not_received_shows_its_checklist_and_records_steps(agent):
    ticket = make_ticket()
    analyse(ticket.messages.get(), "delivered_not_received")
    playbook, steps = checklist(ticket)
    assert playbook.title == "Delivered but not received"
    assert [s.key for s in steps] == ["tracking", "neighbour", "wait", "claim", "resolve"]
    assert {s.status for s in steps} == {"todo"}
    do_set_step(ticket, playbook, "tracking", "done", actor=agent)
    do_set_step(ticket, playbook, "neighbour", "skipped", actor=agent)
    _, steps = checklist(ticket)
    assert [s.status for s in steps][:3] == ["done", "skipped", "todo"]
    assert steps[0].done_by == agent.display_name
    assert TicketEvent.objects.filter(ticket=ticket, kind="playbook_step").count() == 2
    with pytest.raises(ValidationError):
        do_set_step(ticket, playbook, "teleport", "done", actor=agent)


def test_no_analysis_no_checklist():
    assert checklist(make_ticket()) == (None, [])


def test_leads_edit_playbooks_with_stable_keys(agent):
    playbook = Playbook.objects.get(intent="damaged")
    do_save_playbook(
        playbook,
        intent="damaged",
        title="Damaged item",
        steps="photos: Ask for photos\nOffer a repair first\n",
        actor=agent,
    )
    playbook.refresh_from_db()
    assert playbook.steps == [
        {"key": "photos", "text": "Ask for photos"},
        {"key": "offer-a-repair-first", "text": "Offer a repair first"},
    ]


@pytest.mark.parametrize(
    ("text", "message"), [("", "at least one step"), ("a: x\na: y", "share the key")]
)
def test_bad_steps_are_refused(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_steps(text)
