"""Pure date and forecast rules of meetings: offsets, dates typed by a person, the calendar days the
regulations name, the quorum forecast from the answers to a notice."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.domain.meeting_rules import quorum_needed
from bot.services.calendar import ProductionCalendar

OFFSET_RE = re.compile(r"^(\d{1,4})([dhm])$")
WHEN_RE = re.compile(r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{2,4}))?\s+(\d{1,2})[:.](\d{2})$")
ISO_WHEN_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Forecast:
    """Quorum forecast from the answers to the notice."""

    members: int
    needed: int
    yes: int
    maybe: int
    no: int

    @property
    def silent(self) -> int:
        return self.members - self.yes - self.maybe - self.no

    @property
    def level(self) -> str:
        if self.yes >= self.needed:
            return "expected"
        if self.yes + self.maybe >= self.needed:
            return "possible"
        return "at_risk"


def forecast(answers: Iterable[str | None], members: int, fraction: float | str | Fraction) -> Forecast:
    listed = list(answers)
    return Forecast(members, quorum_needed(members, fraction), listed.count("yes"), listed.count("maybe"),
                    listed.count("no"))


def parse_offset(text: str) -> timedelta:
    """ "1d" / "1h" / "30m" -> a span before the meeting."""
    match = OFFSET_RE.match(text.strip())
    if match is None:
        raise ValueError(f"bad offset {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """ "25.12.2026 15:00", "25.12 15:00" (this year, or the next if already past), "2026-12-25 15:00"."""
    text = " ".join(text.split())
    if match := ISO_WHEN_RE.match(text):
        year, month, day, hour, minute = (int(part) for part in match.groups())
    elif match := WHEN_RE.match(text):
        day, month, hour, minute = (int(match.group(i)) for i in (1, 2, 4, 5))
        year = int(match.group(3)) if match.group(3) else now.astimezone(zone).year
        year = year + 2000 if year < 100 else year
    else:
        return None
    try:
        moment = datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError:
        return None
    if match.re is WHEN_RE and not match.group(3) and moment < now:
        moment = moment.replace(year=year + 1)
    return moment.astimezone(UTC)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def at_local(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def materials_days(meeting_day: date, lead_days: int, calendar: ProductionCalendar) -> tuple[date, date]:
    """(remind the secretary, send to members): N+1 and N working days before the meeting day.

    НСИ: materials reach members at least 2 working days before; for a Thursday meeting they go out
    on Tuesday, and the secretary is reminded on Monday if there are none.
    """
    return (calendar.subtract_working_days(meeting_day, lead_days + 1),
            calendar.subtract_working_days(meeting_day, lead_days))


def quarter_of(day: date) -> tuple[date, date]:
    """The first and the last day of the quarter ``day`` is in."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    following = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    return start, following - timedelta(days=1)


def quarter_reminder_day(day: date, days_before: int, calendar: ProductionCalendar) -> date:
    """N calendar days before the quarter ends, moved back to a working day so it is never late."""
    start, end = quarter_of(day)
    return max(start, calendar.subtract_working_days(end - timedelta(days=days_before), 0))


def protocol_due_day(meeting_day: date, days: int, calendar: ProductionCalendar) -> date:
    """НСИ: the protocol is signed within N working days of the meeting."""
    return calendar.add_working_days(meeting_day, days)
