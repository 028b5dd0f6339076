"""Deadline reminders to the responsible staff and the supervisors' daily overdue digest.

Called by the scheduler inside one transaction; messages go through the outbox, held until working
hours (quiet hours), and each is keyed so that it is queued once.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.domain.appeals import OPEN
from bot.presenters.notices import word
from bot.services import deadline_notices
from bot.services.calendar import ProductionCalendar
from bot.services.notices import queue
from bot.services.recipients import Recipient
from bot.services.reminders import Rules, next_reminder
from storage.repositories import Repositories

# One transaction handles this many due appeals; the scheduler repeats while batches come back full,
# so a morning burst of reminders never holds the database's write lock for long.
BATCH = 100


async def scan_deadlines(repo: Repositories, settings: Settings, calendar: ProductionCalendar,
                         now: datetime) -> int:
    """Reminders whose moment has come; each appeal then gets its next moment (or none once closed).

    Returns the number of due appeals handled (BATCH means: there may be more)."""
    rules = Rules.from_settings(settings, calendar)
    cache: dict[str, list[Recipient]] = {}
    due = await repo.appeals.due_reminders(now, BATCH)
    with repo.session.no_autoflush:
        for appeal in due:
            moment = appeal.next_reminder_at or now
            if appeal.status in OPEN:
                for notice in await deadline_notices.reminders(repo, settings, calendar, appeal, moment, now, cache):
                    await queue(repo, notice, word(settings, notice), now)
            appeal.next_reminder_at = next_reminder(rules, appeal.deadline_at, now) if appeal.status in OPEN else None
    return len(due)


async def scan_overdue_digests(repo: Repositories, settings: Settings, calendar: ProductionCalendar,
                               now: datetime) -> int:
    """One digest a day per supervisor who has something to see (bot/services/deadline_notices.py)."""
    owed = await deadline_notices.overdue_digests(repo, settings, calendar, now)
    for notice in owed:
        await queue(repo, notice, word(settings, notice), now)
    return len(owed)
