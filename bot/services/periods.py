"""Report periods as a supervisor names them: "this month", "прошлая неделя", "01.03.2026-31.03.2026";
``now`` is always passed in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A date as the bot prints it (dd.mm.yyyy) or as ISO (yyyy-mm-dd); a period is two of them.
DATE_RE = r"(\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})"
EXPLICIT_RE = re.compile(rf"^(?:с\s+|from\s+)?{DATE_RE}\s*(?:\.\.|…|—|–|\s-\s|-|\s|\s?по\s|\s?to\s)\s*{DATE_RE}$")
DAY_RE = re.compile(rf"^{DATE_RE}$")
# What a supervisor may type after /stats, in Russian or English ("ё" is folded to "е").
PERIOD_WORDS: dict[str, tuple[str, ...]] = {
    "week": ("week", "this week", "неделя", "эта неделя", "текущая неделя", "за неделю"),
    "last_week": ("last week", "previous week", "прошлая неделя", "предыдущая неделя", "за прошлую неделю"),
    "month": ("month", "this month", "месяц", "этот месяц", "текущий месяц", "за месяц"),
    "last_month": ("last month", "previous month", "прошлый месяц", "предыдущий месяц", "за прошлый месяц"),
    "quarter": ("quarter", "this quarter", "квартал", "этот квартал", "текущий квартал", "за квартал"),
    "year": ("year", "this year", "год", "этот год", "текущий год", "за год"),
}


class PeriodError(ValueError):
    """The words name no period; the supervisor is shown the examples."""


@dataclass(frozen=True)
class Period:
    """Local dates ``first``..``last`` inclusive; ``start``/``end`` the UTC bounds, end excluded."""

    first: date
    last: date
    start: datetime
    end: datetime

    @classmethod
    def between(cls, first: date, last: date, zone: ZoneInfo) -> Period:
        if last < first:
            raise PeriodError(f"the period ends ({last}) before it starts ({first})")
        start = datetime.combine(first, time(0), tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
        return cls(first, last, start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC")))

    @property
    def slug(self) -> str:
        return f"{self.first.isoformat()}_{self.last.isoformat()}"


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def named_period(name: str, today: date, zone: ZoneInfo) -> Period:
    monday = today - timedelta(days=today.weekday())
    if name == "week":
        return Period.between(monday, monday + timedelta(days=6), zone)
    if name == "last_week":
        return Period.between(monday - timedelta(days=7), monday - timedelta(days=1), zone)
    if name == "month":
        return Period.between(_month_start(today), _month_start(today, -1) - timedelta(days=1), zone)
    if name == "last_month":
        return Period.between(_month_start(today, 1), _month_start(today) - timedelta(days=1), zone)
    if name == "quarter":
        first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return Period.between(first, _month_start(first, -3) - timedelta(days=1), zone)
    if name == "year":
        return Period.between(date(today.year, 1, 1), date(today.year, 12, 31), zone)
    raise PeriodError(f"unknown period {name!r}")


def parse_period(text: str, now: datetime, zone: ZoneInfo) -> Period:
    """A period from the supervisor's words; nothing typed means this month."""
    words = " ".join(text.lower().replace("ё", "е").split())
    today = now.astimezone(zone).date()
    if not words:
        return named_period("month", today, zone)
    for name, spellings in PERIOD_WORDS.items():
        if words in spellings:
            return named_period(name, today, zone)
    match = EXPLICIT_RE.match(words)
    if match is None:
        day = DAY_RE.match(words)
        if day is not None and "." in words:  # one day, as the bot prints it: that day alone
            first = parse_date(day.group(1))
            return Period.between(first, first, zone)
        raise PeriodError(f"not a period: {text!r}")
    return Period.between(parse_date(match.group(1)), parse_date(match.group(2)), zone)


def parse_date(text: str) -> date:
    """``31.03.2026`` (as the bot prints dates) or ``2026-03-31``; PeriodError when it is neither."""
    try:
        if "." in text:
            day, month, year = (int(part) for part in text.strip().split("."))
            return date(year, month, day)
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise PeriodError(f"not a date: {text!r}") from exc


def previous_week(now: datetime, zone: ZoneInfo) -> Period:
    return named_period("last_week", now.astimezone(zone).date(), zone)
