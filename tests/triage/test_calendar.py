"""Business-hours arithmetic: weekends, lunch breaks, split shifts, Vietnamese holidays."""

from datetime import UTC, date, datetime, time

import pytest
from django.core.exceptions import ValidationError

from storedesk.accounts.roles import Role
from storedesk.triage.calendar import Calendar, calendar_of, validate_calendar_fields
from storedesk.triage.models import BusinessCalendar
from storedesk.triage.services import do_save_calendar
from tests.triage.workflow_helpers import hanoi

HANOI = Calendar()  # defaults: Asia/Ho_Chi_Minh (UTC+7), Mon–Sat, 08:30–12:00 + 13:30–17:30


def test_minutes_inside_one_shift():
    assert HANOI.add_business_minutes(hanoi(2026, 6, 1, 9, 0), 60) == hanoi(2026, 6, 1, 10, 0)


def test_lunch_break_is_skipped():
    # Monday 11:30 + 60 business minutes: 30 before lunch, 30 after 13:30.
    assert HANOI.add_business_minutes(hanoi(2026, 6, 1, 11, 30), 60) == hanoi(2026, 6, 1, 14, 0)


def test_message_during_lunch_starts_counting_after_it():
    assert HANOI.add_business_minutes(hanoi(2026, 6, 1, 12, 15), 15) == hanoi(2026, 6, 1, 13, 45)


def test_saturday_works_and_sunday_is_skipped():
    # Saturday 2026-06-06 17:00 + 60: 30 on Saturday, then Monday 08:30 + 30.
    assert HANOI.add_business_minutes(hanoi(2026, 6, 6, 17, 0), 60) == hanoi(2026, 6, 8, 9, 0)


def test_zero_minutes_at_night_is_the_next_opening():
    assert HANOI.add_business_minutes(hanoi(2026, 6, 2, 20, 0), 0) == hanoi(2026, 6, 3, 8, 30)


def test_tet_2027_holidays_from_the_holidays_package_are_closed():
    # Tết 2027 in the package's data: Thursday Feb 4 … Wednesday Feb 10.
    for day in range(4, 11):
        assert not HANOI.is_open_day(date(2027, 2, day))
    assert HANOI.is_open_day(date(2027, 2, 3))
    # A message on Wednesday Feb 3 at 17:00 with 60 minutes: 30 that day, 30 on Thursday Feb 11.
    due = HANOI.add_business_minutes(hanoi(2027, 2, 3, 17, 0), 60)
    assert due == hanoi(2027, 2, 11, 9, 0)


def test_other_country_holidays_are_selectable():
    us = Calendar(zone="America/New_York", holiday_country="US", working_days=frozenset(range(5)))
    assert not us.is_open_day(date(2026, 7, 3))  # Independence Day (observed)
    assert not HANOI.is_open_day(date(2026, 9, 2))  # Vietnam National Day


def test_business_minutes_between_matches_addition():
    start = hanoi(2026, 6, 5, 16, 0)  # Friday
    end = HANOI.add_business_minutes(start, 900)
    assert HANOI.business_minutes_between(start, end) == 900
    assert HANOI.business_minutes_between(end, start) == 0


def test_split_shifts():
    split = Calendar(shifts=((time(7), time(11)), (time(14), time(16)), (time(19), time(21))))
    assert split.add_business_minutes(hanoi(2026, 6, 1, 15, 30), 60) == hanoi(2026, 6, 1, 19, 30)


def test_a_team_zone_with_daylight_saving_keeps_local_hours():
    ny = Calendar(zone="America/New_York", holiday_country="", shifts=((time(9), time(17)),))
    # Saturday 2026-03-07 16:30 EST + 60: 30 on Saturday; DST starts Sunday Mar 8, so Monday
    # opens at 09:00 EDT = 13:00 UTC (not 14:00 as in winter).
    assert ny.add_business_minutes(datetime(2026, 3, 7, 21, 30, tzinfo=UTC), 60) == datetime(
        2026, 3, 9, 13, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
        ({"working_days": []}, "at least one working day"),
        ({"hours": [["17:30", "08:30"]]}, "must end after it starts"),
        ({"hours": [["08:00", "12:00"], ["11:00", "13:00"]]}, "overlap"),
        ({"hours": [["8h", "12:00"]]}, "not a time"),
        ({"holiday_country": "XX"}, "No holiday data"),
        ({"closed_days": ["2026-13-01"]}, "not a date"),
    ],
)
def test_bad_calendars_are_refused_with_a_message(fields, message):
    good = {
        "timezone": "Asia/Ho_Chi_Minh",
        "working_days": [0, 1, 2, 3, 4, 5],
        "hours": [["08:30", "12:00"]],
        "holiday_country": "VN",
        "closed_days": [],
    }
    with pytest.raises(ValidationError, match=message):
        validate_calendar_fields(**(good | fields))


@pytest.mark.django_db
def test_saved_calendar_and_its_closed_days(make_user):
    calendar = do_save_calendar(
        None,
        actor=make_user(Role.LEAD),
        name="Night shift",
        timezone="Asia/Ho_Chi_Minh",
        working_days=[0, 1, 2, 3, 4],
        hours=[["19:00", "23:00"]],
        holiday_country="VN",
        closed_days=["2026-06-03"],
    )
    loaded = calendar_of(BusinessCalendar.objects.get(pk=calendar.pk))
    assert not loaded.is_open_day(date(2026, 6, 3))
    assert loaded.add_business_minutes(hanoi(2026, 6, 2, 22, 30), 60) == hanoi(2026, 6, 4, 19, 30)
