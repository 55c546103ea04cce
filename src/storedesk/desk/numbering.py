"""Ticket numbers as people and mail clients see them: `[#SD-1234]` in subjects, `SD-1234`
typed in a search box.

Order numbers look like `#TP17397` (Shopify's `name`, the store's own prefix), so tickets
carry a prefix of their own, settings.TICKET_PREFIX ("SD" by default): `[#TP-6863]` next
to `#TP17397` read as the same kind of thing, and the order detector took one for the other.
Tickets numbered before the change keep threading: the prefixes in
settings.TICKET_LEGACY_PREFIXES ("TP") are still read in subjects and searches, never written.
A legacy prefix is read only with its dash (`TP-6863`), since `TP6863` is an order number.
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.conf import settings
from django.core.checks import Error, register

VALID_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")


def ticket_prefix() -> str:
    """The prefix new ticket references are written with."""
    return settings.TICKET_PREFIX


def legacy_ticket_prefixes() -> tuple[str, ...]:
    return tuple(settings.TICKET_LEGACY_PREFIXES)


def ticket_token(number: int) -> str:
    """What replies carry in the subject so they thread: `[#SD-1234]`."""
    return f"[#{ticket_prefix()}-{number}]"


@lru_cache(maxsize=8)
def _patterns(current: str, legacy: tuple[str, ...]) -> tuple[re.Pattern, re.Pattern]:
    every = "|".join(re.escape(prefix) for prefix in (current, *legacy))
    named = rf"(?:{re.escape(current)}-?|(?:{'|'.join(map(re.escape, legacy)) or '(?!)'})-)"
    token = re.compile(rf"\[#(?:{every})-(\d{{1,10}})\]", re.IGNORECASE)
    typed = re.compile(rf"^\s*\[?#?(?:{named})?(\d{{1,9}})\]?\s*$", re.IGNORECASE)
    return token, typed


def subject_token_pattern() -> re.Pattern:
    """`[#SD-1234]`, or a legacy `[#TP-1234]`, anywhere in a subject or text; group 1 is the
    number."""
    return _patterns(ticket_prefix(), legacy_ticket_prefixes())[0]


def typed_ticket_number(text: str) -> int | None:
    """The ticket number an agent typed: '1234', '#1234', 'SD-1234', 'SD1234', '[#SD-1234]',
    or a legacy 'TP-1234' / '[#TP-1234]' (not 'TP1234': that is an order number)."""
    match = _patterns(ticket_prefix(), legacy_ticket_prefixes())[1].match(text or "")
    return int(match.group(1)) if match else None


@register()
def check_ticket_prefixes(app_configs=None, **kwargs) -> list[Error]:
    """A prefix that is not a short word of capitals and digits would break the patterns."""
    errors = []
    current, legacy = settings.TICKET_PREFIX, tuple(settings.TICKET_LEGACY_PREFIXES)
    for name, prefix in [
        ("TICKET_PREFIX", current),
        *(("TICKET_LEGACY_PREFIXES", p) for p in legacy),
    ]:
        if not VALID_PREFIX.match(prefix or ""):
            errors.append(
                Error(
                    f"{name} {prefix!r} is not 1-8 capital letters and digits, starting "
                    "with a letter.",
                    id="desk.E001",
                )
            )
    if current in legacy:
        errors.append(
            Error("TICKET_PREFIX is also listed in TICKET_LEGACY_PREFIXES.", id="desk.E002")
        )
    return errors
