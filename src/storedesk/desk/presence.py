"""Who is looking at a ticket right now, and who is typing: collision detection.

Presence lives in the cache with short time-outs, never in the database: a closed tab simply
stops renewing its entry. Each viewer owns one key (`…:<ticket>:<user>`), so two agents'
heartbeats never overwrite each other; a small roster per ticket lists who may be there and
heals itself on the next heartbeat if a concurrent write dropped someone. Works with the
local-memory cache in one process and with Redis across many.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

VIEWING_TTL = 15  # seconds: the page renews every few seconds; a closed tab fades quickly
TYPING_TTL = 6
ROSTER_TTL = 60 * 10
_PREFIX = "desk:presence"


@dataclass(frozen=True)
class Viewer:
    user_id: int
    name: str
    typing: bool


def _roster_key(ticket_id: int) -> str:
    return f"{_PREFIX}:{ticket_id}"


def _viewer_key(ticket_id: int, user_id: int) -> str:
    return f"{_PREFIX}:{ticket_id}:{user_id}"


def heartbeat(ticket_id: int, user, *, typing: bool = False) -> None:
    """`user` is on the ticket's page (and typing a reply when `typing`)."""
    now = time.time()
    key = _viewer_key(ticket_id, user.pk)
    previous = cache.get(key) or {}
    typing_until = now + TYPING_TTL if typing else previous.get("typing_until", 0)
    entry = {"name": user.display_name, "seen": now, "typing_until": typing_until}
    cache.set(key, entry, VIEWING_TTL)
    roster = cache.get(_roster_key(ticket_id)) or []
    if user.pk not in roster:
        cache.set(_roster_key(ticket_id), [*roster, user.pk], ROSTER_TTL)


def leave(ticket_id: int, user) -> None:
    """The agent left the page (sent, or navigated away)."""
    cache.delete(_viewer_key(ticket_id, user.pk))


def viewers(ticket_id: int, *, exclude_user_id: int | None = None) -> list[Viewer]:
    """Everyone on the ticket now, typing ones first; stale roster entries are dropped."""
    roster = cache.get(_roster_key(ticket_id)) or []
    if not roster:
        return []
    entries = cache.get_many([_viewer_key(ticket_id, user_id) for user_id in roster])
    now = time.time()
    present = []
    alive = []
    for user_id in roster:
        entry = entries.get(_viewer_key(ticket_id, user_id))
        if entry is None or now - entry["seen"] > VIEWING_TTL:
            continue
        alive.append(user_id)
        if user_id != exclude_user_id:
            present.append(Viewer(user_id, entry["name"], entry["typing_until"] > now))
    if len(alive) != len(roster):
        cache.set(_roster_key(ticket_id), alive, ROSTER_TTL)
    return sorted(present, key=lambda viewer: (not viewer.typing, viewer.name))
