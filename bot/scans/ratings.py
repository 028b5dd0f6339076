"""The reminder to rate: one polite reminder per answer left unrated, never a second."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.presenters.names import Names
from bot.presenters.ratings import rate_reminder
from bot.services import ratings
from bot.services.calendar import ProductionCalendar
from bot.services.outbox import notify_user
from storage.repositories import Repositories


async def scan_rating_reminders(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                                calendar: ProductionCalendar, now: datetime) -> int:
    """One polite reminder per answer left unrated for ``[ratings] reminder_after_days``; never a second."""
    async with sessionmaker() as session, session.begin():
        repo = Repositories(session)
        reminders = await ratings.claim_reminders(repo, settings, calendar, now)
        for reminder in reminders:
            reply = rate_reminder(Names(settings, reminder.citizen.language), reminder.appeal)
            await notify_user(repo, reminder.citizen, reply, dedup_key=reminder.key, now=now, due_at=reminder.due_at)
    return len(reminders)
