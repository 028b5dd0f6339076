"""The console as staff live in it: the scheduler and the outbox run while the person sits at the prompt."""

from __future__ import annotations

import asyncio
import io
import os
from datetime import timedelta

from sqlalchemy import select, update

from bot.app import App
from bot.config import Settings
from bot.runner import run_console
from storage.models import Appeal, User
from tests.conftest import Clock
from tests.test_ministry_work import Office, submit
from tests.utils.chat import Chat


async def shows(stdout: io.StringIO, text: str, seconds: float = 30) -> bool:
    """Wait until the console has printed ``text`` (nothing is typed meanwhile)."""
    for _ in range(int(seconds * 10)):
        if text in stdout.getvalue():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_console_shows_messages_as_they_come_runs_the_scheduler_and_older_buttons_work(
        app: App, settings: Settings, clock: Clock, citizen: Chat) -> None:
    office = Office(app, clock)
    ivan = Chat(app.conversations, user_id="ivan")  # the same person the console's --user ivan is
    await ivan.send(f"/start {await office.invite('operator', 'energy_housing')}")
    await ivan.send("Иванов Иван Иванович")
    await submit(citizen)  # appeal 1, overdue below: the console's scheduler must remind
    async with app.sessionmaker() as session, session.begin():
        await session.execute(update(Appeal).where(Appeal.seq == 1).values(
            deadline_at=clock.now - timedelta(days=3), next_reminder_at=clock.now - timedelta(minutes=1)))
    read, write = os.pipe()
    stdin, typing = os.fdopen(read, "r", encoding="utf-8"), os.fdopen(write, "w", encoding="utf-8")
    stdout = io.StringIO()
    console = asyncio.create_task(run_console(settings, "ivan", stdin, stdout, clock=clock))
    try:
        assert await shows(stdout, "you are “ivan”")
        assert await shows(stdout, "просрочено на")  # the scheduler ran, the outbox delivered, nothing typed
        await submit(citizen)  # appeal 2 while ivan sits at the prompt
        assert await shows(stdout, "Обращение ЦУР-2026-000002")  # its card appears without a line typed
        typing.write("/queue\n")
        typing.flush()
        assert await shows(stdout, "Открытые обращения")
        typing.write("Взять в работу\n")  # the button of the card above, not of the queue's message
        typing.flush()
        assert await shows(stdout, "ЦУР-2026-000002 теперь у вас в работе")
    finally:
        typing.close()
        await asyncio.wait_for(console, 60)
    async with app.sessionmaker() as session:
        ivan_id = await session.scalar(select(User.id).where(User.platform_id == "ivan"))
        taken = (await session.scalars(select(Appeal.seq).where(Appeal.assignee_id == ivan_id))).all()
    assert taken == [2]  # the newest card's Take (the label matches the latest card first)
    assert "Traceback" not in stdout.getvalue()
