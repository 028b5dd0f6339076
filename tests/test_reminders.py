"""Deadline reminders and escalation across a simulated month, the clock injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.scheduler import build_scheduler
from storage.models import AppealEvent, OutboxMessage
from tests.conftest import Clock
from tests.test_ministry_work import Office, press_on, submit
from tests.utils.chat import Chat

# Registered Monday 23.11.2026 10:00 Moscow; 30 calendar days: due Wednesday 23.12.2026 18:00.
# Offsets 3wd, 1wd, 0wd before the deadline day fall on Fri 18.12, Tue 22.12 and Wed 23.12;
# overdue reminders come every working day from Thu 24.12 at 09:00 Moscow (06:00 UTC).
EXPECTED_BEFORE = ["2026-12-18", "2026-12-22", "2026-12-23"]


def msk(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+03:00").astimezone(UTC)


async def reminders(app: App, chat_id: str) -> list[tuple[str, str]]:
    """(local due date, text) of the reminders queued for a chat, in order."""
    async with app.sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.dedup_key.like("remind:%")).order_by(OutboxMessage.id)))
        return [(r.due_at.astimezone(app.settings.region.zone).date().isoformat(), r.reply["text"]) for r in rows]


async def digests(app: App, chat_id: str) -> list[str]:
    async with app.sessionmaker() as session:
        rows = await session.scalars(select(OutboxMessage).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.dedup_key.like("digest:overdue:%")))
        return [r.due_at.astimezone(app.settings.region.zone).date().isoformat() for r in rows]


async def run_hours(app: App, clock: Clock, until: datetime) -> None:
    scheduler = build_scheduler(app, clock)
    while clock.now < until:
        clock.now += timedelta(hours=1)
        await scheduler.run("deadline-reminders")
        await scheduler.run("overdue-digests")


@pytest.fixture
async def world(app: App, clock: Clock, citizen: Chat) -> tuple[Office, Chat, Chat]:
    office = Office(app, clock)
    ivan = await office.staff_member("ivan")
    boss = await office.staff_member("boss", role="supervisor", ministry=None)
    await submit(citizen)
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Взять"))
    return office, ivan, boss


async def test_a_month_brings_exactly_the_expected_reminders_and_none_after_the_answer(
        app: App, clock: Clock, world: tuple[Office, Chat, Chat]) -> None:
    _, ivan, _ = world
    await run_hours(app, clock, msk("2026-12-25", 12))
    await ivan.press_payload("2:operator.card:ans:1")
    await ivan.send("Батареи заменены, отопление работает.")
    await ivan.press("Готово")
    await ivan.press("Отправить гражданину")
    await run_hours(app, clock, msk("2027-01-20"))

    sent = await reminders(app, "ivan")
    assert [day for day, _ in sent] == [*EXPECTED_BEFORE, "2026-12-24", "2026-12-25"]
    assert "осталось 3 рабочих дня" in sent[0][1] and "остался 1 рабочий день" in sent[1][1]
    assert "Сегодня последний день" in sent[2][1]
    assert "просрочено на 1 рабочий день" in sent[3][1] and "просрочено на 2 рабочих дня" in sent[4][1]
    # One digest a day per supervisor while overdue, not one message per appeal.
    assert sorted(await digests(app, "boss")) == ["2026-12-24", "2026-12-25"]
    async with app.sessionmaker() as session:
        overdue_events = (await session.scalars(select(AppealEvent).where(AppealEvent.kind == "overdue"))).all()
    assert len(overdue_events) == 1


async def test_a_restart_in_the_middle_sends_nothing_twice(
        app: App, settings, clock: Clock, world: tuple[Office, Chat, Chat]) -> None:
    await run_hours(app, clock, msk("2026-12-22", 12))
    await app.close()
    restarted = await build_app(settings, clock=clock)
    try:
        await run_hours(restarted, clock, msk("2026-12-23", 12))
        assert [day for day, _ in await reminders(restarted, "ivan")] == EXPECTED_BEFORE
    finally:
        await restarted.close()


async def test_after_downtime_a_missed_run_is_caught_up_once_not_replayed(
        app: App, clock: Clock, world: tuple[Office, Chat, Chat]) -> None:
    scheduler = build_scheduler(app, clock)
    clock.now = msk("2026-12-23", 15)  # the bot was down from 23.11 to the deadline day
    await scheduler.run("deadline-reminders")
    await scheduler.run("deadline-reminders")
    sent = await reminders(app, "ivan")
    assert len(sent) == 1 and "Сегодня последний день" in sent[0][1]


async def test_reminders_due_at_night_wait_for_working_hours(
        app: App, clock: Clock, world: tuple[Office, Chat, Chat]) -> None:
    scheduler = build_scheduler(app, clock)
    clock.now = msk("2026-12-18", 23)  # Friday night, after downtime
    await scheduler.run("deadline-reminders")
    async with app.sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key.like("remind:%")))
    assert row is not None and row.due_at == msk("2026-12-21")  # Monday 09:00


async def test_unassigned_appeal_reminds_the_ministry_operators(app: App, clock: Clock, citizen: Chat) -> None:
    office = Office(app, clock)
    olga = await office.staff_member("olga")
    await submit(citizen)
    await run_hours(app, clock, msk("2026-12-18", 10))
    assert [day for day, _ in await reminders(app, olga.user_id)] == ["2026-12-18"]
