"""The Russian production calendar: which days are working days, and counting them.

The base is `holidays.RU`, which follows the government decrees on transferred days off
(e.g. the working Saturday 2025-11-01, the days off 2025-11-03 and 2025-12-31). A decree the
installed package does not know yet is entered in config `[calendar]` as overrides.

Every year is computed once into a sorted tuple of working-day ordinals, so a look-up is a set
membership test and counting is a binary search: microseconds, as the scheduler needs.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import holidays

from bot.config import ConfigError

if TYPE_CHECKING:
    from bot.config import Settings


@dataclass(frozen=True, slots=True)
class _Year:
    """The working days of one year as ordinals: a set to test, a sorted tuple to count."""

    ordinals: tuple[int, ...]
    members: frozenset[int]


class ProductionCalendar:
    """Working days in Russia per `holidays.RU`, with the region's overrides on top.

    `extra_days_off` win over the library's working days and `extra_working_days` over its days
    off; one date in both sets is a configuration error. All methods take local dates of the
    region: convert a moment with `moment.astimezone(zone).date()` first (a datetime is refused,
    because its date would silently be the date in whatever zone it carries).
    """

    def __init__(
        self,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        self._extra_days_off = frozenset(extra_days_off)
        self._extra_working_days = frozenset(extra_working_days)
        both = self._extra_days_off & self._extra_working_days
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"a date cannot be both an extra day off and an extra working day: {listed}")
        self._years: dict[int, _Year] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> ProductionCalendar:
        """Build from config `[calendar]`: ISO dates in `extra_days_off` and `extra_working_days`."""
        section = settings.calendar
        return cls(
            extra_days_off=_iso_dates("calendar.extra_days_off", section.extra_days_off),
            extra_working_days=_iso_dates("calendar.extra_working_days", section.extra_working_days),
        )

    def is_working_day(self, d: date) -> bool:
        """True on a working day: a weekday that is not a holiday, or a working Saturday by decree."""
        _refuse_datetime(d)
        return d.toordinal() in self._year(d.year).members

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d` (whether `d` itself is working or not)."""
        return self.add_working_days(d, 1)

    def add_working_days(self, d: date, n: int) -> date:
        """The `n`-th working day after `d`.

        Counting starts on the day after `d` (Civil Code art. 191), so `d` itself is never
        counted: from Thursday 2025-12-25, one working day is Friday 2025-12-26.
        `n == 0` means "on or after": `d` if it is a working day, else the next working day.
        So for a day off `d`, `n=0` and `n=1` give the same day.
        """
        _refuse_datetime(d)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}; use subtract_working_days")
        if n == 0:
            return d if self.is_working_day(d) else self.add_working_days(d, 1)
        year = d.year
        index = bisect_right(self._year(year).ordinals, d.toordinal()) + n - 1
        while index >= len(ordinals := self._year(year).ordinals):
            index -= len(ordinals)
            year += 1
        return date.fromordinal(ordinals[index])

    def subtract_working_days(self, d: date, n: int) -> date:
        """The `n`-th working day before `d`, the mirror of `add_working_days`.

        `d` itself is never counted: one working day before Monday 2026-01-12 is 2025-12-30.
        `n == 0` means "on or before": `d` if it is a working day, else the last working day
        before it.
        """
        _refuse_datetime(d)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}; use add_working_days")
        if n == 0:
            return d if self.is_working_day(d) else self.subtract_working_days(d, 1)
        year = d.year
        index = bisect_left(self._year(year).ordinals, d.toordinal()) - n
        while index < 0:
            year -= 1
            index += len(self._year(year).ordinals)
        return date.fromordinal(self._year(year).ordinals[index])

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days in the half-open span (a, b]: `a` not counted, `b` counted.

        So `working_days_between(d, add_working_days(d, n)) == n` for n >= 1, and the answer is
        how many working days are left from today to a deadline day. Negative when b < a.
        """
        _refuse_datetime(a)
        _refuse_datetime(b)
        if b < a:
            return -self.working_days_between(b, a)
        count = bisect_right(self._year(b.year).ordinals, b.toordinal())
        count -= bisect_right(self._year(a.year).ordinals, a.toordinal())
        for year in range(a.year, b.year):
            count += len(self._year(year).ordinals)
        return count

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self._build_year(year)
        return cached

    def _build_year(self, year: int) -> _Year:
        decrees = holidays.RU(years=year)
        first = date(year, 1, 1)
        working: list[int] = []
        for offset in range((date(year + 1, 1, 1) - first).days):
            day = first + timedelta(days=offset)
            if day in self._extra_working_days or (
                day not in self._extra_days_off and decrees.is_working_day(day)
            ):
                working.append(day.toordinal())
        return _Year(tuple(working), frozenset(working))


def _iso_dates(key: str, values: Iterable[str]) -> set[date]:
    dates = set()
    for value in values:
        try:
            dates.add(date.fromisoformat(value))
        except ValueError as exc:
            raise ConfigError(f"{key}: bad date {value!r}: write e.g. \"2026-12-31\"") from exc
    return dates


def _refuse_datetime(d: date) -> None:
    if isinstance(d, datetime):
        raise TypeError("pass the region's local date (moment.astimezone(zone).date()), not a datetime")
