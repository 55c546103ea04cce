"""Fixed-window rate limits in the cache, for the public channels (chat, contact form).

Limits are generous on purpose: they stop a bot or a stuck script, never a customer who
writes three times about a late ring. A refusal always says how long to wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    seconds: int


@dataclass(frozen=True)
class Refusal:
    limit: Limit
    retry_after: int  # seconds

    @property
    def minutes(self) -> int:
        return max(1, -(-self.retry_after // 60))


def _key(limit: Limit, subject: str, window: int) -> str:
    return f"throttle:{limit.name}:{window}:{subject}"


def check(limit: Limit, subject: str, *, consume: bool = True) -> Refusal | None:
    """Count one hit for `subject` (an IP, an email, a chat token); a Refusal when over."""
    if not subject:
        return None
    now = int(time.time())
    window = now // limit.seconds
    key = _key(limit, subject, window)
    if consume:
        cache.add(key, 0, timeout=limit.seconds + 5)
        try:
            hits = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=limit.seconds + 5)
            hits = 1
    else:
        hits = cache.get(key, 0) + 1
    if hits > limit.count:
        return Refusal(limit=limit, retry_after=(window + 1) * limit.seconds - now)
    return None


def client_ip(request) -> str:
    """The client's address; behind a TLS proxy (BEHIND_TLS_PROXY) the proxy's X-Forwarded-For
    first hop is the client."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45]
    return request.META.get("REMOTE_ADDR", "")[:45]
