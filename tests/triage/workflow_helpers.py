"""Shared pieces for the triage workflow tests (calendars, SLA, rules, automation)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from storedesk.desk.models import Message
from storedesk.triage.models import MessageAnalysis


def hanoi(year, month, day, hour, minute=0) -> datetime:
    """A Hanoi wall time as UTC (Hanoi is UTC+7 all year)."""
    return datetime(year, month, day, hour - 7, minute, tzinfo=UTC)


def analyse(message: Message, intent: str, **fields) -> MessageAnalysis:
    """What the classifier would store for a message (tests create it by hand)."""
    values = {
        "intents": [{"intent": intent, "confidence": 0.9}],
        "primary_intent": intent,
        "analysed_at": timezone.now(),
    } | fields
    return MessageAnalysis.objects.create(message=message, ticket=message.ticket, **values)
