"""Appeal numbers: unique and gap-free per year, even when many citizens confirm at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from bot.app import App
from bot.services import appeals
from bot.services.appeals import Draft
from storage.models import Appeal, User
from storage.repositories import Repositories


async def _register(app: App, platform_id: str, now: datetime) -> str:
    draft = Draft(name="Житель", sector_id="roads", category_id="potholes", text_parts=["Яма на дороге возле дома"],
                  address="ул. Мира, 1")
    async with app.sessionmaker() as session, session.begin():
        repo = Repositories(session)
        user = await repo.users.add(User(channel="console", platform_id=platform_id, chat_id=platform_id,
                                         language="ru", consent_given=True))
        appeal = await appeals.register(repo, app.settings, app.calendar, user, draft, now)
        return appeal.number


async def test_fifty_concurrent_registrations_get_fifty_distinct_consecutive_numbers(app: App) -> None:
    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    numbers = await asyncio.gather(*(_register(app, f"u{i}", now) for i in range(50)))
    assert len(set(numbers)) == 50
    assert sorted(numbers) == [f"ЦУР-2026-{seq:06d}" for seq in range(1, 51)]


async def test_numbering_starts_again_each_year_in_the_region_time_zone(app: App) -> None:
    # 31 Dec 2026 22:30 UTC is already 1 Jan 2027 in Moscow.
    assert await _register(app, "a", datetime(2026, 12, 31, 20, 0, tzinfo=UTC)) == "ЦУР-2026-000001"
    assert await _register(app, "b", datetime(2026, 12, 31, 22, 30, tzinfo=UTC)) == "ЦУР-2027-000001"
    assert await _register(app, "c", datetime(2027, 1, 12, 8, 0, tzinfo=UTC)) == "ЦУР-2027-000002"
    async with app.sessionmaker() as session:
        years = (await session.scalars(select(Appeal.year).order_by(Appeal.id))).all()
    assert years == [2026, 2027, 2027]


async def test_a_failed_registration_does_not_burn_a_number(app: App) -> None:
    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    async with app.sessionmaker() as session:
        async with session.begin():
            repo = Repositories(session)
            await repo.appeals.next_seq(2026)
            await session.rollback()
    assert await _register(app, "x", now) == "ЦУР-2026-000001"
