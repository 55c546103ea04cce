"""What the apps above risk plug into its decisions, without risk importing them.

A review's "Cancel" refunds what was captured; the refund itself belongs to `resolutions`
(above risk), which registers how to start one from its AppConfig.ready(). Without it, the
cancel leaves a "refund needed" task for a person, as before. The daily digest likewise
shows the care budget's warnings that resolutions computes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (order, amount due, actor, reason, fraud, idempotency key) -> what the decision records:
# {"resolution_id", "refund_status", "gateway"} or {"refund_refused": message}
RefundStarter = Callable[..., dict[str, Any]]
_refund_starter: RefundStarter | None = None


def register_refund_starter(starter: RefundStarter) -> None:
    global _refund_starter  # noqa: PLW0603 - the one registry slot, filled at start-up
    _refund_starter = starter


def refund_starter() -> RefundStarter | None:
    return _refund_starter


# (store, day) -> the lines the daily digest shows under "Care budget": the month's care
# budget categories at their warning level or over (resolutions fills it).
DigestWarnings = Callable[..., list[str]]
_digest_warnings: list[DigestWarnings] = []


def register_digest_warnings(provider: DigestWarnings) -> None:
    if provider not in _digest_warnings:
        _digest_warnings.append(provider)


def digest_warnings(store, day) -> list[str]:
    return [line for provider in _digest_warnings for line in provider(store, day)]
