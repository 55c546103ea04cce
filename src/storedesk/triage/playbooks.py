"""Playbooks: the checklist for each situation, shown on tickets of that intent, with each
step's status recorded per ticket (who did it, when) on the ticket's timeline."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext as _

from storedesk.desk.models import Ticket
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
