"""Retention: personal data past its configured term is cleared (bot/services/privacy.py decides what)."""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.services import privacy
from bot.services.calendar import ProductionCalendar
from storage.repositories import Repositories


async def scan_retention(repo: Repositories, settings: Settings, calendar: ProductionCalendar, now: datetime) -> int:
    return await privacy.apply_retention(repo, settings, now)
