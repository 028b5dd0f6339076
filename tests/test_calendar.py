"""The production calendar on real dates of the 2025–2026 decrees.

Expected values are read off the official production calendar by hand:

    Nov 2025: Sat 1 working (transferred), Sun 2, Mon 3 (transferred), Tue 4 (Unity Day) off, Wed 5 working
    Dec 2025: Mon 29, Tue 30 working; Wed 31 off (transferred from Sun 2025-01-05)
    Jan 2026: Thu 1 .. Sun 11 off (1–8 holidays, Fri 9 transferred from Sat 3); Mon 12 working
"""

from __future__ import annotations

import time as clock
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, Settings
from bot.services.calendar import ProductionCalendar


@pytest.fixture(scope="module")
def calendar() -> ProductionCalendar:
    return ProductionCalendar()


def test_new_year_holidays_are_days_off(calendar: ProductionCalendar) -> None:
    for day in range(1, 12):
        assert not calendar.is_working_day(date(2026, 1, day)), f"2026-01-{day:02d}"
    assert calendar.is_working_day(date(2026, 1, 12))


def test_saturday_first_of_november_2025_is_a_working_day(calendar: ProductionCalendar) -> None:
    assert calendar.is_working_day(date(2025, 11, 1))
    assert not calendar.is_working_day(date(2025, 11, 8))  # an ordinary Saturday


def test_transferred_days_off_third_of_november_and_new_years_eve(calendar: ProductionCalendar) -> None:
    assert not calendar.is_working_day(date(2025, 11, 3))
    assert not calendar.is_working_day(date(2025, 11, 4))
    assert not calendar.is_working_day(date(2025, 12, 31))
    assert calendar.is_working_day(date(2025, 11, 5))


def test_a_year_has_as_many_working_days_as_the_official_calendar(calendar: ProductionCalendar) -> None:
    # Production calendars for a five-day week: 2025 — 247, 2026 — 247 working days.
    assert calendar.working_days_between(date(2024, 12, 31), date(2025, 12, 31)) == 247
    assert calendar.working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == 247


def test_next_working_day_after_the_last_december_working_day_is_twelfth_of_january(
    calendar: ProductionCalendar,
) -> None:
    assert calendar.next_working_day(date(2025, 12, 30)) == date(2026, 1, 12)


def test_next_working_day_after_friday_may_be_a_working_saturday(calendar: ProductionCalendar) -> None:
    assert calendar.next_working_day(date(2025, 10, 31)) == date(2025, 11, 1)
    assert calendar.next_working_day(date(2025, 11, 1)) == date(2025, 11, 5)


def test_next_working_day_is_strictly_after_a_working_day(calendar: ProductionCalendar) -> None:
    assert calendar.next_working_day(date(2026, 2, 17)) == date(2026, 2, 18)


def test_zero_working_days_keeps_a_working_day_and_moves_a_day_off(calendar: ProductionCalendar) -> None:
    assert calendar.add_working_days(date(2026, 2, 17), 0) == date(2026, 2, 17)
    assert calendar.add_working_days(date(2026, 1, 3), 0) == date(2026, 1, 12)
    assert calendar.subtract_working_days(date(2026, 1, 3), 0) == date(2025, 12, 30)


def test_ten_working_days_skip_new_year_holidays(calendar: ProductionCalendar) -> None:
    # From Thu 2025-12-25: Dec 26, 29, 30, Jan 12, 13, 14, 15, 16, 19, 20.
    assert calendar.add_working_days(date(2025, 12, 25), 10) == date(2026, 1, 20)


def test_counting_starts_the_day_after_even_from_a_day_off(calendar: ProductionCalendar) -> None:
    # From Sat 2026-02-14: Mon 16 is the first working day, Mon 23 is Defender of the Fatherland Day.
    assert calendar.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 16)
    assert calendar.add_working_days(date(2026, 2, 14), 6) == date(2026, 2, 24)


def test_working_saturday_counts_in_november_2025(calendar: ProductionCalendar) -> None:
    # From Thu 2025-10-30: Fri 31 (1), Sat Nov 1 (2), then Nov 2–4 off, Wed Nov 5 (3).
    assert calendar.add_working_days(date(2025, 10, 30), 2) == date(2025, 11, 1)
    assert calendar.add_working_days(date(2025, 10, 30), 3) == date(2025, 11, 5)


def test_subtracting_working_days_goes_back_over_new_year(calendar: ProductionCalendar) -> None:
    assert calendar.subtract_working_days(date(2026, 1, 12), 1) == date(2025, 12, 30)
    assert calendar.subtract_working_days(date(2026, 1, 13), 3) == date(2025, 12, 29)
    assert calendar.subtract_working_days(date(2025, 11, 5), 1) == date(2025, 11, 1)


def test_working_days_between_counts_the_end_but_not_the_start(calendar: ProductionCalendar) -> None:
    assert calendar.working_days_between(date(2025, 12, 25), date(2026, 1, 20)) == 10
    assert calendar.working_days_between(date(2025, 10, 31), date(2025, 11, 5)) == 2  # Nov 1, Nov 5
    assert calendar.working_days_between(date(2025, 12, 30), date(2026, 1, 11)) == 0
    assert calendar.working_days_between(date(2026, 2, 17), date(2026, 2, 17)) == 0
    assert calendar.working_days_between(date(2026, 1, 20), date(2025, 12, 25)) == -10


def test_extra_day_off_from_a_late_decree_is_not_counted() -> None:
    calendar = ProductionCalendar(extra_days_off={date(2026, 1, 13)})
    assert not calendar.is_working_day(date(2026, 1, 13))
    # Dec 26, 29, 30, Jan 12, 14, 15, 16, 19, 20, 21.
    assert calendar.add_working_days(date(2025, 12, 25), 10) == date(2026, 1, 21)


def test_extra_working_day_overrides_a_library_day_off() -> None:
    calendar = ProductionCalendar(extra_working_days={date(2025, 12, 31)})
    assert calendar.is_working_day(date(2025, 12, 31))
    # Dec 26, 29, 30, 31, Jan 12, 13, 14, 15, 16, 19.
    assert calendar.add_working_days(date(2025, 12, 25), 10) == date(2026, 1, 19)


def test_one_date_cannot_be_both_a_day_off_and_a_working_day() -> None:
    with pytest.raises(ValueError, match="2026-01-13"):
        ProductionCalendar(extra_days_off={date(2026, 1, 13)}, extra_working_days={date(2026, 1, 13)})


def _settings(calendar: dict[str, list[str]]) -> Settings:
    categories = [{"id": f"c{i}", "name": f"Категория {i}"} for i in range(3)]
    return Settings.model_validate({
        "region": {"name": "Энская область", "operator_name": "ЦУР"},
        "ministries": {"m": {"name": "Министерство"}},
        "sectors": {"s": {"name": "Сектор", "ministry": "m", "categories": categories}},
        "calendar": calendar,
    })


def test_calendar_overrides_come_from_config_iso_dates() -> None:
    settings = _settings({"extra_days_off": ["2026-01-13"], "extra_working_days": ["2026-01-10"]})
    calendar = ProductionCalendar.from_settings(settings)
    assert not calendar.is_working_day(date(2026, 1, 13))
    assert calendar.is_working_day(date(2026, 1, 10))
    assert calendar.is_working_day(date(2026, 1, 12))


def test_a_bad_date_in_config_names_the_key() -> None:
    settings = _settings({"extra_days_off": ["31.12.2026"]})
    with pytest.raises(ConfigError, match=r"calendar\.extra_days_off.*31\.12\.2026"):
        ProductionCalendar.from_settings(settings)


def test_a_datetime_is_refused_because_its_date_depends_on_its_zone(calendar: ProductionCalendar) -> None:
    with pytest.raises(TypeError):
        calendar.is_working_day(datetime(2026, 1, 12, 21, 0))


def test_negative_counts_are_refused(calendar: ProductionCalendar) -> None:
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 1, 12), -1)
    with pytest.raises(ValueError):
        calendar.subtract_working_days(date(2026, 1, 12), -1)


def test_scheduler_can_ask_often(calendar: ProductionCalendar) -> None:
    days = [date(2026, 1, 1) + timedelta(days=i % 365) for i in range(100_000)]
    calendar.is_working_day(days[0])
    started = clock.perf_counter()
    for day in days:
        calendar.is_working_day(day)
        calendar.add_working_days(day, 10)
    # A few microseconds per pair; a generous bound that still catches rebuilding a year per call.
    assert clock.perf_counter() - started < 5.0


days_2024_2028 = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))


@given(day=days_2024_2028, n=st.integers(min_value=1, max_value=400))
def test_adding_then_counting_gives_back_the_same_number(day: date, n: int) -> None:
    calendar = ProductionCalendar()
    later = calendar.add_working_days(day, n)
    assert calendar.is_working_day(later)
    assert calendar.working_days_between(day, later) == n
    assert calendar.subtract_working_days(later, n) == calendar.subtract_working_days(day, 0)
