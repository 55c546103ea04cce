"""The one retry policy for work kept in the database and tried again later (webhook
deliveries, Stripe events, outgoing mail, outbox events).

Each site keeps its own attempt counter and due-time column; the policy only answers two
questions from the count of attempts made: when to try next, and whether to stop trying.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

# Doubling stops after this many steps (2**30 × the first wait is decades), so a large count
# never overflows timedelta even for a policy without a cap.
MAX_DOUBLINGS = 30


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: `base` after the first failed attempt, then twice the previous
    wait, never more than `cap`; no more tries once `max_attempts` have been made.

    `jitter` (0 to 1) shortens each wait by up to that fraction at random, so many rows that
    failed together do not all come due in the same second; 0 gives exact, testable times.
    """

    base: timedelta
    max_attempts: int
    cap: timedelta | None = None
    jitter: float = 0.0

    def __post_init__(self):
        if self.base < timedelta(0):
            raise ValueError("A retry policy's first wait cannot be negative.")
        if self.max_attempts < 1:
            raise ValueError("A retry policy must allow at least one attempt.")
        if not 0 <= self.jitter <= 1:
            raise ValueError("Jitter is a fraction of the wait, from 0 to 1.")

    def delay(self, attempts: int, *, rng: random.Random | None = None) -> timedelta:
        """The wait after `attempts` failed attempts (0 or 1 both give `base`)."""
        wait = self.base * (2 ** min(max(attempts - 1, 0), MAX_DOUBLINGS))
        if self.cap is not None:
            wait = min(wait, self.cap)
        if self.jitter:
            wait -= wait * ((rng or random).random() * self.jitter)
        return wait

    def gives_up(self, attempts: int) -> bool:
        """True once `attempts` attempts have been made and none may follow."""
        return attempts >= self.max_attempts

    def next_attempt_at(
        self, attempts: int, now: datetime, *, rng: random.Random | None = None
    ) -> datetime | None:
        """When to try again after `attempts` failed attempts; None means give up."""
        if self.gives_up(attempts):
            return None
        return now + self.delay(attempts, rng=rng)
