"""Nothing lost (issue 15 §3): the VK long poll resumes where it stopped, a database that is away defers
an update instead of acknowledging it, and malformed webhook bodies are refused. Against the fake
Telegram and VK servers over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

import storage.engine
from bot.app import App, build_app
from bot.channels.base import Runtime
from bot.channels.vk import VkChannel
from bot.config import Settings
from bot.observability import Metrics
from bot.services.cursors import DatabaseCursors
from storage.models import ProcessedUpdate
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.vk_server import FakeVk
from tests.test_telegram_channel import channel_for, config, free_port, polling, until
from tests.test_vk_channel import GROUP_ID, OTHER_PEER, PEER, SECRET, Recorder, running, vk_settings

CHAT = 42
GREETING = "Здравствуйте!"  # start.greeting: what /start brings


def vk_channel(fake: FakeVk, handler: Any, runtime: Runtime, **changes: Any) -> VkChannel:
    return VkChannel(vk_settings(fake, **changes), handler, long_poll_wait=1, retry_delays=(0.01, 0.02),
                     reconnect_delays=(0.02,), runtime=runtime)


@pytest.fixture
async def fake() -> AsyncIterator[FakeVk]:
    async with FakeVk(group_id=GROUP_ID) as server:
        yield server


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as server:
        yield server


def lost(metrics: Metrics) -> float:
    return metrics.registry.get_sample_value("appeals_channel_events_lost_total", {"channel": "vk"}) or 0.0


# --- the VK long poll keeps its position ---------------------------------------------------------


async def test_messages_sent_while_the_bot_was_down_are_handled_after_the_restart(fake: FakeVk, app: App) -> None:
    runtime = Runtime(cursors=DatabaseCursors(app.sessionmaker), metrics=Metrics())
    before = Recorder()
    async with running(vk_channel(fake, before, runtime), fake):
        fake.text(PEER, "до остановки")
        await fake.wait_messages(PEER, 1)
    # The bot is down; two people write.
    fake.text(PEER, "пока бот стоял")
    fake.text(OTHER_PEER, "и я тоже")
    after = Recorder()
    async with running(vk_channel(fake, after, runtime), fake):
        await fake.wait_messages(PEER, 2)
        await fake.wait_messages(OTHER_PEER, 1)
    assert sorted(e.text for e in after.events) == ["и я тоже", "пока бот стоял"]  # the first not again
    assert [m.text for m in fake.messages(PEER)] == ["echo: до остановки", "echo: пока бот стоял"]
    assert lost(runtime.metrics) == 0  # type: ignore[arg-type]


async def test_events_vk_no_longer_has_are_logged_and_counted(fake: FakeVk, app: App,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    runtime = Runtime(cursors=DatabaseCursors(app.sessionmaker), metrics=Metrics())
    async with running(vk_channel(fake, Recorder(), runtime), fake):
        fake.text(PEER, "до остановки")
        await fake.wait_messages(PEER, 1)
    fake.text(PEER, "пропало")
    fake.forget_history()  # down longer than VK keeps events
    after = Recorder()
    with caplog.at_level(logging.ERROR):
        async with running(vk_channel(fake, after, runtime), fake):
            await until(lambda: lost(runtime.metrics) == 1)  # type: ignore[arg-type]
            fake.text(PEER, "уже после")
            await fake.wait_messages(PEER, 2)
    assert [e.text for e in after.events] == ["уже после"]  # the bot goes on from VK's position
    assert any("no longer available" in record.getMessage() for record in caplog.records)


async def test_a_stop_before_the_first_message_is_handled_still_resumes_from_where_it_began(
        fake: FakeVk, app: App) -> None:
    runtime = Runtime(cursors=DatabaseCursors(app.sessionmaker), metrics=Metrics(), shutdown_grace=0.2)
    never = asyncio.Event()

    class Stuck(Recorder):
        async def handle(self, event: Any) -> list[Any]:
            self.events.append(event)
            await never.wait()  # still busy when the bot is stopped
            return []

    first = Stuck()
    async with running(vk_channel(fake, first, runtime), fake):
        fake.text(PEER, "первое")
        await until(lambda: bool(first.events))
    fake.text(OTHER_PEER, "пока бот стоял")
    after = Recorder()
    async with running(vk_channel(fake, after, runtime), fake):
        await fake.wait_messages(PEER, 1)
        await fake.wait_messages(OTHER_PEER, 1)
    assert sorted(e.text for e in after.events) == ["первое", "пока бот стоял"]


# --- a database that is away: deferred, never acknowledged ----------------------------------------


@contextlib.contextmanager
def locked(database: Path) -> Iterator[threading.Event]:
    """Another process's write transaction on the SQLite file until the event is set."""
    release = threading.Event()
    taken = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(database, timeout=5)
        try:
            connection.execute("BEGIN IMMEDIATE")
            taken.set()
            release.wait(30)
            connection.rollback()
        finally:
            connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert taken.wait(5)
    try:
        yield release
    finally:
        release.set()
        holder.join(5)


@pytest.fixture
async def impatient_app(settings: Settings, clock: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    """The bot on SQLite with a busy timeout of 0.2 s instead of 30, so a test need not wait it out."""
    if not settings.database.url.startswith("sqlite"):
        pytest.skip("locks the SQLite file")
    monkeypatch.setattr(storage.engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    built = await build_app(settings, clock=clock, migrate=False)
    yield built
    await built.close()


def deferred(app: App) -> float:
    return app.metrics.registry.get_sample_value("appeals_updates_deferred_total", {"channel": "telegram"}) or 0.0


def database_file(app: App) -> Path:
    return Path(str(app.engine.url.database))


async def handled(app: App) -> int:
    async with app.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0)


async def test_telegram_webhook_answers_an_error_while_the_database_is_locked_then_handles_the_resend_once(
        telegram: FakeTelegramServer, impatient_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.channels.telegram.webhook.WEBHOOK_PATIENCE", 0.5)
    update = telegram.make.text(CHAT, "/start")
    async with webhook_for(telegram, impatient_app):
        with locked(database_file(impatient_app)):
            assert await telegram.post_to_webhook(update) == 503  # Telegram will send it again
        assert telegram.texts(CHAT) == []  # nothing said, least of all "saved"
        assert await handled(impatient_app) == 0
        assert await telegram.post_to_webhook(update) == 200  # Telegram's re-send, after recovery
        assert await telegram.post_to_webhook(update) == 200  # and once more: not handled twice
    assert await handled(impatient_app) == 1
    assert telegram.texts(CHAT)[0].startswith(GREETING)


async def test_telegram_polling_holds_its_offset_while_the_database_is_locked(
        telegram: FakeTelegramServer, impatient_app: App) -> None:
    update = telegram.make.text(CHAT, "/start")
    async with polling(telegram, impatient_app.conversations):
        with locked(database_file(impatient_app)):
            telegram.queue(update)
            await until(lambda: deferred(impatient_app) >= 2, within=10)  # tried, deferred, tried again
            polls = len(telegram.calls_of("getUpdates"))
            await until(lambda: len(telegram.calls_of("getUpdates")) > polls, within=10)
            assert telegram.confirmed_offset <= update["update_id"]  # not confirmed while not handled
            assert telegram.texts(CHAT) == []
        await telegram.wait_sent(CHAT, 1, within=10)
    assert await handled(impatient_app) == 1
    assert telegram.texts(CHAT)[0].startswith(GREETING)


async def test_vk_callback_asks_vk_to_retry_while_the_database_is_locked(fake: FakeVk, impatient_app: App,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.channels.vk.webhook.CALLBACK_PATIENCE", 0.5)
    channel = vk_channel(fake, impatient_app.conversations, Runtime(), mode="callback", callback_port=0,
                         callback_secret=SecretStr(SECRET), confirmation="abc")
    body = fake.callback_body(fake.text(PEER, "/start"), SECRET)
    async with running(channel, fake):
        host, port = channel.callback_address  # type: ignore[misc]
        url = f"http://{host}:{port}/vk"
        async with aiohttp.ClientSession() as session:
            with locked(database_file(impatient_app)):
                async with session.post(url, json=body) as response:
                    assert response.status >= 500 and await response.text() != "ok"
            assert fake.messages(PEER) == []
            async with session.post(url, json=body) as response:  # VK's retry
                assert await response.text() == "ok"
        await fake.wait_messages(PEER, 1)
    assert await handled(impatient_app) == 1


# --- hostile bodies at the webhooks --------------------------------------------------------------


NESTED = b'{"update_id": 1, "message": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"
BAD_BODIES = [
    b"not json",
    b'{"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"}',
    NESTED,
    b'{"update_id": {"nested": [1, 2]}}',
    b'{"update_id": 5, "message": {"message_id": "one", "date": "today", "chat": "42"}}',
    b"[1, 2, 3]",
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=["not-json", "cut-short", "nested", "id-object", "wrong-types",
                                                  "array"])
async def test_telegram_webhook_refuses_malformed_bodies_with_400(telegram: FakeTelegramServer, body: bytes) -> None:
    handler = Recorder()
    async with webhook_for(telegram, handler):
        async with aiohttp.ClientSession() as session, session.post(
                telegram.webhook_url, data=body, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1",
                                                          "Content-Type": "application/json"}) as response:
            assert response.status == 400
    assert handler.events == [] and telegram.calls_of("sendMessage") == []


@pytest.mark.parametrize("shape", ["not-json", "nested", "type-number", "object-list"])
async def test_vk_callback_refuses_malformed_bodies_with_400(fake: FakeVk, shape: str) -> None:
    handler = Recorder()
    channel = vk_channel(fake, handler, Runtime(), mode="callback", callback_port=0,
                         callback_secret=SecretStr(SECRET), confirmation="abc")
    good = fake.callback_body(fake.text(PEER, "привет"), SECRET)
    bodies = {
        "not-json": b"{oops",
        "nested": b'{"type": "message_new", "object": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}",
        "type-number": _json({**good, "type": 5}),
        "object-list": _json({**good, "object": [1, 2]}),
    }
    async with running(channel, fake):
        host, port = channel.callback_address  # type: ignore[misc]
        async with aiohttp.ClientSession() as session, session.post(
                f"http://{host}:{port}/vk", data=bodies[shape]) as response:
            assert response.status == 400
    assert handler.events == [] and fake.messages(PEER) == []


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


@contextlib.asynccontextmanager
async def webhook_for(server: FakeTelegramServer, handler: Any) -> AsyncIterator[Any]:
    port = free_port()
    settings = config(server, mode="webhook", webhook_port=port, webhook_url=f"http://127.0.0.1:{port}/telegram",
                      webhook_secret=SecretStr("s3cret-Token_1"))
    handler = handler.conversations if isinstance(handler, App) else handler
    async with channel_for(server, handler, settings) as channel:
        task = asyncio.create_task(channel.run_webhook())
        try:
            await server.wait_calls("setWebhook")
            await _listening(port)
            yield channel
        finally:
            await channel.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)


async def _listening(port: int) -> None:
    from tests.test_telegram_channel import _listening as listening

    await listening(port)


# --- a Telegram album delivered again in another grouping -------------------------------------------


async def test_an_album_delivered_again_in_another_grouping_is_taken_once(telegram: FakeTelegramServer,
                                                                          app: App) -> None:
    from tests.test_telegram_channel import TelegramCitizen, via_webhook

    async with webhook_for(telegram, app):
        citizen = TelegramCitizen(telegram, via_webhook(telegram))
        await citizen.send("/start")
        await citizen.press("Согласен")
        await citizen.send("Иванова Мария Петровна")
        await citizen.step(telegram.make.contact(citizen.chat_id, "79123456789"))
        await citizen.press("ЖКХ")
        await citizen.press("Отопление")
        await citizen.send("Третий день в квартире холодные батареи, температура 15 градусов, дети болеют.")
        await citizen.press("Готово")
        album = telegram.make.album(citizen.chat_id, 3)
        await citizen.step(*album)
        assert "Файлов приложено: 3" in citizen.text
        # Telegram gives the same messages again, grouped differently: the first two, then the third.
        await citizen.step(*album[:2])
        await citizen.step(album[2])
        another = telegram.make.photo(citizen.chat_id)  # a new photo still counts
        await citizen.step(another)
        assert "Файлов приложено: 4" in citizen.text
        await citizen.press("Готово")
        await citizen.step(telegram.make.location(citizen.chat_id, 56.8519, 53.2048))
        assert "Файлов: 4" in citizen.text


# --- PostgreSQL: connections cut while updates are handled ----------------------------------------


@pytest.mark.postgres
async def test_postgresql_connections_cut_mid_update_defer_it_and_it_is_handled_once(
        telegram: FakeTelegramServer, postgres_url: str, tmp_path: Path, clock: Any) -> None:
    """What a PostgreSQL restart looks like to the bot (the server itself is shared, so not restarted):
    every backend of the database terminated, again and again, while citizens write."""
    import asyncpg
    from sqlalchemy.engine import make_url

    from tests.conftest import settings_for

    built = await build_app(settings_for(postgres_url, tmp_path), clock=clock, migrate=False)
    chats = [CHAT + n for n in range(6)]
    admin = await asyncpg.connect(make_url(postgres_url).set(drivername="postgresql").render_as_string(
        hide_password=False))
    try:
        async with polling(telegram, built.conversations):
            telegram.queue(telegram.make.text(chats[0], "/start"))
            await telegram.wait_sent(chats[0], 1, within=10)
            deadline = asyncio.get_running_loop().time() + 2.0
            for chat in chats[1:]:
                telegram.queue(telegram.make.text(chat, "/start"))
            while asyncio.get_running_loop().time() < deadline:
                await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                await asyncio.sleep(0.05)
            for chat in chats:
                await telegram.wait_sent(chat, 1, within=20)
        await built.engine.dispose()  # the test's own count must not pick a pooled connection terminated above
        assert await handled(built) == len(chats)
        assert all(sum(t.startswith(GREETING) for t in telegram.texts(chat)) == 1 for chat in chats)
    finally:
        await admin.close()
        await built.close()
