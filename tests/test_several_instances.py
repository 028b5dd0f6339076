"""Several instances on one PostgreSQL database, as behind a load balancer taking Telegram's webhooks.

Each instance has its own engine, connection pool, conversations and outbox sender; only the
database is shared. Nothing may depend on which instance an update, a send or a scan lands on.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.app import App, build_app
from bot.config import Settings
from bot.delivery import Limits, Outbox
from bot.events import Reply
from bot.scheduler import build_scheduler
from bot.services import staff
from bot.services.outbox import notify
from storage.models import Appeal, AppealEvent, Conversation, OutboxMessage
from storage.repositories import Repositories
from tests.conftest import Clock, settings_for
from tests.test_ministry_work import TEXT, submit
from tests.utils.chat import Chat

pytestmark = pytest.mark.postgres

FAST = {"console": Limits(per_second=100_000, per_chat_interval_s=0.0)}


@pytest.fixture
def shared_settings(postgres_url: str, tmp_path: Path) -> Settings:
    return settings_for(postgres_url, tmp_path)


@pytest.fixture
async def instances(shared_settings: Settings, clock: Clock) -> AsyncIterator[tuple[App, App]]:
    first = await build_app(shared_settings, clock=clock)
    second = await build_app(shared_settings, clock=clock)
    assert first.engine is not second.engine
    yield first, second
    await first.close()
    await second.close()


async def walk_to_summary(chat: Chat) -> None:
    """Everything of ``submit`` but the final press of Send."""
    await chat.send("/new")
    await chat.press("Согласен")
    await chat.send("Петрова Анна")
    await chat.press("Пропустить")
    await chat.press("ЖКХ")
    await chat.press("освещение")
    await chat.send(TEXT)
    await chat.press("Готово")
    await chat.press("Пропустить")
    await chat.send("г. Энск, ул. Садовая, 5")
    chat.find_button("Отправить")


async def operator_of(app: App, clock: Clock, user_id: str, ministry: str = "energy_housing") -> Chat:
    async with app.sessionmaker() as session, session.begin():
        invite = await staff.create_invite(Repositories(session), app.settings, "operator", ministry, clock())
    chat = Chat(app.conversations, user_id=user_id)
    await chat.send(f"/start {invite.code}")
    assert "подключены" in chat.text, chat.text
    return chat


async def test_a_dialog_started_on_one_instance_continues_on_the_other(instances: tuple[App, App]) -> None:
    first, second = instances
    anna = Chat(first.conversations, user_id="2001")
    await anna.send("/new")
    await anna.press("Согласен")
    await anna.send("Петрова Анна")
    anna.conversations = second.conversations  # the balancer sends her next updates elsewhere
    await anna.press("Пропустить")
    await anna.press("ЖКХ")
    await anna.press("освещение")
    anna.conversations = first.conversations
    await anna.send(TEXT)
    await anna.press("Готово")
    await anna.press("Пропустить")
    anna.conversations = second.conversations
    await anna.send("г. Энск, ул. Садовая, 5")
    await anna.press("Отправить")
    assert "ЦУР-2026-000001" in anna.text
    anna.conversations = first.conversations
    await anna.send("/my")
    assert "ЦУР-2026-000001" in anna.text


async def test_two_messages_of_one_chat_on_both_instances_at_once_are_both_kept(
        instances: tuple[App, App]) -> None:
    """Telegram may post two updates of one chat at once, and a balancer may split them: the dialog
    state is read and written under a row lock, so neither update overwrites the other's change."""
    first, second = instances
    boris = Chat(first.conversations, user_id="2002")
    await boris.send("/new")
    await boris.press("Согласен")
    await boris.send("Борисов Борис")
    await boris.press("Пропустить")
    await boris.press("ЖКХ")
    await boris.press("освещение")
    on_second = Chat(second.conversations, user_id="2002")
    parts = [f"Часть {i}: во дворе не горят фонари, вечером темно." for i in range(1, 7)]
    await asyncio.gather(*((boris if i % 2 else on_second).send(part) for i, part in enumerate(parts)))
    await boris.press("Готово")
    await boris.press("Пропустить")
    await boris.send("г. Энск, ул. Садовая, 5")
    await boris.press("Отправить")
    async with first.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.text is not None
    assert all(part in appeal.text for part in parts), appeal.text


async def test_forty_registrations_split_across_two_instances_get_unique_gap_free_numbers(
        instances: tuple[App, App]) -> None:
    citizens = [Chat(instances[i % 2].conversations, user_id=str(3000 + i)) for i in range(40)]
    await asyncio.gather(*(walk_to_summary(chat) for chat in citizens))
    await asyncio.gather(*(chat.press("Отправить") for chat in citizens))
    expected = [f"ЦУР-2026-{seq:06d}" for seq in range(1, 41)]
    told = sorted(number for chat in citizens for number in expected if number in chat.text)
    assert told == expected  # each citizen was told exactly one number, and no number twice
    async with instances[0].sessionmaker() as session:
        numbers = (await session.scalars(select(Appeal.number).order_by(Appeal.seq))).all()
        registered = await session.scalar(select(func.count()).select_from(AppealEvent)
                                          .where(AppealEvent.kind == "registered"))
    assert list(numbers) == expected
    assert registered == 40


@dataclass
class SlowSender:
    """Records what it sends; a little slow, so that the two drains overlap."""

    name: str
    log: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, chat_id: str, reply: Reply, *, dedup_key: str) -> str | None:
        await asyncio.sleep(0.002)
        self.log.append((dedup_key, self.name))
        return None

    async def edit(self, chat_id: str, message_ref: str, reply: Reply) -> bool:
        return False


async def queue_messages(app: App, count: int, chats: int) -> list[str]:
    keys = [f"load:{i}" for i in range(count)]
    async with app.sessionmaker() as session, session.begin():
        repo = Repositories(session)
        for i, key in enumerate(keys):
            await notify(repo, "console", f"chat{i % chats}", Reply(text=f"сообщение {i}"), dedup_key=key,
                         now=app.conversations.clock())
    return keys


async def test_rows_claimed_by_one_instance_are_skipped_not_waited_for_by_the_other(
        instances: tuple[App, App]) -> None:
    first, second = instances
    await queue_messages(first, 10, chats=10)
    now = first.conversations.clock()
    async with first.sessionmaker() as holding, holding.begin():
        held = await Repositories(holding).outbox.claim_due(now, 4, ["console"])
        async with second.sessionmaker() as other, other.begin():
            # FOR UPDATE SKIP LOCKED: the four rows locked above are passed over at once, not waited for.
            rest = await asyncio.wait_for(Repositories(other).outbox.claim_due(now, 100, ["console"]), 2)
    assert len(held) == 4 and len(rest) == 6
    assert not {m.id for m in held} & {m.id for m in rest}


async def test_two_outbox_senders_draining_at_once_deliver_each_row_once(
        instances: tuple[App, App], clock: Clock) -> None:
    first, second = instances
    keys = await queue_messages(first, 300, chats=60)
    senders = [SlowSender("first"), SlowSender("second")]
    outboxes = [Outbox(app.sessionmaker, {"console": sender}, clock=clock, limits=FAST)
                for app, sender in zip(instances, senders, strict=True)]

    async def drain(outbox: Outbox) -> None:
        while await outbox.deliver_due(batch=15):
            pass

    await asyncio.gather(*(drain(outbox) for outbox in outboxes))
    delivered = Counter(key for sender in senders for key, _ in sender.log)
    assert delivered == Counter(keys)  # every row, once
    assert all(sender.log for sender in senders), "both instances took part"
    async with second.sessionmaker() as session:
        statuses = Counter((await session.scalars(select(OutboxMessage.status))).all())
    assert statuses == {"sent": 300}


async def test_one_chats_messages_drained_by_both_instances_arrive_in_the_order_queued(
        instances: tuple[App, App], clock: Clock) -> None:
    first, _ = instances
    keys = await queue_messages(first, 30, chats=1)
    shared: list[tuple[str, str]] = []
    senders = [SlowSender("first", shared), SlowSender("second", shared)]
    outboxes = [Outbox(app.sessionmaker, {"console": sender}, clock=clock, limits=FAST)
                for app, sender in zip(instances, senders, strict=True)]

    async def drain(outbox: Outbox) -> None:
        for _ in range(200):  # a pass that finds the chat busy on the other instance claims nothing
            await outbox.deliver_due(batch=4)
            async with first.sessionmaker() as session:
                if not await session.scalar(select(func.count()).select_from(OutboxMessage)
                                            .where(OutboxMessage.status == "pending")):
                    return
            await asyncio.sleep(0.005)

    await asyncio.gather(*(drain(outbox) for outbox in outboxes))
    assert [key for key, _ in shared] == keys  # each once, and none overtook an earlier one


async def test_the_deadline_scan_run_from_both_instances_queues_each_reminder_once(
        instances: tuple[App, App], clock: Clock) -> None:
    first = instances[0]
    olga = await operator_of(first, clock, "olga")
    citizens = [Chat(instances[i % 2].conversations, user_id=str(4000 + i)) for i in range(12)]
    for chat in citizens:
        await submit(chat)
    schedulers = [build_scheduler(app, clock) for app in instances]
    queued = 0
    end = clock.now + timedelta(days=40)
    while clock.now < end:
        clock.now += timedelta(hours=3)
        results = await asyncio.gather(*(s.run("deadline-reminders") for s in schedulers))
        queued += sum(results)
    async with first.sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage.dedup_key)
                                      .where(OutboxMessage.dedup_key.like("remind:%")))).all()
        overdue = (await session.scalars(select(AppealEvent.appeal_id).where(AppealEvent.kind == "overdue"))).all()
    assert rows and all(f":{olga.user_id}" in key for key in rows)
    # Summed over both instances, the scans queued as many reminders as there are rows: none twice.
    assert queued == len(rows)
    assert sorted(overdue) == list(range(1, 13))  # the first overdue day is recorded once per appeal


async def test_a_scan_held_by_one_instance_is_skipped_by_the_other(
        instances: tuple[App, App], clock: Clock) -> None:
    first, second = instances
    await operator_of(first, clock, "olga")
    await submit(Chat(second.conversations, user_id="5001"))
    clock.now += timedelta(days=26)  # the first reminder is due
    key = zlib.crc32(b"deadline-reminders")
    async with first.sessionmaker() as holding, holding.begin():
        assert await holding.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key})
        assert await build_scheduler(second, clock).run("deadline-reminders") == 0
    assert await build_scheduler(second, clock).run("deadline-reminders") == 1


async def test_a_new_chats_first_updates_on_both_instances_at_once_make_one_dialog(
        instances: tuple[App, App]) -> None:
    second = instances[1]
    chats = [Chat(instances[i % 2].conversations, user_id="6001") for i in range(2)]
    await asyncio.gather(*(chat.send("/start") for chat in chats))
    assert all("Согласен" in " ".join(b.label for r in c.replies for row in r.buttons for b in row) for c in chats), \
        [c.text for c in chats]
    async with second.sessionmaker() as session:
        rows = (await session.scalars(select(Conversation).where(Conversation.chat_id == "6001"))).all()
    assert len(rows) == 1
