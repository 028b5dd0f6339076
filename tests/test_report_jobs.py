"""Heavy reports never hold up conversations: built on a connection of their own, sent through the outbox,
their files private to the instance and removed once delivered."""

from __future__ import annotations

import asyncio
import stat
import tempfile
import threading
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.delivery import Outbox
from storage.engine import read_in_thread
from storage.models import Appeal, OutboxMessage, ReportRequest, User
from tests.test_reports import supervisor
from tests.utils.chat import Chat
from tests.utils.outbox import CollectingSender


def mode(path: Path) -> int | None:
    """The permission bits of a file or directory; None once it is gone."""
    return stat.S_IMODE(path.stat().st_mode) if path.exists() else None


async def build_all(app: App) -> None:
    assert app.reports is not None
    while await app.reports.run_once():
        pass


async def test_a_citizens_dialog_goes_on_while_a_report_reads(app: App, citizen: Chat) -> None:
    """The report's read transaction stays open until the citizen has been answered: on SQLite the updates
    have one connection, so a report on it would keep the citizen waiting (and this test would time out)."""
    started, release = threading.Event(), threading.Event()

    async def long_read(session: AsyncSession) -> tuple[int, bool]:
        count = await session.scalar(select(func.count()).select_from(Appeal))
        started.set()
        released = await asyncio.to_thread(release.wait, 20)
        return int(count or 0), released

    reading = asyncio.ensure_future(read_in_thread(app.settings.database.url, long_read))
    assert await asyncio.to_thread(started.wait, 20)  # the reader's transaction is open
    await citizen.send("/start")
    await citizen.press("Согласен")
    assert "согласие получено" in citizen.text
    release.set()
    count, released = await reading
    assert released, "the citizen was answered only after the report's transaction ended"
    assert count == 0


async def test_the_report_reader_cannot_write(app: App) -> None:
    async def write(session: AsyncSession) -> None:
        await session.execute(update(User).values(role="admin"))

    try:
        await read_in_thread(app.settings.database.url, write)
    except Exception as exc:  # SQLite: attempt to write a readonly database; PostgreSQL: read-only transaction
        assert "read" in str(exc).lower()
    else:
        raise AssertionError("the report's session wrote to the database")


async def test_report_files_are_private_and_removed_once_delivered(app: App) -> None:
    chief = await supervisor(app)
    await chief.send("/export год")
    assert "Готовлю отчёт" in chief.text
    await build_all(app)
    async with app.sessionmaker() as session:
        request = await session.scalar(select(ReportRequest))
    assert request is not None and request.status == "queued" and request.files
    path = Path(request.files[0])
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert path.parent != Path(tempfile.gettempdir()) and path.parent.name != "appeals-bot-exports"

    sender = CollectingSender()
    await Outbox(app.sessionmaker, {"console": sender}, clock=app.conversations.clock).deliver_due()
    assert sender.last("5001").attachments[0].ref == str(path)
    await build_all(app)  # the next pass sweeps what the outbox has finished with
    assert mode(path) is None
    async with app.sessionmaker() as session:
        assert (await session.scalars(select(ReportRequest))).all() == []


async def test_a_report_for_someone_no_longer_a_supervisor_is_dropped_and_its_file_removed(app: App) -> None:
    chief = await supervisor(app)
    await chief.send("/stats")
    await build_all(app)
    async with app.sessionmaker() as session, session.begin():
        files = (await session.scalar(select(ReportRequest))).files  # type: ignore[union-attr]
        await session.execute(update(User).where(User.platform_id == "5001").values(role="citizen"))
    sender = CollectingSender()
    await Outbox(app.sessionmaker, {"console": sender}, clock=app.conversations.clock).deliver_due()
    assert sender.inbox["5001"] == []
    async with app.sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key.like("report:%")))
    assert row is not None and row.status == "dropped"
    await build_all(app)
    assert files and all(mode(Path(f)) is None for f in files)


def test_the_console_shows_the_report_before_the_next_prompt(tmp_path: Path) -> None:
    import re

    from tests.conftest import ROOT
    from tests.test_staff_cli import admin

    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8").replace(
        "sqlite+aiosqlite:///appeals.db", f"sqlite+aiosqlite:///{tmp_path}/a.db"), encoding="utf-8")
    code = re.search(r"code:\s+([A-Z0-9]{10})", admin(config, "staff", "invite", "--role", "supervisor").stdout)
    assert code is not None
    shown = admin(config, "console", "--user", "boss", stdin=f"/start {code.group(1)}\n/stats\n/help\n").stdout
    assert shown.index("Готовлю отчёт") < shown.index("Поступило: 0") < shown.index("> /help")
    chart = re.search(r"📎 stats_\S+\.png — (\S+)", shown)
    assert chart is not None and Path(chart.group(1)).parent == tmp_path / "reports"
    assert mode(tmp_path / "reports") == 0o700
