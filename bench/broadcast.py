"""A broadcast through the outbox: the real TelegramChannel and Outbox against the fake Bot API enforcing
Telegram's limits (30 messages/s overall, 1 message/s per chat; a 429 with retry_after beyond them).

Run from the repository root:  python bench/broadcast.py [--messages 1000] [--chats N] [--overall 30]

Prints the achieved rate, the 429s received, messages lost (queued minus delivered, per the fake) and
duplicates. Target: at least 95% of the allowed rate, none lost. A temporary SQLite file; stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.config import Telegram  # noqa: E402
from bot.delivery import Outbox  # noqa: E402
from bot.events import Reply  # noqa: E402
from bot.services.outbox import notify  # noqa: E402
from storage.engine import create_engine, create_sessionmaker  # noqa: E402
from storage.models import Base, OutboxMessage  # noqa: E402
from storage.repositories import Repositories  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer  # noqa: E402

TARGET_SHARE = 0.95


class NoConversations:
    async def handle(self, event: object) -> list[Reply]:
        return []

    async def mark_unreachable(self, channel: str, chat_id: str, reason: str) -> None:
        return None


def utc_now() -> datetime:
    return datetime.now(UTC)


async def broadcast(messages: int, chats: int, overall: float, per_chat: float, workdir: Path) -> bool:
    engine = create_engine(f"sqlite+aiosqlite:///{workdir / 'broadcast.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    sessions = create_sessionmaker(engine)
    texts = [f"Рассылка: сообщение {n} из {messages}" for n in range(1, messages + 1)]
    async with sessions() as session, session.begin():
        repo = Repositories(session)
        for n, text in enumerate(texts):
            chat = str(10_000 + n % chats)
            await notify(repo, "telegram", chat, Reply(text), dedup_key=f"bench:{n}", now=utc_now())

    async with FakeTelegramServer() as server:
        server.limit_rate(overall=overall, per_chat=per_chat, per_chat_burst=1.0)
        bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.api_base)))
        channel = TelegramChannel(Telegram(api_base=server.api_base, token=SecretStr(server.token)),
                                  NoConversations(), bot)
        outbox = Outbox(sessions, {"telegram": channel}, clock=utc_now)  # the channel's own limits (its plugin)
        stop = asyncio.Event()
        started = time.monotonic()
        runner = asyncio.create_task(outbox.run(stop, idle_sleep_s=0.05))
        deadline = started + messages / overall * 3 + 30
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            async with sessions() as session:
                pending = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                               .where(OutboxMessage.status == "pending"))
            if not pending:
                break
        stop.set()
        await runner
        await bot.session.close()

        sends = server.calls_of("sendMessage")
        accepted = [call for call in sends if call.status == 200]
        delivered = Counter(message["text"] for chat in server.sent.values() for message in chat)
        async with sessions() as session:
            statuses = dict((await session.execute(select(OutboxMessage.status, func.count())
                                                   .group_by(OutboxMessage.status))).all())
    await engine.dispose()

    elapsed = (accepted[-1].at - started) if accepted else float("nan")
    span = accepted[-1].at - accepted[0].at if len(accepted) > 1 else float("nan")
    rate = (len(accepted) - 1) / span if len(accepted) > 1 else 0.0  # intervals per second
    # The shortest first-to-last time the limits allow: the overall pace, or the busiest chat's own.
    best_span = max((messages - 1) / overall, (math.ceil(messages / chats) - 1) / per_chat)
    allowed = (messages - 1) / best_span if best_span else overall
    lost = sum(1 for text in texts if delivered[text] == 0)
    duplicates = sum(count - 1 for count in delivered.values() if count > 1)
    refused = Counter(call.status for call in sends if call.status != 200)
    print(f"queued:      {messages} messages to {chats} chats")
    print(f"limits:      fake Bot API enforces {overall:g} msg/s overall, {per_chat:g} msg/s per chat")
    print(f"delivered:   {len(accepted)} accepted, the last {elapsed:.2f} s after the start "
          f"(first to last: {span:.2f} s; the limits allow {best_span:.2f} s)")
    print(f"rate:        {rate:.2f} msg/s = {rate / allowed:.1%} of the allowed {allowed:.2f} msg/s")
    other = {status: count for status, count in refused.items() if status != 429}
    print(f"429s:        {refused.get(429, 0)}  (other refusals: {other or 'none'})")
    print(f"lost:        {lost}")
    print(f"duplicates:  {duplicates}")
    print(f"outbox rows: {statuses}; sender stats: {dict(outbox.stats)}")
    ok = rate >= TARGET_SHARE * allowed and lost == 0 and duplicates == 0
    print(f"target:      >= {TARGET_SHARE * allowed:.1f} msg/s, 0 lost, 0 duplicates: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000, help="how many messages (e.g. 100 for a smoke run)")
    parser.add_argument("--chats", type=int, default=0, help="how many chats (default: one per message)")
    parser.add_argument("--overall", type=float, default=30.0, help="the fake's overall limit, msg/s")
    parser.add_argument("--per-chat", type=float, default=1.0, help="the fake's per-chat limit, msg/s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as workdir:
        ok = asyncio.run(broadcast(args.messages, args.chats or args.messages, args.overall, args.per_chat,
                                   Path(workdir)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
