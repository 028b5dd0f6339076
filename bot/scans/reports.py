"""The weekly digest to supervisors: last week's figures, the ranking and what became overdue, asked of
the report service, worded by the report presenter, queued once per week and supervisor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.events import Reply
from bot.presenters.reports import digest_text
from bot.services import reports
from bot.services.audience import SUPERVISORS
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import next_working_moment, parse_working_hours
from bot.services.outbox import notify_user
from bot.services.periods import previous_week
from storage.engine import read_in_thread
from storage.models import User
from storage.repositories import Repositories


async def scan_weekly_digest(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                             calendar: ProductionCalendar, now: datetime) -> int:
    """Once a week, in working hours: last week's figures, the ranking and what became overdue.

    The notice ledger keys each digest by week and supervisor, so any number of runs (or
    instances) queue it once; after downtime the missed week still goes out on the next run.
    The figures are read on an engine of their own (``storage.engine.read_in_thread``), outside any
    transaction the conversations wait for; only the claim and the queueing write.
    """
    zone = settings.region.zone
    moment = next_working_moment(now, calendar, zone, parse_working_hours(settings.region.working_hours))
    if moment != now:
        return 0  # outside working hours: a later run sends it
    period = previous_week(now, zone)

    def key(supervisor: User) -> str:
        return f"digest:weekly:{period.first.isoformat()}:{supervisor.id}"

    async with sessionmaker() as session:
        repo = Repositories(session)
        supervisors = [s for s in await repo.staff.supervisors() if not s.unreachable_reason]
        done = await repo.notices.claimed([key(s) for s in supervisors])
    waiting = [s for s in supervisors if key(s) not in done]
    if not waiting:
        return 0

    async def compose(session: AsyncSession) -> dict[str, str]:
        figures = await reports.digest(session, settings, period, now)
        return {language: digest_text(settings, figures, language)
                for language in sorted({s.language for s in waiting})}

    texts = await read_in_thread(settings.database.url, compose)
    queued = 0
    async with sessionmaker() as session, session.begin():
        repo = Repositories(session)
        for supervisor in waiting:
            if not await repo.notices.claim(key(supervisor), now):
                continue
            await notify_user(repo, supervisor, Reply(text=texts[supervisor.language]), dedup_key=key(supervisor),
                              now=now, audience=SUPERVISORS)
            queued += 1
    return queued
