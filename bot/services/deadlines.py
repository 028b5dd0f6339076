"""Deadline arithmetic for appeals: pure functions, the moment is always passed in.

Moments are aware datetimes and the results are in UTC; days are counted in the region's
local dates on the production calendar (`ProductionCalendar`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.config import Duration

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.calendar import ProductionCalendar

WORKING_HOURS_RE = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$")


def compute_deadline(
    registered_at: datetime,
    duration: Duration,
    calendar: ProductionCalendar,
    zone: ZoneInfo,
    working_hours: tuple[time, time],
) -> datetime:
    """The moment (aware, UTC) an appeal registered at `registered_at` must be answered by.

    59-ФЗ art. 12 counts the term from the day of registration; the day is the region's local
    date, whatever the hour. Counting starts on the next day (Civil Code art. 191):

    - calendar days ("30d"): registration date + N days; if that day is not a working day the
      term ends on the next working day (Civil Code art. 193). Registered 2026-02-13, 30 days
      fall on Sunday 2026-03-15, so the deadline is Monday 2026-03-16.
    - working days ("10wd"): the N-th working day after the registration date. Registered on
      Thursday 2025-12-25, the 10th working day, past the New Year holidays, is 2026-01-20.

    The term ends at the end of that working day in the region (`working_hours[1]` local), so
    the answer is due while the ministry is still at work; "0d"/"0wd" mean the same day if it
    is a working day, else the next working day.
    """
    return _deadline_from(_local_date(registered_at, zone), duration, calendar, zone, working_hours)


def extend_deadline(
    current: datetime,
    duration: Duration,
    calendar: ProductionCalendar,
    zone: ZoneInfo,
    working_hours: tuple[time, time],
) -> datetime:
    """The deadline extended by `duration` (59-ФЗ art. 12 p. 2), in UTC.

    The extension adds to the current deadline, not to the day it is granted: the same rules as
    `compute_deadline`, counted from the current deadline's local date. Whether an extension is
    allowed at all (once, up to `[deadlines] extension_max`) is the caller's rule.
    """
    return _deadline_from(_local_date(current, zone), duration, calendar, zone, working_hours)


def parse_working_hours(text: str) -> tuple[time, time]:
    """ "09:00-18:00" -> (09:00, 18:00). The day must start before it ends (no night shifts)."""
    match = WORKING_HOURS_RE.match(text)
    if match is None:
        raise ValueError(f"bad working hours {text!r}: write e.g. \"09:00-18:00\"")
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
    start, end = time(start_hour, start_minute), time(end_hour, end_minute)
    if start >= end:
        raise ValueError(f"bad working hours {text!r}: the working day must start before it ends")
    return start, end


def reminder_dates(
    deadline: datetime,
    offsets: list[Duration],
    calendar: ProductionCalendar,
    zone: ZoneInfo,
) -> list[date]:
    """Local dates on which the staff is reminded of a deadline, sorted, without repeats.

    A working offset ("3wd") is that many working days before the deadline's local day ("0wd"
    is the deadline day itself); with the deadline on Tuesday 2026-02-17, "1wd" is Monday
    2026-02-16 and "3wd" is Thursday 2026-02-12. A calendar offset ("5d") falling on a day off
    moves back to the working day before it, so a reminder never comes later than promised.
    Dates already past are the caller's to skip.
    """
    deadline_day = _local_date(deadline, zone)
    days = set()
    for offset in offsets:
        if offset.working:
            days.add(calendar.subtract_working_days(deadline_day, offset.amount))
        else:
            days.add(calendar.subtract_working_days(deadline_day - timedelta(days=offset.amount), 0))
    return sorted(days)


def is_within_working_hours(
    moment: datetime,
    calendar: ProductionCalendar,
    zone: ZoneInfo,
    working_hours: tuple[time, time],
) -> bool:
    """True on a working day between the start (included) and the end (excluded) of work."""
    local = _local(moment, zone)
    start, end = working_hours
    return calendar.is_working_day(local.date()) and start <= local.time() < end


def next_working_moment(
    moment: datetime,
    calendar: ProductionCalendar,
    zone: ZoneInfo,
    working_hours: tuple[time, time],
) -> datetime:
    """When a staff message may go out (UTC): `moment` itself within working hours, else the
    start of the next working period. Friday 23:00 -> Monday 09:00 local time, unless the
    Saturday is a working day by decree."""
    if is_within_working_hours(moment, calendar, zone, working_hours):
        return moment.astimezone(UTC)
    local = _local(moment, zone)
    start = working_hours[0]
    day = local.date()
    if not (calendar.is_working_day(day) and local.time() < start):
        day = calendar.next_working_day(day)
    return _at(day, start, zone)


def deadline_for(settings: Settings, sector_id: str, category_id: str | None) -> Duration:
    """The term for an appeal: the category's deadline if set, else the sector's, else
    `[deadlines] default`. An unknown sector or category is a KeyError: a typo must not
    quietly get the default term."""
    sector = settings.sector(sector_id)
    if sector is None:
        raise KeyError(f"unknown sector {sector_id!r}")
    if category_id is not None:
        category = sector.category(category_id)
        if category is None:
            raise KeyError(f"unknown category {category_id!r} in sector {sector_id!r}")
        if category.deadline is not None:
            return Duration.parse(category.deadline)
    if sector.deadline is not None:
        return Duration.parse(sector.deadline)
    return Duration.parse(settings.deadlines.default)


def _deadline_from(
    start: date,
    duration: Duration,
    calendar: ProductionCalendar,
    zone: ZoneInfo,
    working_hours: tuple[time, time],
) -> datetime:
    if duration.working:
        day = calendar.add_working_days(start, duration.amount)
    else:
        day = calendar.add_working_days(start + timedelta(days=duration.amount), 0)
    return _at(day, working_hours[1], zone)


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"an aware datetime is needed, got the naive {moment.isoformat()}")
    return moment.astimezone(zone)


def _local_date(moment: datetime, zone: ZoneInfo) -> date:
    return _local(moment, zone).date()
