"""Playbooks: an intent's checklist, and ticking its steps on a ticket."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.audit.services import record_audit
from storedesk.desk.models import Ticket
from storedesk.desk.services import (
    do_add_timeline_event,
)
from storedesk.triage.intents import Intent
from storedesk.triage.models import (
    Playbook,
    PlaybookStep,
)
from storedesk.triage.playbooks import parse_steps


@transaction.atomic
def do_save_playbook(
    playbook: Playbook | None, *, intent: str, title: str, steps: str, actor
) -> Playbook:
    if intent not in Intent.values:
        raise ValidationError(_("Unknown intent: %(intent)s") % {"intent": intent})
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError(_("A playbook needs a title."))
    parsed = parse_steps(steps)
    if Playbook.objects.filter(intent=intent).exclude(pk=getattr(playbook, "pk", None)).exists():
        raise ValidationError(_("That intent already has a playbook."))
    playbook = playbook or Playbook()
    before = list(playbook.steps) if playbook.pk else None
    playbook.intent, playbook.title, playbook.steps = intent, title, parsed
    playbook.updated_at = timezone.now()
    playbook.save()
    record_audit(
        actor=actor,
        action="triage.playbook_saved",
        obj=playbook,
        changes={"before": before, "steps": parsed},
    )
    return playbook


@transaction.atomic
def do_set_step(
    ticket: Ticket, playbook: Playbook, step_key: str, status: str, *, actor
) -> PlaybookStep:
    if step_key not in {step["key"] for step in playbook.steps}:
        raise ValidationError(_("That step is not in the playbook."))
    if status not in PlaybookStep.Status.values:
        raise ValidationError(_("Unknown step status."))
    done = status != PlaybookStep.Status.TODO
    row, _created = PlaybookStep.objects.update_or_create(
        ticket=ticket,
        playbook=playbook,
        step_key=step_key,
        defaults={
            "status": status,
            "done_by": actor if done else None,
            "done_at": timezone.now() if done else None,
        },
    )
    do_add_timeline_event(
        ticket, "playbook_step", actor=actor, playbook=playbook.title, step=step_key, status=status
    )
    record_audit(
        actor=actor,
        action="triage.playbook_step",
        obj=ticket,
        changes={"playbook": playbook.pk, "step": step_key, "status": status},
    )
    return row
