"""Playbooks: the checklist for each situation, shown on tickets of that intent, with each
step's status recorded per ticket (who did it, when) on the ticket's timeline."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from storedesk.audit.services import record_audit
from storedesk.desk.models import Ticket
from storedesk.desk.services import _timeline
from storedesk.triage.intents import Intent
from storedesk.triage.models import MessageAnalysis, Playbook, PlaybookStep

MAX_STEPS = 20


@dataclass
class ChecklistStep:
    key: str
    text: str
    status: str
    done_by: str = ""
    done_at: object = None


def parse_steps(text: str) -> list[dict]:
    """One step per line; `key: text` keeps a key stable across edits, else it is derived."""
    steps, keys = [], set()
    for line in (text or "").splitlines():
        line = line.strip().lstrip("-•*").strip()
        if not line:
            continue
        match = re.match(r"^([a-z0-9_-]{1,40}):\s+(.+)$", line)
        key, words = (match.group(1), match.group(2)) if match else (slugify(line)[:40], line)
        if not key:
            raise ValidationError(_("A step needs some words: %(line)s") % {"line": line})
        if key in keys:
            raise ValidationError(_("Two steps share the key “%(key)s”.") % {"key": key})
        keys.add(key)
        steps.append({"key": key, "text": words[:300]})
    if not steps:
        raise ValidationError(_("A playbook needs at least one step."))
    if len(steps) > MAX_STEPS:
        raise ValidationError(_("At most %(n)s steps.") % {"n": MAX_STEPS})
    return steps


def steps_text(playbook: Playbook) -> str:
    return "\n".join(f"{step['key']}: {step['text']}" for step in playbook.steps)


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


def ticket_intent(ticket: Ticket) -> str | None:
    return (
        MessageAnalysis.objects.filter(ticket=ticket)
        .order_by("-analysed_at", "-pk")
        .values_list("primary_intent", flat=True)
        .first()
    )


def checklist(ticket: Ticket) -> tuple[Playbook | None, list[ChecklistStep]]:
    """The playbook for the ticket's intent and each step's status (3 queries)."""
    intent = ticket_intent(ticket)
    playbook = Playbook.objects.filter(intent=intent).first() if intent else None
    if playbook is None:
        return None, []
    recorded = {
        row.step_key: row
        for row in PlaybookStep.objects.filter(ticket=ticket, playbook=playbook).select_related(
            "done_by"
        )
    }
    steps = []
    for step in playbook.steps:
        row = recorded.get(step["key"])
        steps.append(
            ChecklistStep(
                key=step["key"],
                text=step["text"],
                status=row.status if row else PlaybookStep.Status.TODO,
                done_by=row.done_by.display_name if row and row.done_by else "",
                done_at=row.done_at if row else None,
            )
        )
    return playbook, steps


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
    _timeline(ticket, "playbook_step", actor, playbook=playbook.title, step=step_key, status=status)
    record_audit(
        actor=actor,
        action="triage.playbook_step",
        obj=ticket,
        changes={"playbook": playbook.pk, "step": step_key, "status": status},
    )
    return row
