"""Faults at the channels (issue 15 §3), run by bench/fault.py: each prints how many citizens' messages were
lost (never answered) and duplicated (answered twice); all must be 0.

- VK restart: the long poll stops with messages in flight (replies stalled at VK), stays down for 30 s while
  citizens keep writing, and starts again from its position in the database.
- Database locked for 40 s under load (another process's write transaction on the SQLite file, longer than
  the 30 s busy timeout): updates are deferred, the polling offset held, and each handled once afterwards.
- SIGTERM under load: a real ``appeals-bot run`` process stops (exit 0 within 10 s), starts again, and
  every citizen is answered once.
- PostgreSQL "restarted" under load: the server is shared with other work on this machine, so instead of
  restarting it the bench terminates every backend of its scratch database (pg_terminate_backend) for a
  while, which is what a restart looks like to the bot: connections dropped, new ones refused or killed.

Each citizen sends /start once; the answer begins with the greeting, which is what is counted.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
GREETING = "Здравствуйте!"  # how start.greeting begins (ru)


@dataclass
class Outcome:
    name: str
    lost: int
    duplicated: int
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and not any(n.startswith("FAIL") for n in self.notes)

    def line(self) -> str:
        extra = f"; {'; '.join(self.notes)}" if self.notes else ""
        return f"  {'OK  ' if self.ok else 'FAIL'} {self.name}: lost {self.lost}, duplicated {self.duplicated}{extra}"


def tally(name: str, greetings: dict[Any, int], notes: list[str]) -> Outcome:
    return Outcome(name, sum(1 for n in greetings.values() if n == 0), sum(1 for n in greetings.values() if n > 1),
                   notes)


async def until(ready: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not ready():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@asynccontextmanager
async def bot_app(url: str) -> AsyncIterator[Any]:
    from bot.app import build_app
    from bot.config import load

    settings = load(ROOT / "config.toml", environ={})
    settings.database.url = url
    app = await build_app(settings, migrate=False)
    try:
        yield app
    finally:
        await app.close()


# --- VK restart --------------------------------------------------------------------------------


async def vk_restart(url: str, workdir: Path, citizens: int, downtime: float) -> Outcome:
    """Real processes (a restart in one process would keep its connections and threads)."""
    from tests.fakes.vk_server import FakeVk

    peers = [10_000 + i for i in range(citizens)]
    notes: list[str] = []

    def greeted() -> dict[int, int]:
        return {p: sum(m.text.startswith(GREETING) for m in fake.messages(p)) for p in peers}

    async with FakeVk(max_wait=0.5) as fake:
        text = (ROOT / "config.toml").read_text(encoding="utf-8")
        text = re.sub(r"(?m)^enabled = true", "enabled = false", text, count=1)  # [telegram] comes first
        text = re.sub(r"(?m)^\[vk\]\nenabled = false\ngroup_id = 0",
                      f"[vk]\nenabled = true\ngroup_id = {fake.group_id}", text)
        text = re.sub(r'(?m)^api_base = ""(.*VK.*)$', f'api_base = "{fake.base_url}"', text)
        text = re.sub(r"(?m)^metrics_port = .*$", "metrics_port = 0", text)
        config = workdir / "vk.toml"
        config.write_text(text, encoding="utf-8")
        environment = {**os.environ, "VK_GROUP_TOKEN": fake.token, "APPEALS_BOT_DATABASE_URL": url}
        environment.pop("TELEGRAM_BOT_TOKEN", None)

        async def start() -> asyncio.subprocess.Process:
            checks = fake.longpoll_checks
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "--config", str(config), "run", cwd=ROOT, env=environment,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            await fake.wait_polling(after=checks, within=60)
            return process

        bot = await start()
        third = citizens // 3
        for peer in peers[:third]:
            fake.text(peer, "/start")
        await until(lambda: all(greeted()[p] for p in peers[:third]), 60)
        fake.stall_next("messages.send", 1.5, times=3)  # replies on their way at the stop
        sends = len(fake.calls_to("messages.send"))
        for peer in peers[third:2 * third]:
            fake.text(peer, "/start")
        await fake.wait_calls("messages.send", sends + 1, within=30)
        bot.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(bot.wait(), timeout=30)
        notes.append(f"stopped with exit {code} while replies were in flight")
        for peer in peers[2 * third:]:  # written while the bot is down
            fake.text(peer, "/start")
        await asyncio.sleep(downtime)
        bot = await start()
        done = await until(lambda: all(greeted().values()), 120)
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=30)
    notes.insert(0, f"{downtime:.0f} s down")
    if not done:
        notes.append("FAIL not every citizen answered within 120 s of the restart")
    return tally(f"VK restart ({citizens} citizens)", greeted(), notes)


# --- the database locked; PostgreSQL backends terminated ---------------------------------------


@asynccontextmanager
async def telegram_polling(app: Any) -> AsyncIterator[Any]:
    from bot.channels.telegram import TelegramChannel
    from bot.config import Telegram
    from tests.fakes.telegram_server import FakeTelegramServer

    async with FakeTelegramServer() as fake:
        channel = TelegramChannel(Telegram(api_base=fake.api_base, token=SecretStr(fake.token)), app.conversations,
                                  polling_timeout=1)
        running = asyncio.create_task(channel.run_polling())
        await fake.wait_calls("getUpdates", within=30)
        try:
            yield fake
        finally:
            await channel.stop()
            await running


def lock_file(database: Path, seconds: float) -> threading.Thread:
    taken = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(database, timeout=30)
        try:
            connection.execute("BEGIN IMMEDIATE")
            taken.set()
            time.sleep(seconds)
            connection.rollback()
        finally:
            connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    taken.wait(30)
    return holder


async def under_load(app: Any, citizens: int, fault: Callable[[], Any], fault_seconds: float,
                     name: str) -> Outcome:
    chats = [20_000 + i for i in range(citizens)]
    async with telegram_polling(app) as fake:
        def greeted() -> dict[int, int]:
            return {c: sum(t.startswith(GREETING) for t in fake.texts(c)) for c in chats}

        third = citizens // 3
        fake.queue(*(fake.make.text(c, "/start") for c in chats[:third]))
        await until(lambda: all(greeted()[c] for c in chats[:third]), 60)
        started = time.monotonic()
        during = asyncio.create_task(fault())
        for chat in chats[third:]:  # the rest arrive while the fault lasts
            fake.queue(fake.make.text(chat, "/start"))
            await asyncio.sleep(fault_seconds / 2 / max(1, citizens - third))
        await during
        done = await until(lambda: all(greeted().values()), fault_seconds + 120)
        recovered = time.monotonic() - started
    deferred = app.metrics.registry.get_sample_value("appeals_updates_deferred_total", {"channel": "telegram"}) or 0
    notes = [f"{deferred:.0f} updates deferred and handled later", f"all answered {recovered:.0f} s after it began"]
    if not done:
        notes.append("FAIL not every citizen answered")
    return tally(name, greeted(), notes)


async def database_locked(url: str, citizens: int, seconds: float) -> Outcome:
    database = Path(url.split("///", 1)[1])
    async with bot_app(url) as app:
        async def fault() -> None:
            await asyncio.to_thread(lambda: lock_file(database, seconds).join())

        return await under_load(app, citizens, fault, seconds,
                                f"SQLite locked for {seconds:.0f} s under load ({citizens} citizens)")


async def postgres_terminated(url: str, citizens: int, seconds: float) -> Outcome:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    async with bot_app(url) as app:
        async def fault() -> None:
            admin = await asyncpg.connect(dsn)
            try:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                    await asyncio.sleep(0.2)
            finally:
                await admin.close()

        return await under_load(app, citizens, fault, seconds,
                                f"PostgreSQL backends terminated for {seconds:.0f} s under load ({citizens} citizens)")


# --- SIGTERM under load --------------------------------------------------------------------------


def process_config(workdir: Path, api_base: str) -> Path:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^api_base = "".*$', f'api_base = "{api_base}"', text, count=1)  # [telegram] first
    text = re.sub(r"(?m)^metrics_port = .*$", "metrics_port = 0", text)
    path = workdir / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def sigterm_under_load(url: str, workdir: Path, citizens: int) -> Outcome:
    from tests.fakes.telegram_server import FakeTelegramServer

    chats = [30_000 + i for i in range(citizens)]
    notes: list[str] = []
    async with FakeTelegramServer() as fake:
        config = process_config(workdir, fake.api_base)
        environment = {**os.environ, "TELEGRAM_BOT_TOKEN": fake.token, "APPEALS_BOT_DATABASE_URL": url}

        async def start() -> asyncio.subprocess.Process:
            calls = len(fake.calls_of("getUpdates"))
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "--config", str(config), "run", cwd=ROOT, env=environment,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            await fake.wait_calls("getUpdates", calls + 1, within=60)
            return process

        def greeted() -> dict[int, int]:
            return {c: sum(t.startswith(GREETING) for t in fake.texts(c)) for c in chats}

        async def write() -> None:  # citizens keep writing through the stop and the restart
            for chat in chats:
                fake.queue(fake.make.text(chat, "/start"))
                await asyncio.sleep(0.2)

        bot = await start()
        writing = asyncio.create_task(write())
        await until(lambda: sum(1 for n in greeted().values() if n) >= citizens // 3, 60)
        bot.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = await asyncio.wait_for(bot.wait(), timeout=30)
        took = time.monotonic() - signalled
        answered_before = sum(1 for n in greeted().values() if n)
        notes.append(f"exit {code} {took:.1f} s after SIGTERM, {answered_before}/{citizens} answered by then")
        if code != 0 or took > 10:
            notes.append("FAIL the stop promised in docs/deploy.md: exit 0 within 10 s")
        bot = await start()
        await writing
        done = await until(lambda: all(greeted().values()), 120)
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=30)
    if not done:
        notes.append("FAIL not every citizen answered after the restart")
    return tally(f"SIGTERM under load ({citizens} citizens)", greeted(), notes)


# --- all of them -----------------------------------------------------------------------------------


async def channel_faults(smoke: bool, postgres: str | None, citizens: int | None = None) -> list[Outcome]:
    from load import scratch_database

    count = citizens or (15 if smoke else 60)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="appeals-channel-faults-") as tmp:
        workdir = Path(tmp)
        async with scratch_database("sqlite", workdir, "", "vk") as url:
            outcomes.append(await vk_restart(url, workdir, count, 2.0 if smoke else 30.0))
        async with scratch_database("sqlite", workdir, "", "locked") as url:
            outcomes.append(await database_locked(url, count, 3.0 if smoke else 40.0))
        async with scratch_database("sqlite", workdir, "", "sigterm") as url:
            outcomes.append(await sigterm_under_load(url, workdir, count))
        if postgres:
            async with scratch_database("postgres", workdir, postgres, "terminated") as url:
                outcomes.append(await postgres_terminated(url, count, 2.0 if smoke else 10.0))
    return outcomes


def count_lines(outcomes: list[Outcome]) -> list[str]:
    lost, duplicated = sum(o.lost for o in outcomes), sum(o.duplicated for o in outcomes)
    return [o.line() for o in outcomes] + [f"  channel faults: lost {lost}, duplicated {duplicated}"]
