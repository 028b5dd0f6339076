"""Appeal deadlines on real dates of the 2025–2026 production calendar.

Moscow is UTC+3 and Yekaterinburg UTC+5 all year (no daylight saving in Russia), so 18:00
local is 15:00 UTC in Moscow and 13:00 UTC in Yekaterinburg. Every expected value is counted
by hand; the comments show the count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.config import Duration, Settings
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import (
    compute_deadline,
    deadline_for,
    extend_deadline,
    is_within_working_hours,
    next_working_moment,
    parse_working_hours,
    reminder_dates,
)

MOSCOW = ZoneInfo("Europe/Moscow")
YEKATERINBURG = ZoneInfo("Asia/Yekaterinburg")
HOURS = (time(9, 0), time(18, 0))
THIRTY_DAYS = Duration(30, working=False)
TEN_WORKING_DAYS = Duration(10, working=True)


@pytest.fixture(scope="module")
def calendar() -> ProductionCalendar:
    return ProductionCalendar()


def moscow(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MOSCOW)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def quiet_until(moment: datetime, calendar: ProductionCalendar, zone: ZoneInfo = MOSCOW) -> datetime:
    return next_working_moment(moment, calendar, zone, HOURS)


# Registration


def test_ten_working_days_skip_new_year_holidays(calendar: ProductionCalendar) -> None:
    # Thu 2025-12-25: Dec 26, 29, 30, (Dec 31 – Jan 11 off) Jan 12, 13, 14, 15, 16, 19, 20.
    deadline = compute_deadline(moscow(2025, 12, 25, 10, 0), TEN_WORKING_DAYS, calendar, MOSCOW, HOURS)
    assert deadline == utc(2026, 1, 20, 15, 0)
    assert deadline.tzinfo is UTC


def test_thirty_calendar_days_landing_on_sunday_move_to_monday(calendar: ProductionCalendar) -> None:
    # 2026-02-13 + 30 days = Sun 2026-03-15 -> Mon 2026-03-16.
    deadline = compute_deadline(moscow(2026, 2, 13, 12, 0), THIRTY_DAYS, calendar, MOSCOW, HOURS)
    assert deadline == utc(2026, 3, 16, 15, 0)


def test_thirty_calendar_days_landing_in_new_year_holidays_move_to_twelfth_of_january(
    calendar: ProductionCalendar,
) -> None:
    # 2025-12-03 + 30 days = Fri 2026-01-02, a holiday; Jan 3–11 are off too.
    deadline = compute_deadline(moscow(2025, 12, 3, 15, 0), THIRTY_DAYS, calendar, MOSCOW, HOURS)
    assert deadline == utc(2026, 1, 12, 15, 0)


def test_deadline_on_transferred_new_years_eve_moves_past_the_holidays(calendar: ProductionCalendar) -> None:
    # 2025-12-01 + 30 days = Wed 2025-12-31, a day off by the transfer from 2025-01-05.
    deadline = compute_deadline(moscow(2025, 12, 1, 9, 30), THIRTY_DAYS, calendar, MOSCOW, HOURS)
    assert deadline == utc(2026, 1, 12, 15, 0)


def test_deadline_on_transferred_monday_third_of_november_moves_to_wednesday(
    calendar: ProductionCalendar,
) -> None:
    # Sat 2025-10-04 + 30 days = Mon 2025-11-03 (off), Tue 4 is Unity Day, Wed 5 is working.
    deadline = compute_deadline(moscow(2025, 10, 4, 11, 0), THIRTY_DAYS, calendar, MOSCOW, HOURS)
    assert deadline == utc(2025, 11, 5, 15, 0)


def test_working_saturday_counts_and_can_be_the_deadline(calendar: ProductionCalendar) -> None:
    # Thu 2025-10-30: Fri Oct 31 (1), Sat Nov 1 (2, a working Saturday).
    two_working_days = Duration(2, working=True)
    deadline = compute_deadline(moscow(2025, 10, 30, 14, 0), two_working_days, calendar, MOSCOW, HOURS)
    assert deadline == utc(2025, 11, 1, 15, 0)


def test_registration_after_working_hours_still_counts_from_that_day(calendar: ProductionCalendar) -> None:
    # Registered Fri 2026-02-13 at 23:30: the day of registration is still Feb 13.
    deadline = compute_deadline(moscow(2026, 2, 13, 23, 30), THIRTY_DAYS, calendar, MOSCOW, HOURS)
    assert deadline == utc(2026, 3, 16, 15, 0)


def test_deadline_ends_at_six_pm_in_yekaterinburg_returned_in_utc(calendar: ProductionCalendar) -> None:
    registered = datetime(2025, 12, 25, 10, 0, tzinfo=YEKATERINBURG)
    deadline = compute_deadline(registered, TEN_WORKING_DAYS, calendar, YEKATERINBURG, HOURS)
    assert deadline == utc(2026, 1, 20, 13, 0)
    assert deadline.tzinfo is UTC


def test_the_day_of_registration_is_the_local_day_of_the_region(calendar: ProductionCalendar) -> None:
    registered = utc(2026, 2, 12, 20, 0)  # Moscow: Thu Feb 12 23:00; Yekaterinburg: Fri Feb 13 01:00
    # Moscow, from Feb 12: 13, 16, 17, 18, 19, 20, (23 Defender's Day) 24, 25, 26, 27.
    assert compute_deadline(registered, TEN_WORKING_DAYS, calendar, MOSCOW, HOURS) == utc(2026, 2, 27, 15, 0)
    # Yekaterinburg, from Feb 13: 16, 17, 18, 19, 20, 24, 25, 26, 27, Mon Mar 2.
    assert compute_deadline(registered, TEN_WORKING_DAYS, calendar, YEKATERINBURG, HOURS) == utc(
        2026, 3, 2, 13, 0
    )


def test_working_hours_from_config_set_the_end_of_the_day(calendar: ProductionCalendar) -> None:
    hours = (time(8, 30), time(17, 15))
    deadline = compute_deadline(moscow(2026, 2, 13, 12, 0), THIRTY_DAYS, calendar, MOSCOW, hours)
    assert deadline == utc(2026, 3, 16, 14, 15)


def test_extra_day_off_in_config_moves_the_deadline() -> None:
    # 2026-04-01 + 30 days = Fri May 1 (holiday) -> Mon May 4; a late decree makes May 4 a day off.
    registered = moscow(2026, 4, 1, 10, 0)
    assert compute_deadline(registered, THIRTY_DAYS, ProductionCalendar(), MOSCOW, HOURS) == utc(
        2026, 5, 4, 15, 0
    )
    calendar = ProductionCalendar(extra_days_off={date(2026, 5, 4)})
    assert compute_deadline(registered, THIRTY_DAYS, calendar, MOSCOW, HOURS) == utc(2026, 5, 5, 15, 0)


def test_extra_working_day_in_config_counts() -> None:
    # Sat 2026-01-10 made a working day: Dec 26, 29, 30, Jan 10, 12, 13, 14, 15, 16, 19.
    calendar = ProductionCalendar(extra_working_days={date(2026, 1, 10)})
    deadline = compute_deadline(moscow(2025, 12, 25, 10, 0), TEN_WORKING_DAYS, calendar, MOSCOW, HOURS)
    assert deadline == utc(2026, 1, 19, 15, 0)


def test_a_naive_registration_time_is_refused(calendar: ProductionCalendar) -> None:
    with pytest.raises(ValueError, match="aware"):
        compute_deadline(datetime(2026, 2, 13, 12, 0), THIRTY_DAYS, calendar, MOSCOW, HOURS)


# Extension


def test_extension_adds_thirty_days_to_the_current_deadline(calendar: ProductionCalendar) -> None:
    # Current deadline Tue 2026-01-20 18:00 MSK; + 30 days = Thu 2026-02-19.
    extended = extend_deadline(utc(2026, 1, 20, 15, 0), THIRTY_DAYS, calendar, MOSCOW, HOURS)
    assert extended == utc(2026, 2, 19, 15, 0)


def test_extension_landing_on_sunday_moves_to_monday(calendar: ProductionCalendar) -> None:
    # Current deadline Fri 2026-02-13; + 30 days = Sun 2026-03-15 -> Mon 2026-03-16.
    extended = extend_deadline(utc(2026, 2, 13, 15, 0), THIRTY_DAYS, calendar, MOSCOW, HOURS)
    assert extended == utc(2026, 3, 16, 15, 0)


def test_extension_by_working_days_counts_from_the_current_deadline(calendar: ProductionCalendar) -> None:
    # From Tue 2026-01-20: Jan 21, 22, 23, 26, 27, 28, 29, 30, Feb 2, Feb 3.
    extended = extend_deadline(utc(2026, 1, 20, 15, 0), TEN_WORKING_DAYS, calendar, MOSCOW, HOURS)
    assert extended == utc(2026, 2, 3, 15, 0)


def test_extension_in_yekaterinburg_keeps_the_local_end_of_day(calendar: ProductionCalendar) -> None:
    # 18:00 in Yekaterinburg on Tue 2026-01-20 is 13:00 UTC; + 30 days = Thu 2026-02-19.
    extended = extend_deadline(utc(2026, 1, 20, 13, 0), THIRTY_DAYS, calendar, YEKATERINBURG, HOURS)
    assert extended == utc(2026, 2, 19, 13, 0)


# Working hours


def test_working_hours_are_read_from_config_text() -> None:
    assert parse_working_hours("09:00-18:00") == (time(9, 0), time(18, 0))
    assert parse_working_hours(" 08:30 - 17:15 ") == (time(8, 30), time(17, 15))


@pytest.mark.parametrize("text", ["9-18", "09:00", "18:00-09:00", "09:00-09:00", "24:00-25:00", ""])
def test_bad_working_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="working hours"):
        parse_working_hours(text)


# Reminders


def test_reminders_before_a_monday_deadline_skip_the_weekend(calendar: ProductionCalendar) -> None:
    # Deadline Mon 2026-02-16: 0wd Mon 16, 1wd Fri 13, 3wd Wed 11 (Fri 13, Thu 12, Wed 11).
    offsets = [Duration.parse("3wd"), Duration.parse("1wd"), Duration.parse("0wd")]
    dates = reminder_dates(utc(2026, 2, 16, 15, 0), offsets, calendar, MOSCOW)
    assert dates == [date(2026, 2, 11), date(2026, 2, 13), date(2026, 2, 16)]


def test_reminders_before_a_tuesday_deadline(calendar: ProductionCalendar) -> None:
    # Deadline Tue 2026-02-17: 1wd Mon 16, 3wd Thu 12 (Mon 16, Fri 13, Thu 12).
    offsets = [Duration.parse("3wd"), Duration.parse("1wd"), Duration.parse("0wd")]
    dates = reminder_dates(utc(2026, 2, 17, 15, 0), offsets, calendar, MOSCOW)
    assert dates == [date(2026, 2, 12), date(2026, 2, 16), date(2026, 2, 17)]


def test_reminders_before_a_deadline_just_after_new_year_go_back_to_december(
    calendar: ProductionCalendar,
) -> None:
    # Deadline Tue 2026-01-13: 1wd Mon Jan 12, 3wd Mon Dec 29 (Jan 12, Dec 30, Dec 29).
    offsets = [Duration.parse("3wd"), Duration.parse("1wd"), Duration.parse("0wd")]
    dates = reminder_dates(utc(2026, 1, 13, 15, 0), offsets, calendar, MOSCOW)
    assert dates == [date(2025, 12, 29), date(2026, 1, 12), date(2026, 1, 13)]


def test_calendar_day_reminder_on_a_weekend_comes_on_the_friday_before(calendar: ProductionCalendar) -> None:
    # Deadline Mon 2026-02-16 minus 2 days = Sat Feb 14 -> Fri Feb 13.
    dates = reminder_dates(utc(2026, 2, 16, 15, 0), [Duration.parse("2d")], calendar, MOSCOW)
    assert dates == [date(2026, 2, 13)]


def test_reminder_dates_are_local_dates_of_the_region(calendar: ProductionCalendar) -> None:
    # 2026-01-19 20:00 UTC is already Tue Jan 20 01:00 in Yekaterinburg.
    dates = reminder_dates(utc(2026, 1, 19, 20, 0), [Duration.parse("0wd")], calendar, YEKATERINBURG)
    assert dates == [date(2026, 1, 20)]


# Staff quiet hours


def test_friday_night_message_waits_until_monday_nine_am(calendar: ProductionCalendar) -> None:
    # Fri 2025-11-14 23:00 MSK -> Mon 2025-11-17 09:00 MSK = 06:00 UTC.
    assert quiet_until(moscow(2025, 11, 14, 23, 0), calendar) == utc(2025, 11, 17, 6, 0)


def test_friday_night_message_goes_out_on_a_working_saturday(calendar: ProductionCalendar) -> None:
    # Fri 2025-10-31 23:00 MSK -> Sat 2025-11-01 09:00 MSK, a working Saturday.
    assert quiet_until(moscow(2025, 10, 31, 23, 0), calendar) == utc(2025, 11, 1, 6, 0)


def test_evening_before_new_year_holidays_waits_until_january_twelfth(calendar: ProductionCalendar) -> None:
    assert quiet_until(moscow(2025, 12, 30, 19, 0), calendar) == utc(2026, 1, 12, 6, 0)


def test_early_morning_message_waits_until_nine_the_same_day(calendar: ProductionCalendar) -> None:
    assert quiet_until(moscow(2026, 2, 17, 7, 30), calendar) == utc(2026, 2, 17, 6, 0)


def test_message_at_six_pm_sharp_waits_until_next_morning(calendar: ProductionCalendar) -> None:
    assert not is_within_working_hours(moscow(2026, 2, 17, 18, 0), calendar, MOSCOW, HOURS)
    assert quiet_until(moscow(2026, 2, 17, 18, 0), calendar) == utc(2026, 2, 18, 6, 0)


def test_message_within_working_hours_goes_out_at_once(calendar: ProductionCalendar) -> None:
    moment = moscow(2026, 2, 17, 12, 0)
    assert is_within_working_hours(moment, calendar, MOSCOW, HOURS)
    assert quiet_until(moment, calendar) == utc(2026, 2, 17, 9, 0)


def test_quiet_hours_follow_the_local_clock_in_yekaterinburg(calendar: ProductionCalendar) -> None:
    # Fri 2025-11-14 18:30 UTC is 23:30 in Yekaterinburg -> Mon 09:00 YEKT = 04:00 UTC.
    moment = utc(2025, 11, 14, 18, 30)
    assert quiet_until(moment, calendar, YEKATERINBURG) == utc(2025, 11, 17, 4, 0)
    # The same instant is 21:30 in Moscow: also after hours.
    assert not is_within_working_hours(moment, calendar, MOSCOW, HOURS)


def test_working_hours_on_working_saturday_and_holidays(calendar: ProductionCalendar) -> None:
    assert is_within_working_hours(moscow(2025, 11, 1, 12, 0), calendar, MOSCOW, HOURS)
    assert not is_within_working_hours(moscow(2026, 1, 5, 12, 0), calendar, MOSCOW, HOURS)
    assert is_within_working_hours(moscow(2026, 2, 17, 9, 0), calendar, MOSCOW, HOURS)
    assert is_within_working_hours(moscow(2026, 2, 17, 17, 59), calendar, MOSCOW, HOURS)


# Which term applies


@pytest.fixture(scope="module")
def settings() -> Settings:
    roads = [
        {"id": "potholes", "name": "Ямы и ремонт дорог"},
        {"id": "sidewalks", "name": "Тротуары"},
        {"id": "snow", "name": "Снег и гололёд на дорогах", "deadline": "10wd"},
    ]
    housing = [
        {"id": "heating", "name": "Отопление"},
        {"id": "water", "name": "Вода"},
        {"id": "yards", "name": "Дворы"},
    ]
    return Settings.model_validate({
        "region": {"name": "Энская область", "operator_name": "ЦУР"},
        "deadlines": {"default": "15wd"},
        "ministries": {"roads": {"name": "Минтранс"}, "housing": {"name": "Минэнерго"}},
        "sectors": {
            "roads": {"name": "Дороги", "ministry": "roads", "deadline": "30d", "categories": roads},
            "housing": {"name": "ЖКХ", "ministry": "housing", "categories": housing},
        },
    })


def test_snow_on_roads_has_its_own_ten_working_day_term(settings: Settings) -> None:
    assert deadline_for(settings, "roads", "snow") == Duration(10, working=True)


def test_potholes_take_the_roads_sector_term(settings: Settings) -> None:
    assert deadline_for(settings, "roads", "potholes") == Duration(30, working=False)
    assert deadline_for(settings, "roads", None) == Duration(30, working=False)


def test_sector_without_a_term_takes_the_default(settings: Settings) -> None:
    assert deadline_for(settings, "housing", "heating") == Duration(15, working=True)


def test_unknown_sector_or_category_is_an_error_not_the_default(settings: Settings) -> None:
    with pytest.raises(KeyError, match="parks"):
        deadline_for(settings, "parks", "benches")
    with pytest.raises(KeyError, match="benches"):
        deadline_for(settings, "housing", "benches")
