"""When the responsible staff are reminded of a deadline: pure rules, the moment passed in.

Reminders fall at the start of working hours on the production calendar: at each configured
offset before the deadline day (default 3 and 1 working days before, and the day itself) and
then every working day while the appeal is overdue. The next moment is stored on the appeal
(``next_reminder_at``), so the scan reads only what is due and a restart sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.config import Duration, Settings
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import parse_working_hours, reminder_dates


@dataclass(frozen=True)
class Rules:
    calendar: ProductionCalendar
    zone: ZoneInfo
    opens: time
    offsets: tuple[Duration, ...]

    @classmethod
    def from_settings(cls, settings: Settings, calendar: ProductionCalendar) -> Rules:
        opens, _ = parse_working_hours(settings.region.working_hours)
        offsets = tuple(Duration.parse(o) for o in settings.deadlines.reminder_offsets)
        return cls(calendar, settings.region.zone, opens, offsets)

    def opening(self, day: date) -> datetime:
        return datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(ZoneInfo("UTC"))

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def next_reminder(rules: Rules, deadline: datetime, after: datetime) -> datetime:
    """The first reminder moment strictly after ``after``: a pre-deadline one, else the next overdue day.

    After downtime, ``after`` is now: missed reminders are not replayed one by one, the next
    due one goes out once (the scheduler's coalescing, kept in the data).
    """
    before = [rules.opening(d) for d in reminder_dates(deadline, list(rules.offsets), rules.calendar, rules.zone)]
    upcoming = [moment for moment in before if moment > after]
    if upcoming:
        return min(upcoming)
    day = rules.local_date(max(after, deadline))
    candidate = rules.opening(day)
    if not rules.calendar.is_working_day(day) or candidate <= after or candidate <= deadline:
        candidate = rules.opening(rules.calendar.next_working_day(day))
    return candidate


@dataclass(frozen=True)
class Due:
    """What a reminder says: days left (working), today, or days overdue (working)."""

    kind: str
    days: int


def describe(rules: Rules, deadline: datetime, now: datetime) -> Due:
    today, last_day = rules.local_date(now), rules.local_date(deadline)
    if now > deadline:
        return Due("overdue", max(rules.calendar.working_days_between(last_day, today), 1))
    if today >= last_day:
        return Due("today", 0)
    return Due("before", rules.calendar.working_days_between(today, last_day))
