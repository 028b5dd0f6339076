"""The outbox end to end: the real TelegramChannel and VkChannel as senders, the fake Bot API and the fake
VK API on 127.0.0.1 over real HTTP, a SQLite file, and failures on the way: 429 with retry_after, VK's
flood control, 5xx, requests that hang past the client's timeout, blocked chats, a permanent 400, and a
process killed in the middle of a pass.

What a person must see: each message once, in order, in every chat the bot may write to; nothing in a chat
that blocked the bot (and the bot stops trying). The one exception is documented where it lives: Telegram
has no idempotency key, so a send in flight when the process dies is sent again (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.telegram import TelegramChannel
from bot.channels.vk import VkChannel
from bot.config import Telegram, Vk
from bot.delivery import LEASE, Limits, Outbox, Throttle
from bot.events import Reply
from bot.services.outbox import notify
from storage.engine import create_engine, create_sessionmaker
from storage.models import Base, OutboxMessage, User
from storage.repositories import Repositories
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.vk_server import FakeVk

# The platforms' own pacing (1 msg/s per chat) would make these tests minutes long; the benchmark
# bench/broadcast.py runs the real limits against the fake's enforcement.
QUICK = {"telegram": Limits(per_second=200, per_chat_interval_s=0.0),
         "vk": Limits(per_second=200, per_chat_interval_s=0.0)}
Sessions = async_sessionmaker[AsyncSession]


class Clock:
    """The outbox's clock: real time plus a shift the test moves forward (a lease or a backoff expires at once)."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


class NoConversations:
    """The channels want a ConversationHandler; the outbox never asks one anything."""

    async def handle(self, event: Any) -> list[Reply]:
        return []

    async def mark_unreachable(self, channel: str, chat_id: str, reason: str) -> None:
        return None


class QuickSession(AiohttpSession):
    """aiogram's session without the 0.25 s it sleeps on close for TLS connections 127.0.0.1 has not."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


# --- the world: a database file, senders, the outbox ---


@contextlib.asynccontextmanager
async def database(path: Path, *, create: bool = True) -> AsyncIterator[Sessions]:
    """One process's view of the SQLite file: its own engine, as after a restart."""
    engine: AsyncEngine = create_engine(f"sqlite+aiosqlite:///{path}")
    if create:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def telegram_sender(server: FakeTelegramServer, request_timeout: float = 5.0) -> AsyncIterator[TelegramChannel]:
    api = TelegramAPIServer.from_base(server.api_base)
    bot = Bot(server.token, session=QuickSession(api=api, timeout=request_timeout))
    try:
        yield TelegramChannel(Telegram(api_base=server.api_base, token=SecretStr(server.token)), NoConversations(),
                              bot)
    finally:
        await bot.session.close()


def vk_sender(fake: FakeVk, request_timeout: float = 5.0) -> VkChannel:
    settings = Vk(enabled=True, group_id=fake.group_id, api_base=fake.base_url, token=SecretStr(fake.token))
    return VkChannel(settings, NoConversations(), retry_delays=(0.01,), request_timeout=request_timeout)


async def queue(sessions: Sessions, channel: str, chats: list[int], per_chat: int, clock: Clock) -> list[str]:
    """``per_chat`` notices to each chat through the real notify(), a user row per chat; returns the texts."""
    texts = []
    async with sessions() as session, session.begin():
        repo = Repositories(session)
        for chat in chats:
            session.add(User(channel=channel, platform_id=str(chat), chat_id=str(chat), language="ru"))
        for number in range(1, per_chat + 1):  # round-robin, as notices of several appeals interleave
            for chat in chats:
                text = f"{chat}:{number}"
                await notify(repo, channel, str(chat), Reply(text), dedup_key=f"test:{text}", now=clock())
                texts.append(text)
    return texts


async def rows(sessions: Sessions, chat: int | None = None) -> list[OutboxMessage]:
    async with sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if chat is not None:
            query = query.where(OutboxMessage.chat_id == str(chat))
        return list(await session.scalars(query))


async def unreachable(sessions: Sessions, channel: str) -> set[int]:
    async with sessions() as session:
        found = await session.scalars(select(User.chat_id).where(User.channel == channel,
                                                                 User.unreachable_reason.is_not(None)))
        return {int(chat) for chat in found}


async def drain(outbox: Outbox, sessions: Sessions, clock: Clock, *, jump: bool = True, within: float = 10.0) -> None:
    """Passes until nothing is pending. ``jump``: move the clock to the next due row instead of waiting for it
    (a backoff of seconds passes at once; a retry_after still holds the chat in real time, in the Throttle)."""
    deadline = time.monotonic() + within
    while True:
        if await outbox.deliver_due():
            continue
        async with sessions() as session:
            next_due = await session.scalar(select(func.min(OutboxMessage.due_at))
                                            .where(OutboxMessage.status == "pending"))
        if next_due is None:
            return
        assert time.monotonic() < deadline, f"still pending after {within} s: {await rows(sessions)}"
        if jump:
            clock.shift += max(next_due - clock(), timedelta(0))
        else:
            await asyncio.sleep(0.02)


async def untouched_while_leased(outbox: Outbox, sessions: Sessions) -> None:
    """A pass of a restarted sender leaves the rows a dead process still holds under its lease (claimed,
    outcome never recorded), and the later rows of their chats, which must not overtake them."""
    before = {row.id: row for row in await rows(sessions) if row.status == "pending"}
    held_chats = {row.chat_id for row in before.values() if row.attempts > 0}
    assert held_chats, "the dead process held nothing"
    await outbox.deliver_due()
    after = {row.id: row for row in await rows(sessions)}
    moved = [row_id for row_id, row in before.items() if row.chat_id in held_chats
             and (after[row_id].status, after[row_id].attempts) != (row.status, row.attempts)]
    assert moved == [], "a restarted sender took rows still leased, or rows behind them"


async def until(ready: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not ready():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def settled(count: Callable[[], int], quiet: float = 0.3) -> None:
    """Until ``count`` stops changing for ``quiet`` seconds."""
    last = count()
    while True:
        await asyncio.sleep(quiet)
        if count() == last:
            return
        last = count()


def telegram_sends(server: FakeTelegramServer, chat: int) -> list[Any]:
    return [call for call in server.calls_of("sendMessage") if call.params.get("chat_id") == chat]


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        yield fake


@pytest.fixture
async def vk() -> AsyncIterator[FakeVk]:
    async with FakeVk() as fake:
        yield fake


# --- Telegram ---


async def test_telegram_every_reachable_chat_gets_each_message_once_in_order_through_429_5xx_and_timeouts(
        tmp_path: Path, server: FakeTelegramServer) -> None:
    reachable, blocked = list(range(1001, 1011)), [2001, 2002]
    for chat in blocked:
        server.fail_chat(chat, 403)
    server.fail_next("sendMessage", 429, retry_after=1, skip=3)
    server.fail_next("sendMessage", 500, skip=4)
    server.fail_next("sendMessage", 502, skip=2)
    # Hangs past the client's timeout and is then lost on the way (the send after a hang that Telegram
    # did take is the at-least-once case, below).
    server.stall_next("sendMessage", 1.0, deliver=False, skip=9)
    clock = Clock()
    async with database(tmp_path / "bot.db") as sessions, telegram_sender(server, request_timeout=0.5) as channel:
        await queue(sessions, "telegram", reachable + blocked, 3, clock)
        outbox = Outbox(sessions, {"telegram": channel}, clock=clock, limits=QUICK)
        await drain(outbox, sessions, clock)

        for chat in reachable:
            assert server.texts(chat) == [f"{chat}:1", f"{chat}:2", f"{chat}:3"]
        await until(lambda: any(call.status == 504 for call in server.calls))  # the hung request is over
        statuses = Counter(call.status for call in server.calls_of("sendMessage"))
        assert statuses[429] == statuses[500] == statuses[502] == statuses[504] == 1, statuses
        # Blocked: nothing arrives, each message is refused once and recorded, the user is marked.
        for chat in blocked:
            assert server.texts(chat) == []
            assert [call.status for call in telegram_sends(server, chat)].count(403) == 3
            assert {(row.status, row.last_error) for row in await rows(sessions, chat)} == {
                ("failed", "unreachable: Forbidden: bot was blocked by the user")}
        assert await unreachable(sessions, "telegram") == set(blocked)
        # ... and never tried again, however long the bot keeps running.
        calls = len(server.calls)
        clock.shift += timedelta(days=1)
        assert await outbox.deliver_due() == 0
        assert len(server.calls) == calls


async def test_telegram_kill_mid_pass_is_at_least_once_only_the_send_in_flight_is_repeated(
        tmp_path: Path, server: FakeTelegramServer) -> None:
    """Telegram has no idempotency key: a message whose send was under way when the process died may have
    arrived, and the restarted sender cannot know, so it sends it again (at-least-once delivery). Only such
    a message can be repeated; a message recorded as sent is never repeated, and none is lost."""
    chats = list(range(3001, 3021))
    server.stall_next("sendMessage", 1.0, deliver=True, skip=5)  # Telegram takes it, but answers late
    clock = Clock()
    async with database(tmp_path / "bot.db") as sessions, telegram_sender(server) as channel:
        texts = await queue(sessions, "telegram", chats, 2, clock)
        first = Outbox(sessions, {"telegram": channel}, clock=clock,
                       limits={"telegram": Limits(per_second=40, per_chat_interval_s=0.0)})
        process = asyncio.create_task(first.run(asyncio.Event()))
        await until(lambda: len(server.calls_of("sendMessage")) >= 12)
        process.cancel()  # kill -9, as far as this process's sending goes
        with contextlib.suppress(asyncio.CancelledError):
            await process
        recorded_sent = {row.reply["text"] for row in await rows(sessions) if row.status == "sent"}
    stalled = server.calls_of("sendMessage")[5].params["text"]
    await server.wait_sent(int(stalled.split(":")[0]), 1)  # the hung request took effect after the kill
    await settled(lambda: len(server.calls))
    # In flight at the kill: sends the first process started whose outcome it never recorded.
    in_flight = {call.params["text"] for call in server.calls_of("sendMessage")} - recorded_sent
    assert stalled in in_flight
    assert 0 < len(recorded_sent) < len(texts)

    async with database(tmp_path / "bot.db", create=False) as sessions, telegram_sender(server) as channel:
        second = Outbox(sessions, {"telegram": channel}, clock=clock, limits=QUICK)
        await untouched_while_leased(second, sessions)
        clock.shift += LEASE + timedelta(seconds=1)
        await drain(second, sessions, clock)
        assert {row.status for row in await rows(sessions)} == {"sent"}

    delivered = Counter(text for chat in chats for text in server.texts(chat))
    assert set(delivered) == set(texts)  # nothing lost
    repeated = {text for text, count in delivered.items() if count > 1}
    assert stalled in repeated  # at least once: the message Telegram took before the kill came again
    assert repeated <= in_flight, f"repeated although recorded as sent: {repeated - in_flight}"
    assert all(delivered[text] == 2 for text in repeated)
    for chat in chats:  # each chat still reads in order (a repeat follows its original)
        seen = list(dict.fromkeys(server.texts(chat)))
        assert seen == [f"{chat}:1", f"{chat}:2"]


@pytest.mark.parametrize("failure", [
    pytest.param({"status": 500}, id="5xx-backoff"),
    pytest.param({"status": 429, "retry_after": 2}, id="429-retry-after-2s"),
])
async def test_telegram_a_chat_keeps_its_order_when_a_message_in_the_middle_must_be_retried(
        tmp_path: Path, server: FakeTelegramServer, failure: dict[str, Any]) -> None:
    server.fail_next("sendMessage", skip=1, **failure)  # the second message of the first chat
    clock = Clock()
    async with database(tmp_path / "bot.db") as sessions, telegram_sender(server) as channel:
        outbox = Outbox(sessions, {"telegram": channel}, clock=clock, limits=QUICK)
        await queue(sessions, "telegram", [4001], 5, clock)
        await drain(outbox, sessions, clock)
    assert [call.status for call in telegram_sends(server, 4001)] == [200, failure["status"], 200, 200, 200, 200]
    assert server.texts(4001) == [f"4001:{n}" for n in range(1, 6)]


async def test_telegram_a_message_queued_while_an_earlier_one_waits_for_its_retry_does_not_overtake_it(
        tmp_path: Path, server: FakeTelegramServer) -> None:
    server.fail_next("sendMessage", 500)
    clock = Clock()
    async with database(tmp_path / "bot.db") as sessions, telegram_sender(server) as channel:
        outbox = Outbox(sessions, {"telegram": channel}, clock=clock, limits=QUICK)
        await queue(sessions, "telegram", [4101], 1, clock)
        assert await outbox.deliver_due() == 1  # refused: retried after a backoff
        async with sessions() as session, session.begin():
            await notify(Repositories(session), "telegram", "4101", Reply("4101:2"), dedup_key="test:4101:2",
                         now=clock())
        await drain(outbox, sessions, clock)
    assert server.texts(4101) == ["4101:1", "4101:2"]


async def test_telegram_a_message_held_for_later_does_not_hold_up_a_newer_one_of_its_chat(
        tmp_path: Path, server: FakeTelegramServer) -> None:
    # A rating reminder queued for tomorrow must not keep today's answer from the citizen.
    clock = Clock()
    async with database(tmp_path / "bot.db") as sessions, telegram_sender(server) as channel:
        outbox = Outbox(sessions, {"telegram": channel}, clock=clock, limits=QUICK)
        async with sessions() as session, session.begin():
            await notify(Repositories(session), "telegram", "4201", Reply("4201:tomorrow"), dedup_key="test:4201:1",
                         now=clock(), due_at=clock() + timedelta(days=1))
            await notify(Repositories(session), "telegram", "4201", Reply("4201:now"), dedup_key="test:4201:2",
                         now=clock())
        assert await outbox.deliver_due() == 1
        assert server.texts(4201) == ["4201:now"]
        await drain(outbox, sessions, clock)
    assert server.texts(4201) == ["4201:now", "4201:tomorrow"]


async def test_telegram_retry_after_from_a_429_is_waited_out_before_the_chat_is_tried_again(
        tmp_path: Path, server: FakeTelegramServer) -> None:
    server.fail_next("sendMessage", 429, retry_after=1)
    clock = Clock()  # real time throughout: the wait is measured, not skipped
    async with database(tmp_path / "bot.db") as sessions, telegram_sender(server) as channel:
        await queue(sessions, "telegram", [5001], 2, clock)
        outbox = Outbox(sessions, {"telegram": channel}, clock=clock, limits=QUICK)
        await drain(outbox, sessions, clock, jump=False)
    refused, *retried = telegram_sends(server, 5001)
    assert refused.status == 429 and [call.status for call in retried] == [200, 200]
    assert retried[0].at - refused.at >= 1.0
    assert server.texts(5001) == ["5001:1", "5001:2"]


async def test_telegram_real_pacing_keeps_one_chat_under_1_msg_per_s_as_telegram_measures_it(
        tmp_path: Path, server: FakeTelegramServer) -> None:
    server.limit_rate(overall=30, per_chat=1)  # strict: two messages less than 1 s apart get a 429
    clock = Clock()
    async with database(tmp_path / "bot.db") as sessions, telegram_sender(server) as channel:
        await queue(sessions, "telegram", [5101], 3, clock)
        outbox = Outbox(sessions, {"telegram": channel}, clock=clock)  # Telegram's own limits (its plugin)
        await drain(outbox, sessions, clock, jump=False)
    sends = telegram_sends(server, 5101)
    assert [call.status for call in sends] == [200, 200, 200]
    assert all(later.at - earlier.at >= 1.0 for earlier, later in itertools.pairwise(sends))


def test_throttle_counts_a_chats_interval_from_the_platforms_answer_not_the_planned_start() -> None:
    now = [100.0]
    throttle = Throttle(Limits(per_second=30, per_chat_interval_s=1.0, group_per_minute=20), monotonic=lambda: now[0])
    asyncio.run(throttle.wait("-100", is_group=True))  # planned for 100.0
    now[0] = 100.08  # the request left late; the answer comes now
    throttle.answered("-100")
    assert throttle._next_chat["-100"] == pytest.approx(101.08)
    assert throttle._group_sends["-100"] == [pytest.approx(100.08)]


async def test_telegram_a_permanent_400_does_not_hold_up_other_chats(tmp_path: Path,
                                                                     server: FakeTelegramServer) -> None:
    server.fail_chat(6001, 400, "Bad Request: can't parse entities: unsupported start tag")
    clock = Clock()
    async with database(tmp_path / "bot.db") as sessions, telegram_sender(server) as channel:
        await queue(sessions, "telegram", [6001, 6002, 6003], 2, clock)
        outbox = Outbox(sessions, {"telegram": channel}, clock=clock, limits=QUICK)
        assert [await outbox.deliver_due() for _ in range(3)] == [3, 3, 0]  # each chat's messages one per pass
        assert server.texts(6002) == ["6002:1", "6002:2"]
        assert server.texts(6003) == ["6003:1", "6003:2"]
        assert server.texts(6001) == []
        assert "sent" not in {row.status for row in await rows(sessions, 6001)}
        assert await unreachable(sessions, "telegram") == set()  # a bad request is not a blocked user


async def test_telegram_a_permanent_400_is_recorded_failed_not_retried(tmp_path: Path,
                                                                       server: FakeTelegramServer) -> None:
    server.fail_chat(6101, 400, "Bad Request: can't parse entities: unsupported start tag")
    clock = Clock()
    async with database(tmp_path / "bot.db") as sessions, telegram_sender(server) as channel:
        await queue(sessions, "telegram", [6101], 1, clock)
        outbox = Outbox(sessions, {"telegram": channel}, clock=clock, limits=QUICK)
        await outbox.deliver_due()
        assert [row.status for row in await rows(sessions, 6101)] == ["failed"]


# --- VK ---


async def test_vk_every_reachable_peer_gets_each_message_once_through_flood_control_5xx_and_timeouts(
        tmp_path: Path, vk: FakeVk) -> None:
    reachable, blocked = list(range(101, 111)), [201, 202]
    for peer in blocked:
        vk.fail_peer(peer, 901)
    vk.fail_next("messages.send", 6, times=2)  # outlasts the channel's own retry: the outbox waits 1 s
    vk.fail_http("messages.send", 500, times=2)
    # Hangs past the timeout, then VK takes it: the channel's retry carries the same random_id.
    vk.stall_next("messages.send", 1.0)
    clock = Clock()
    async with database(tmp_path / "bot.db") as sessions:
        await queue(sessions, "vk", reachable + blocked, 3, clock)
        outbox = Outbox(sessions, {"vk": vk_sender(vk, request_timeout=0.5)}, clock=clock, limits=QUICK)
        await drain(outbox, sessions, clock)
        await until(lambda: vk.duplicates > 0)  # the hung request lands after its retry: a duplicate

        for peer in reachable:
            assert [m.text for m in vk.messages(peer)] == [f"{peer}:1", f"{peer}:2", f"{peer}:3"]
        assert vk.duplicates == 1
        for peer in blocked:
            assert vk.messages(peer) == []
            assert {row.status for row in await rows(sessions, peer)} == {"failed"}
        assert await unreachable(sessions, "vk") == set(blocked)
        sends = len(vk.calls_to("messages.send"))
        clock.shift += timedelta(days=1)
        assert await outbox.deliver_due() == 0
        assert len(vk.calls_to("messages.send")) == sends


async def test_vk_kill_mid_pass_then_restart_delivers_everything_once_thanks_to_random_id(
        tmp_path: Path, vk: FakeVk) -> None:
    """The sends under way at the kill (the hung one, and those queued behind it on vk-api's lock, whose
    threads a cancelled task does not stop) land unrecorded; after the restart each is sent again with the
    same random_id, and VK drops it: every peer reads each message once."""
    peers = list(range(301, 316))
    sends_before_stall = 6
    vk.stall_next("messages.send", 0.8, skip=sends_before_stall - 1)  # VK takes it, but answers late
    clock = Clock()
    async with database(tmp_path / "bot.db") as sessions:
        texts = await queue(sessions, "vk", peers, 2, clock)
        first = Outbox(sessions, {"vk": vk_sender(vk)}, clock=clock, limits=QUICK)
        process = asyncio.create_task(first.run(asyncio.Event()))
        await vk.wait_calls("messages.send", sends_before_stall)
        process.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await process
        sent_before = sum(row.status == "sent" for row in await rows(sessions))
    stalled = vk.calls_to("messages.send")[sends_before_stall - 1].params
    await vk.wait_messages(int(stalled["peer_id"]), 1)  # the hung request took effect after the kill
    await settled(lambda: len(vk.sent))
    landed_unrecorded = len(vk.sent) - sent_before
    assert 0 < sent_before < len(texts) and landed_unrecorded >= 1

    async with database(tmp_path / "bot.db", create=False) as sessions:
        second = Outbox(sessions, {"vk": vk_sender(vk)}, clock=clock, limits=QUICK)
        await untouched_while_leased(second, sessions)
        clock.shift += LEASE + timedelta(seconds=1)
        await drain(second, sessions, clock)
        assert {row.status for row in await rows(sessions)} == {"sent"}

    for peer in peers:
        assert [m.text for m in vk.messages(peer)] == [f"{peer}:1", f"{peer}:2"]
    assert vk.duplicates == landed_unrecorded  # each resend of a send in flight at the kill, dropped by VK
