"""Dates and times as a person in the region reads them: one format, written once."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

DAY = "%d.%m.%Y"
TIME = "%H:%M"
DAY_TIME = f"{DAY} {TIME}"


def _local(moment: datetime, zone: ZoneInfo | None) -> datetime:
    return moment.astimezone(zone) if zone is not None and moment.tzinfo is not None else moment


def day(moment: datetime | date, zone: ZoneInfo | None = None) -> str:
    """"05.12.2026": a date, or an aware moment on the region's calendar."""
    if isinstance(moment, datetime):
        moment = _local(moment, zone)
    return moment.strftime(DAY)


def clock(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """"09:30" on the region's clock."""
    return _local(moment, zone).strftime(TIME)


def day_time(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """"05.12.2026 09:30" on the region's clock."""
    return _local(moment, zone).strftime(DAY_TIME)


def period(first: date, last: date) -> str:
    """"01.11.2026–30.11.2026"."""
    return f"{day(first)}–{day(last)}"
