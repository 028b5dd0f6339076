"""Floor: what the two halves of an update cost on this machine, so a load figure can be read against them.

Run from the repository root:  python bench/floor.py [--citizens 60] [--updates 3000]

bench/load.py measures the whole bot; this splits one update's CPU into the parts every update pays:

1. The conversations and the database: ``Conversations.handle`` -- de-duplication, user, dialog state,
   the step, the appeal and its outbox rows, committed -- for whole appeals, one citizen at a time, on
   a SQLite file through the project's engine (aiosqlite). No HTTP. CPU time of this process per update.
2. The Telegram channel: the real ``TelegramChannel`` webhook (``python -m bot run`` serves the same
   app) in a process of its own, with a handler that only answers one message and touches no database:
   the POST, the secret check, the Update parsed, one sendMessage to the fake Bot API
   (tests/fakes/telegram_server.py, served from this process), answered. Updates are posted flat out,
   32 at a time; the CPU time of the channel's process (from /proc) per update.

The sum of 1 and 2 is a floor for one instance: an update of a real dialog pays both, and more (its
other Bot API calls -- the flow averages the number of replies printed by part 1 --, the outbox, the
scheduler), in one process whose Python runs on one core at a time. So one instance cannot handle more
than 1000 / (1 + 2) updates/s on this machine, whatever the load generator does. Prints the figures;
exit status 0 (nothing is enforced: machines differ).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.events import Incoming, Reply  # noqa: E402  (plain dataclasses: no aiogram, no database)

SECRET = "floor-Secret_0123456789"
TEXT = "Во дворе дома пятый день не горят фонари, вечером очень темно, дети идут из школы в темноте."


# --- 1. conversations and database ------------------------------------------------------------------


async def conversations_cost(citizens: int) -> tuple[float, float, int]:
    """CPU ms per update and replies per update of whole appeals through Conversations.handle."""
    from bot.app import build_app
    from bot.config import load as load_config
    from tests.utils.chat import Chat

    with tempfile.TemporaryDirectory(prefix="appeals-floor-") as tmp:
        settings = load_config(ROOT / "config.toml")
        database = settings.database.model_copy(update={"url": f"sqlite+aiosqlite:///{tmp}/floor.db"})
        app = await build_app(settings.model_copy(update={"database": database}))
        try:
            replies = updates = 0

            async def appeal(index: int) -> None:
                nonlocal replies, updates
                chat = Chat(app.conversations, user_id=str(50_000 + index))
                steps = [chat.send("/start"), chat.press("Согласен"), chat.send("Иванова Мария Петровна"),
                         chat.send("8 (912) 345-67-89"), chat.press("ЖКХ"), chat.press("Отопление"),
                         chat.send(TEXT), chat.press("Готово"), chat.press("Пропустить"),
                         chat.send("г. Энск, ул. Ленина, д. 5, кв. 12"), chat.press("Отправить")]
                for step in steps:
                    replies += len([r for r in await step if r.text])
                    updates += 1
                if "Номер" not in chat.text:
                    raise RuntimeError(f"citizen {index} did not get a number: {chat.text!r}")

            for index in range(3):  # warm-up: imports, caches, the first statements compiled
                await appeal(index)
            replies = updates = 0
            started = time.process_time()
            for index in range(3, 3 + citizens):
                await appeal(index)
            return 1000 * (time.process_time() - started) / updates, replies / updates, updates
        finally:
            await app.close()


# --- 2. the Telegram channel -------------------------------------------------------------------------


class OneAnswer:
    """A ConversationHandler that answers every event with one message and keeps nothing."""

    async def handle(self, event: Incoming) -> list[Reply]:
        return [Reply(text="Спасибо, сообщение получено. Ответ придёт в этот чат.")]

    async def mark_unreachable(self, channel: str, chat_id: str, reason: str) -> None:
        return None


async def serve_channel(api_base: str, port: int) -> None:
    """The child process: the real webhook app of TelegramChannel with OneAnswer behind it."""
    from pydantic import SecretStr

    from bot.channels.telegram import TelegramChannel
    from bot.config import Telegram

    settings = Telegram(api_base=api_base, token=SecretStr("123456:floor"), mode="webhook",
                        webhook_host="127.0.0.1", webhook_port=port, webhook_path="/telegram",
                        webhook_secret=SecretStr(SECRET))
    channel = TelegramChannel(settings, OneAnswer())
    try:
        await channel.run_webhook()
    finally:
        await channel.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def channel_cost(updates: int, concurrency: int = 32) -> tuple[float, float]:
    """CPU ms per update of the channel's process, and the updates/s it took flat out."""
    import socket

    import aiohttp

    from tests.fakes.telegram_server import SECRET_HEADER, FakeTelegramServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with FakeTelegramServer(token="123456:floor") as fake:
        child = await asyncio.create_subprocess_exec(sys.executable, __file__, "--serve", fake.api_base, str(port),
                                                     cwd=ROOT)
        try:
            url = f"http://127.0.0.1:{port}/telegram"
            async with aiohttp.ClientSession() as session:
                for _ in range(300):  # until it listens
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/") as reply:
                            await reply.read()
                        break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.1)
                left = updates

                async def citizen(index: int) -> None:
                    nonlocal left
                    while left > 0:
                        left -= 1
                        update = fake.make.text(10_000_000 + index, TEXT)
                        async with session.post(url, json=update, headers={SECRET_HEADER: SECRET}) as reply:
                            await reply.read()
                            if reply.status != 200:
                                raise RuntimeError(f"webhook answered {reply.status}")

                await asyncio.gather(*(citizen(i) for i in range(concurrency)))  # warm-up
                left = updates
                cpu, started = cpu_seconds(child.pid), time.perf_counter()
                await asyncio.gather(*(citizen(i) for i in range(concurrency)))
                seconds, cpu = time.perf_counter() - started, cpu_seconds(child.pid) - cpu
        finally:
            child.terminate()
            await child.wait()
        sent = len(fake.calls_of("sendMessage"))
        if sent != 2 * updates:
            raise RuntimeError(f"{sent} messages sent for {2 * updates} updates")
    return 1000 * cpu / updates, updates / seconds


# --- the command -------------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=60, help="whole appeals for part 1 (11 updates each)")
    parser.add_argument("--updates", type=int, default=3000, help="updates posted to the channel in part 2")
    parser.add_argument("--serve", nargs=2, metavar=("API_BASE", "PORT"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    handler_ms, replies, updates = await conversations_cost(args.citizens)
    print(f"1. conversations + database (SQLite file, aiosqlite), one citizen at a time: {handler_ms:.2f} ms of "
          f"CPU per update ({updates} updates, {replies:.2f} replies per update)", flush=True)
    channel_ms, rate = await channel_cost(args.updates)
    print(f"2. Telegram channel (webhook, Update parsed, one sendMessage), no database, flat out: "
          f"{channel_ms:.2f} ms of CPU per update ({rate:.0f} updates/s)", flush=True)
    print(f"floor for one instance on this machine ({os.cpu_count()} CPUs): {handler_ms + channel_ms:.2f} ms "
          f"per update, so at most {1000 / (handler_ms + channel_ms):.0f} updates/s before the further Bot API "
          "calls, the outbox and the load generator take their share")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.serve:
        asyncio.run(serve_channel(args.serve[0], int(args.serve[1])))
        return 0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
