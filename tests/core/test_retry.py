"""The one retry policy behind webhook deliveries, Stripe events, outgoing mail and the outbox."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from storedesk.core.retry import RetryPolicy

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_the_wait_doubles_from_base_and_stops_at_the_cap():
    policy = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(minutes=5), max_attempts=10)
    waits = [policy.delay(n) for n in range(6)]
    assert waits == [timedelta(minutes=m) for m in (1, 1, 2, 4, 5, 5)]


def test_without_a_cap_a_huge_count_does_not_overflow():
    policy = RetryPolicy(base=timedelta(seconds=1), max_attempts=10_000)
    assert policy.delay(9_999) == timedelta(seconds=2**30)


def test_next_attempt_is_now_plus_the_wait_until_the_last_attempt_then_none():
    policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(hours=6), max_attempts=3)
    assert policy.next_attempt_at(1, NOW) == NOW + timedelta(seconds=30)
    assert policy.next_attempt_at(2, NOW) == NOW + timedelta(seconds=60)
    assert not policy.gives_up(2)
    assert policy.gives_up(3)
    assert policy.next_attempt_at(3, NOW) is None
    assert policy.next_attempt_at(4, NOW) is None


def test_jitter_shortens_the_wait_by_at_most_its_fraction_and_spreads_it():
    policy = RetryPolicy(
        base=timedelta(minutes=8), cap=timedelta(hours=1), max_attempts=5, jitter=0.25
    )
    rng = random.Random(7)
    waits = {policy.delay(1, rng=rng) for _ in range(50)}
    assert all(timedelta(minutes=6) <= wait <= timedelta(minutes=8) for wait in waits)
    assert len(waits) > 1
    capped = {policy.delay(20, rng=rng) for _ in range(50)}
    assert max(capped) <= timedelta(hours=1)


def test_the_policy_is_a_frozen_value():
    policy = RetryPolicy(base=timedelta(seconds=1), max_attempts=2)
    with pytest.raises(AttributeError):
        policy.max_attempts = 3


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"base": timedelta(seconds=-1), "max_attempts": 3}, "first wait"),
        ({"base": timedelta(seconds=1), "max_attempts": 0}, "at least one"),
        ({"base": timedelta(seconds=1), "max_attempts": 3, "jitter": 1.5}, "Jitter"),
    ],
)
def test_a_policy_that_cannot_work_is_refused(arguments, problem):
    with pytest.raises(ValueError, match=problem):
        RetryPolicy(**arguments)


def test_a_zero_wait_retries_everything_due_at_once():
    """A sweep asked to take everything now (`redispatch_stale_events(older_than=0)`)."""
    policy = RetryPolicy(base=timedelta(0), max_attempts=3)
    assert [policy.delay(attempts) for attempts in (1, 2, 5)] == [timedelta(0)] * 3
