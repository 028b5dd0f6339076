"""Operations: per-citizen limits, personal data export/erase/retention, backup, health, metrics, logs."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.app import App
from bot.observability import configure_logging, ops_app
from bot.scheduler import build_scheduler
from bot.services import privacy
from storage.models import Appeal, ProcessedUpdate, User
from storage.repositories import Repositories
from tests.conftest import ROOT, Clock
from tests.test_ministry_work import Office, press_on, submit
from tests.utils.chat import Chat


async def test_a_citizen_flooding_the_bot_is_asked_to_wait_and_told_the_message_was_not_processed(
        app: App, citizen: Chat, clock: Clock) -> None:
    limit = app.settings.limits.messages_per_minute
    for _ in range(limit):
        await citizen.send("/help")
    await citizen.send("/my")
    assert "слишком часто" in citizen.text and "не обработано" in citizen.text
    async with app.sessionmaker() as session:
        stored = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    for _ in range(5):
        await citizen.send("/my")
        assert citizen.replies == []  # one polite message per window, not one per message
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == stored  # nor a row
    clock.now += timedelta(seconds=61)
    await citizen.send("/my")
    assert "пока нет обращений" in citizen.text


async def test_the_daily_appeal_limit_keeps_the_draft_for_tomorrow(app: App, citizen: Chat, clock: Clock) -> None:
    app.settings.limits.appeals_per_day = 1
    await submit(citizen)
    await citizen.send("/new")
    await citizen.press("Петрова")
    await citizen.press("Пропустить")
    await citizen.press("ТКО")
    await citizen.press("Вывоз")
    await citizen.send("Мусор не вывозят неделю, контейнеры переполнены.")
    await citizen.press("Готово")
    await citizen.press("Пропустить")
    await citizen.send("ул. Мира, 3")
    await citizen.press("Отправить")
    assert "предел на день" in citizen.text
    clock.now += timedelta(days=1)
    await citizen.press("Отправить")
    assert "ЦУР-2026-000002" in citizen.text


async def test_export_shows_everything_and_erase_anonymises_but_keeps_statistics(
        app: App, citizen: Chat, clock: Clock) -> None:
    await submit(citizen)
    async with app.sessionmaker() as session:
        user = await Repositories(session).users.find("console", citizen.user_id)
        assert user is not None
        data = await privacy.export(Repositories(session), user)
    assert data["appeals"][0]["name"] == "Петрова Анна" and "фонари" in data["appeals"][0]["text"]
    assert data["consents"][0]["accepted"] is True and data["appeals"][0]["files"][0]["name"] == "lamp.jpg"

    async with app.sessionmaker() as session, session.begin():
        repo = Repositories(session)
        user = await repo.users.find("console", citizen.user_id)
        assert user is not None and await privacy.erase(repo, user) == 1
    async with app.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None
        assert (appeal.citizen_name, appeal.phone, appeal.address, appeal.text) == (None, None, None, "[удалено]")
        assert (appeal.sector_id, appeal.status, appeal.number) == ("housing", "registered", "ЦУР-2026-000001")
        assert await session.scalar(select(User).where(User.platform_id == citizen.user_id)) is None
    await citizen.send("/start")
    assert "персональных данных" in citizen.text  # a new, empty account: consent is asked again


async def test_retention_erases_personal_data_of_old_closed_appeals_only(app: App, citizen: Chat,
                                                                         clock: Clock) -> None:
    office = Office(app, clock)
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await submit(citizen, sector="Дороги", category="Ямы")
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.inbox(ivan)[0], "Ответить"))
    await ivan.send("Фонари заменены.")
    await ivan.press("Готово")
    await ivan.press("Отправить гражданину")
    clock.now += timedelta(days=app.settings.privacy.retention_days + 1)
    assert await build_scheduler(app, clock).run("privacy-retention") == 1
    async with app.sessionmaker() as session:
        first, second = (await session.scalars(select(Appeal).order_by(Appeal.id))).all()
    assert first.citizen_name is None and first.text == "[удалено]"
    assert second.citizen_name == "Петрова Анна"  # still open: kept


def test_db_backup_makes_a_consistent_copy(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8").replace(
        "sqlite+aiosqlite:///appeals.db", f"sqlite+aiosqlite:///{tmp_path}/live.db"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    dialog = "/start\n1\nИванов Иван\n2\n6\n1\nЯма на дороге у дома пять, глубокая.\nГотово\n1\nул. Мира, 5\n1\n"
    subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "console"], input=dialog, text=True,
                   capture_output=True, timeout=60, env=env, check=True)
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "db", "backup",
                             str(tmp_path / "copy.db")], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT number FROM appeals").fetchall() == [("ЦУР-2026-000001",)]


async def test_healthz_and_metrics_over_http(app: App, citizen: Chat, clock: Clock) -> None:
    office = Office(app, clock)
    await office.staff_member("ivan")
    await submit(citizen)  # its card waits in the outbox
    server = TestServer(ops_app(app.metrics, app.snapshot), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.make_url("/healthz")) as response:
                assert response.status == 200 and (await response.json())["status"] == "ok"
            async with http.get(server.make_url("/metrics")) as response:
                body = await response.text()
    finally:
        await server.close()
    assert 'appeals_updates_total{channel="console"}' in body
    assert "appeals_outbox_pending 1.0" in body
    assert "appeals_overdue 0.0" in body and "appeals_update_seconds_bucket" in body


async def test_json_logs_carry_the_update_and_the_user(app: App, citizen: Chat,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    try:
        event = citizen._event(text="/new")
        await citizen.feed(event)
        await citizen.feed(event)  # a replay is logged
    finally:
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    replay = next(line for line in lines if "already handled" in line["msg"])
    assert replay["update_key"] == event.update_key and replay["user"] == f"console:{citizen.user_id}"
