"""What the apps above disputes tell it, without disputes importing them.

Disputes sits below the desk and triage (they import it, never the other way), yet an
evidence pack quotes the customer's conversation, the workspace counts deadlines in the
team's business hours, and a ticket's dispute-risk panel needs the ticket and whether its
customer threatened a chargeback. Each higher app registers what it knows here from its
`AppConfig.ready()` (the desk in `desk/extensions.py`, triage in `triage/extensions.py`);
disputes asks for it by name, and gets a neutral answer when nothing is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol


class BusinessCalendar(Protocol):
    """The team's working hours, as disputes counts deadlines in them."""

    zone: str

    def add_business_minutes(self, start: datetime, minutes: int) -> datetime: ...

    def business_minutes_between(self, start: datetime, end: datetime) -> int: ...


@dataclass(frozen=True)
class AroundTheClock:
    """Every minute counts: what disputes uses when no app registered a calendar."""

    zone: str

    def add_business_minutes(self, start: datetime, minutes: int) -> datetime:
        return start + timedelta(minutes=minutes)

    def business_minutes_between(self, start: datetime, end: datetime) -> int:
        return max(0, int((end - start).total_seconds() // 60))


# (tickets, messages) as plain dicts, for the pack's conversation transcript.
Conversation = tuple[list[dict[str, Any]], list[dict[str, Any]]]

_conversation_source: Callable[[Any], Conversation] | None = None
_business_calendar: Callable[[], BusinessCalendar] | None = None
_ticket_lookup: Callable[[int], int | None] | None = None
_threat_check: Callable[[int], bool] | None = None


def register_conversation_source(source: Callable[[Any], Conversation]) -> None:
    """`source(order)` returns the customer's tickets and messages (with attachment names)."""
    global _conversation_source
    _conversation_source = source


def register_business_calendar(calendar: Callable[[], BusinessCalendar]) -> None:
    """`calendar()` returns the team's business-hours calendar."""
    global _business_calendar
    _business_calendar = calendar


def register_ticket_lookup(lookup: Callable[[int], int | None]) -> None:
    """`lookup(number)` returns the id of the ticket with that number, or None."""
    global _ticket_lookup
    _ticket_lookup = lookup


def register_threat_check(check: Callable[[int], bool]) -> None:
    """`check(ticket_id)` says whether the ticket's customer threatened a chargeback."""
    global _threat_check
    _threat_check = check


def conversation_of(order) -> Conversation:
    """The conversation about the order (none when no app supplies conversations)."""
    return _conversation_source(order) if _conversation_source else ([], [])


def business_calendar() -> BusinessCalendar:
    """The team's calendar; around the clock in the configured zone when none is registered."""
    if _business_calendar is not None:
        return _business_calendar()
    from django.conf import settings

    return AroundTheClock(zone=settings.TEAM_TIMEZONE)


def ticket_id_of(number: int) -> int | None:
    """The id of ticket `number`, None when unknown (or when no app holds tickets)."""
    return _ticket_lookup(number) if _ticket_lookup else None


def threatened_chargeback(ticket_id: int) -> bool:
    """Whether the ticket's customer threatened a chargeback (False when nobody checks)."""
    return _threat_check(ticket_id) if _threat_check else False
