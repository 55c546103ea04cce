"""Business-hours calendars: the clock SLA targets run on.

A calendar is the team's zone, working weekdays, one or more shifts a day (a lunch break is
two shifts; split shifts are more) and closed days: public holidays from the `holidays`
package for a country (Vietnam by default) plus the store's own. Arithmetic walks the shifts
day by day in the team's zone and converts each shift to UTC, so daylight-saving changes in
the team's zone are handled by `zoneinfo`, never by fixed offsets.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from storedesk.triage.models import BusinessCalendar

MAX_DAYS_AHEAD = 800  # a target never reaches further; guards a calendar with no open day


@lru_cache(maxsize=64)
def _public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    if not country:
        return frozenset()
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def holiday_names(country: str, year: int, subdivision: str = "") -> list[tuple[date, str]]:
    """The public holidays of a year, for the calendar page."""
    if not country:
        return []
    found = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return sorted(found.items())


def supported_countries() -> list[str]:
    return sorted(holidays.list_supported_countries())


def _parse_time(text: str) -> time:
    try:
        hour, minute = str(text).strip().split(":")
        return time(int(hour), int(minute))
    except (ValueError, TypeError):
        raise ValidationError(
            _("“%(value)s” is not a time; write it as HH:MM.") % {"value": text}
        ) from None


@dataclass(frozen=True)
class Calendar:
    """An immutable, validated calendar that does the arithmetic."""

    zone: str = "Asia/Ho_Chi_Minh"
    working_days: frozenset[int] = frozenset(range(6))
    shifts: tuple[tuple[time, time], ...] = ((time(8, 30), time(12)), (time(13, 30), time(17, 30)))
    holiday_country: str = "VN"
    holiday_subdivision: str = ""
    closed_days: frozenset[date] = field(default_factory=frozenset)

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.zone)

    def is_open_day(self, day: date) -> bool:
        if day.weekday() not in self.working_days or day in self.closed_days:
            return False
        return day not in _public_holidays(self.holiday_country, self.holiday_subdivision, day.year)

    def shifts_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's shifts as UTC intervals (empty on a closed day)."""
        if not self.is_open_day(day):
            return []
        zone = self.tzinfo
        return [
            (
                datetime.combine(day, start, zone).astimezone(UTC),
                datetime.combine(day, end, zone).astimezone(UTC),
            )
            for start, end in self.shifts
        ]

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tzinfo).date()

    def add_business_minutes(self, start: datetime, minutes: int) -> datetime:
        """The moment `minutes` of working time after `start` (0: the next open moment)."""
        remaining = timedelta(minutes=max(0, int(minutes)))
        day = self._local_day(start)
        for _offset in range(MAX_DAYS_AHEAD):
            for shift_start, shift_end in self.shifts_on(day):
                begin = max(shift_start, start)
                if begin >= shift_end:
                    continue
                available = shift_end - begin
                if remaining < available or (remaining == available and remaining):
                    return begin + remaining
                if not remaining:
                    return begin
                remaining -= available
            day += timedelta(days=1)
        raise ValidationError(_("The calendar has no working time in the next two years."))

    def business_minutes_between(self, start: datetime, end: datetime) -> int:
        """Working minutes from `start` to `end` (0 when end is not after start)."""
        if end <= start:
            return 0
        total = timedelta()
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            for shift_start, shift_end in self.shifts_on(day):
                begin, finish = max(shift_start, start), min(shift_end, end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return int(total.total_seconds() // 60)

    def is_open_at(self, moment: datetime) -> bool:
        return any(a <= moment < b for a, b in self.shifts_on(self._local_day(moment)))


def validate_calendar_fields(
    *, timezone: str, working_days, hours, holiday_country: str, closed_days
) -> Calendar:
    """Check what a lead typed and build the calendar; a clear message for each mistake."""
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone: %(zone)s.") % {"zone": timezone}) from None
    days = set()
    for value in working_days or []:
        if not str(value).isdigit() or int(value) > 6:
            raise ValidationError(_("Working days are numbers 0 (Monday) to 6 (Sunday)."))
        days.add(int(value))
    if not days:
        raise ValidationError(_("Choose at least one working day."))
    shifts = []
    for pair in hours or []:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValidationError(_("Each shift is a start and an end time."))
        start, end = _parse_time(pair[0]), _parse_time(pair[1])
        if end <= start:
            raise ValidationError(
                _("A shift must end after it starts (%(start)s–%(end)s).")
                % {"start": pair[0], "end": pair[1]}
            )
        shifts.append((start, end))
    if not shifts:
        raise ValidationError(_("Add at least one shift."))
    shifts.sort()
    for (_s1, end1), (start2, _e2) in zip(shifts, shifts[1:], strict=False):
        if start2 < end1:
            raise ValidationError(_("Shifts overlap."))
    country = (holiday_country or "").strip().upper()
    if country and country not in holidays.list_supported_countries():
        raise ValidationError(_("No holiday data for country code %(code)s.") % {"code": country})
    closed = set()
    for value in closed_days or []:
        try:
            closed.add(date.fromisoformat(str(value).strip()))
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is not a date; write it as YYYY-MM-DD.") % {"value": value}
            ) from None
    return Calendar(
        zone=timezone,
        working_days=frozenset(days),
        shifts=tuple(shifts),
        holiday_country=country,
        closed_days=frozenset(closed),
    )


def calendar_of(record: BusinessCalendar | None) -> Calendar:
    """The arithmetic form of a stored calendar; the settings' defaults when there is none."""
    if record is None:
        return Calendar(zone=settings.TEAM_TIMEZONE)
    return validate_calendar_fields(
        timezone=record.timezone,
        working_days=record.working_days,
        hours=record.hours,
        holiday_country=record.holiday_country,
        closed_days=record.closed_days,
    )


def default_calendar_record() -> BusinessCalendar | None:
    return BusinessCalendar.objects.filter(is_default=True).first()
