"""SIGTERM and SIGINT stop the bot cleanly (docs/deploy.md): no new updates taken, the one in flight
finished and confirmed, exit 0 within 10 s. A real `appeals-bot run` process against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.telegram_server import FakeTelegramServer

ROOT = Path(__file__).resolve().parent.parent
CHAT = 42
pytestmark = pytest.mark.sqlite_only("a process of its own on a SQLite file")


def bot_config(tmp_path: Path, api_base: str) -> Path:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^api_base = "".*$', f'api_base = "{api_base}"', text, count=1)  # [telegram] comes first
    text = re.sub(r"(?m)^metrics_port = .*$", "metrics_port = 0", text)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        yield fake


async def start_bot(server: FakeTelegramServer, tmp_path: Path) -> asyncio.subprocess.Process:
    environment = {**os.environ, "TELEGRAM_BOT_TOKEN": server.token,
                   "APPEALS_BOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'appeals.db'}"}
    environment.pop("APPEALS_BOT_CONFIG", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(bot_config(tmp_path, server.api_base)), "run",
        cwd=tmp_path, env=environment, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_finishes_the_update_in_flight_and_exits_0(server: FakeTelegramServer, tmp_path: Path,
                                                                    signum: signal.Signals) -> None:
    bot = await start_bot(server, tmp_path)
    try:
        await server.wait_calls("getUpdates", within=60)  # started: migrated, polling
        update = server.make.text(CHAT, "/start")
        server.stall_next("sendMessage", 2.0)  # the reply is on its way when the signal comes
        server.queue(update)
        await server.wait_calls("sendMessage", within=20)
        bot.send_signal(signum)
        signalled = time.monotonic()
        code = await asyncio.wait_for(bot.wait(), timeout=10)
        took = time.monotonic() - signalled
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    stderr = (await bot.stderr.read()).decode() if bot.stderr else ""
    assert code == 0, stderr[-2000:]
    assert took < 10
    assert server.texts(CHAT) and server.texts(CHAT)[0].startswith("Здравствуйте!")  # the reply went out
    # The handled update was confirmed on the way out: the next start does not get it again.
    assert server.confirmed_offset > update["update_id"]
