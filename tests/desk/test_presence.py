"""Presence: who is on a ticket, who is typing; entries fade by themselves."""

import pytest
from django.core.cache import cache

from storedesk.desk import presence
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1_000_000.0}
    monkeypatch.setattr(presence.time, "time", lambda: now["t"])
    return now


def names(ticket_id, **kwargs):
    return [(v.name, v.typing) for v in presence.viewers(ticket_id, **kwargs)]


def test_viewers_are_listed_typing_first_and_without_oneself(clock):
    mai, lan, an = (UserFactory(username=n, first_name=n.title()) for n in ("mai", "lan", "an"))
    presence.heartbeat(7, mai)
    presence.heartbeat(7, lan, typing=True)
    presence.heartbeat(7, an)
    assert names(7, exclude_user_id=mai.pk) == [("Lan", True), ("An", False)]
    assert names(8) == []


def test_typing_fades_before_viewing_does(clock):
    lan = UserFactory(username="lan", first_name="Lan")
    presence.heartbeat(7, lan, typing=True)
    clock["t"] += presence.TYPING_TTL + 1
    presence.heartbeat(7, lan)  # still on the page, stopped typing
    assert names(7) == [("Lan", False)]


def test_a_closed_tab_disappears_after_the_time_out(clock):
    lan = UserFactory(username="lan", first_name="Lan")
    presence.heartbeat(7, lan)
    clock["t"] += presence.VIEWING_TTL + 1
    assert names(7) == []
    assert cache.get("desk:presence:7") == []  # the roster drops stale people


def test_leaving_removes_the_viewer_at_once(clock):
    lan = UserFactory(username="lan", first_name="Lan")
    presence.heartbeat(7, lan)
    presence.leave(7, lan)
    assert names(7) == []


def test_a_roster_lost_to_a_concurrent_write_heals_on_the_next_heartbeat(clock):
    mai, lan = UserFactory(username="mai"), UserFactory(username="lan", first_name="Lan")
    presence.heartbeat(7, lan)
    cache.set("desk:presence:7", [mai.pk])  # another process overwrote the roster
    assert names(7) == []
    presence.heartbeat(7, lan)
    assert names(7) == [("Lan", False)]
