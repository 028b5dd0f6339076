"""Issue 4: a citizen on VK and an operator on Telegram work on the same appeal.

One application on one SQLite database; the real VkChannel (vk-api over HTTP, Bots Long Poll) against
the fake VK API and the real TelegramChannel (aiogram behind its webhook) against the fake Bot API, both
on 127.0.0.1 and both feeding the same conversations; one Outbox delivers what the bot owes people
through both channels as Senders. Nothing in the handlers knows which messenger a person is on: the
appeal's card goes to the ministry's Telegram, the answer and the clarification question to the
citizen's VK, and the citizen's reply back to Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from bot.app import App
from bot.channels.max.channel import MaxChannel
from bot.channels.max.settings import MaxSettings
from bot.channels.telegram import TelegramChannel
from bot.channels.vk import VkChannel, random_id_for
from bot.config import Vk
from bot.delivery import LEASE, Limits, Outbox
from bot.services import staff
from bot.services.followups import JOIN_WINDOW
from storage.models import Appeal, AppealEvent, OutboxMessage, User
from storage.repositories import Repositories
from tests.conftest import Clock
from tests.fakes.max_server import FakeMax
from tests.fakes.max_server import SentMessage as MaxMessage
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.vk_server import FakeVk, SentMessage
from tests.utils.telegram_chat import Message, TelegramUser, telegram_webhook

CITIZEN_PEER = 1001
# The operator's Telegram id is the citizen's VK id on purpose: a person is (channel, platform id).
OPERATOR_ID = 1001
FIRST = "ЦУР-2026-000001"
TEXT = "Во дворе дома 5 третий день не горят фонари, вечером темно и опасно."
CARD_ACTIONS = ["🙋 Взять в работу", "✍ Ответить", "❓ Уточнить", "↪ Перенаправить", "⏳ Продлить срок"]
ANSWER = "Фонари во дворе будут заменены подрядчиком до 30 ноября."
# Pacing is the delivery tests' business; here it would only slow the story down.
UNPACED = {"telegram": Limits(per_second=1000, per_chat_interval_s=0.0),
           "vk": Limits(per_second=1000, per_chat_interval_s=0.0)}


async def until(ready: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.005)


class VkCitizen:
    """A person in VK community messages: each action returns once the channel has handled it."""

    def __init__(self, fake: FakeVk, channel: VkChannel, peer_id: int = CITIZEN_PEER) -> None:
        self.fake, self.channel, self.peer_id = fake, channel, peer_id
        self.seen: list[SentMessage] = []  # what the bot sent or edited here in the last action

    async def _act(self, queue: Callable[[], object]) -> None:
        before = {m.message_id: len(m.edits) for m in self.messages}
        done = self.channel.processed
        queue()
        await until(lambda: self.channel.processed > done)
        self.seen = [m for m in self.messages if before.get(m.message_id) != len(m.edits)]

    async def send(self, text: str) -> None:
        await self._act(lambda: self.fake.text(self.peer_id, text))

    async def press(self, label: str) -> None:
        await self._act(lambda: self.fake.press(self.peer_id, label))

    async def photo(self, caption: str = "", photo_id: int = 42) -> None:
        await self._act(lambda: self.fake.photo(self.peer_id, caption, photo_id=photo_id, access_key="k3y"))

    @property
    def messages(self) -> list[SentMessage]:
        return self.fake.messages(self.peer_id)

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.seen)

    def last(self, containing: str) -> SentMessage:
        for message in reversed(self.messages):
            if containing in message.text:
                return message
        raise AssertionError(f"no message with {containing!r} in VK {self.peer_id}: {[m.text for m in self.messages]}")


class Region:
    """The test's world: one app, VK and Telegram side by side, the outbox that serves both."""

    def __init__(self, app: App, clock: Clock, vk: FakeVk, vk_channel: VkChannel, telegram: FakeTelegramServer,
                 telegram_channel: TelegramChannel) -> None:
        self.app, self.clock, self.vk, self.telegram = app, clock, vk, telegram
        self.vk_channel = vk_channel
        self.outbox = Outbox(app.sessionmaker, {"vk": vk_channel, "telegram": telegram_channel}, clock=clock,
                             limits=UNPACED)

    async def deliver(self) -> None:
        while await self.outbox.deliver_due():
            pass

    async def operator(self, user_id: int = OPERATOR_ID, ministry: str = "energy_housing") -> TelegramUser:
        """A ministry employee who opened the invite link t.me/<bot>?start=CODE: Telegram sends "/start CODE"."""
        async with self.app.sessionmaker() as session, session.begin():
            invite = await staff.create_invite(Repositories(session), self.app.settings, "operator", ministry,
                                               self.clock())
        employee = TelegramUser(self.telegram, user_id, "Иван", "Кузнецов")
        await employee.send(f"/start {invite.code}")
        assert "подключены как оператор" in employee.text, employee.text
        return employee

    async def appeal(self) -> Appeal:
        async with self.app.sessionmaker() as session:
            appeal = await session.scalar(select(Appeal).where(Appeal.number == FIRST))
            assert appeal is not None
            return appeal

    async def events(self) -> list[str]:
        async with self.app.sessionmaker() as session:
            return list((await session.scalars(select(AppealEvent.kind).order_by(AppealEvent.id))).all())


@contextlib.asynccontextmanager
async def vk_long_poll(vk: FakeVk, app: App) -> AsyncIterator[VkChannel]:
    settings = Vk(enabled=True, group_id=vk.group_id, api_base=vk.base_url, token=SecretStr(vk.token))
    channel = VkChannel(settings, app.conversations, long_poll_wait=1, retry_delays=(0.01, 0.02),
                        reconnect_delays=(0.02,))
    checks = vk.longpoll_checks
    task = asyncio.create_task(channel.run())
    try:
        await vk.wait_polling(after=checks)
        yield channel
    finally:
        await channel.stop()
        await asyncio.wait_for(task, 5)


@pytest.fixture
async def region(app: App, clock: Clock) -> AsyncIterator[Region]:
    async with FakeVk() as vk, FakeTelegramServer() as telegram, \
            telegram_webhook(telegram, app.conversations) as telegram_channel, \
            vk_long_poll(vk, app) as vk_channel:
        yield Region(app, clock, vk, vk_channel, telegram, telegram_channel)


@pytest.fixture
def citizen(region: Region) -> VkCitizen:
    return VkCitizen(region.vk, region.vk_channel)


async def file_appeal(citizen: VkCitizen) -> None:
    """The citizen's appeal in VK from /start to its number, with a photo from the phone."""
    await citizen.send("/start")
    await citizen.press("Согласен")
    await citizen.send("Петрова Анна")
    await citizen.press("Пропустить")
    await citizen.press("ЖКХ")
    await citizen.press("освещение")
    await citizen.send(TEXT)
    await citizen.press("Готово")
    await citizen.photo("Темный двор")
    await citizen.press("Готово")
    await citizen.send("г. Энск, ул. Садовая, 5")
    await citizen.press("Отправить")
    assert FIRST in citizen.text, citizen.text


def cards_in(chat: TelegramUser) -> list[Message]:
    return [m for m in chat.messages if "📨 Обращение" in (m.get("text") or "")]


async def outbox_rows(region: Region, channel: str, chat_id: str) -> list[OutboxMessage]:
    async with region.app.sessionmaker() as session:
        return list((await session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id))).all())


# --- the story ----------------------------------------------------------------------------------


async def test_the_card_of_a_vk_appeal_reaches_the_operator_in_telegram_with_the_vk_photo_named(
        region: Region, citizen: VkCitizen) -> None:
    ivan = await region.operator()
    await file_appeal(citizen)
    await region.deliver()
    (card,) = cards_in(ivan)
    assert "ЖКХ → Уличное и дворовое освещение" in card["text"] and TEXT in card["text"]
    assert "ул. Садовая, 5" in card["text"] and "Файлов от гражданина: 1" in card["text"]
    # A VK photo is a VK reference, which Telegram cannot fetch: the card names it instead of sending it.
    assert card["text"].endswith("📎 photo_960x1280.jpg")
    assert region.telegram.calls_of("sendPhoto") == [] and region.telegram.calls_of("sendMediaGroup") == []
    assert ivan.labels(card) == CARD_ACTIONS
    async with region.app.sessionmaker() as session:
        people = (await session.execute(select(User.channel, User.platform_id, User.role).order_by(User.id))).all()
    # The same number is two people: the operator in Telegram and the citizen in VK.
    assert people == [("telegram", "1001", "operator"), ("vk", "1001", "citizen")]
    assert not any("📨 Обращение" in m.text for m in region.vk.messages(CITIZEN_PEER))  # no card for the citizen


async def test_the_operators_answer_in_telegram_reaches_the_citizen_in_vk_once_with_the_rating_buttons(
        region: Region, citizen: VkCitizen) -> None:
    ivan = await region.operator()
    await file_appeal(citizen)
    await region.deliver()
    card = ivan.last(FIRST)["message_id"]
    await ivan.press("Взять")
    assert "теперь у вас в работе" in ivan.text
    await ivan.press("Ответить")
    await ivan.send(ANSWER)
    await ivan.press("Готово")
    await ivan.press("Отправить гражданину")
    assert ivan.toast == "Ответ отправлен"
    sends_before = len(region.vk.calls_to("messages.send"))
    await region.deliver()

    answer, rating = region.vk.messages(CITIZEN_PEER)[-2:]
    assert answer.text == f"Ответ на ваше обращение {FIRST}\nМинистерство энергетики и ЖКХ\n\n{ANSWER}"
    assert FIRST in rating.text and rating.labels == [f"{n} ⭐" for n in range(1, 6)]
    assert rating.payloads == [f"2:rating.rate:1:{n}" for n in range(1, 6)]
    assert rating.inline and {b["type"] for b in rating.buttons} == {"callback"}
    # Each message went out with the random_id derived from its outbox row: a repeated send is one message.
    rows = [row for row in await outbox_rows(region, "vk", str(CITIZEN_PEER)) if row.status == "sent"][-2:]
    assert [row.reply["text"] for row in rows] == [answer.text, rating.text]
    sends = region.vk.calls_to("messages.send")[sends_before:]
    assert [int(call.params["random_id"]) for call in sends] == [random_id_for(row.dedup_key) for row in rows]
    assert [m.random_id for m in (answer, rating)] == [random_id_for(row.dedup_key) for row in rows]
    assert [row.sent_ref for row in rows] == [str(answer.message_id), str(rating.message_id)]
    shown = ivan.message(card)
    assert "Статус: дан ответ" in shown["text"] and "Исполнитель: Иван Кузнецов" in shown["text"]
    assert not ivan.labels(shown)

    # The bot crashed after VK took both messages but before the outbox wrote it down: once their lease
    # runs out the rows are sent again with the same random_ids, and VK drops the copies.
    async with region.app.sessionmaker() as session, session.begin():
        await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([row.id for row in rows]))
                              .values(status="pending"))
    region.clock.now += LEASE + timedelta(seconds=1)
    await region.deliver()
    assert region.vk.duplicates == 2
    assert sum("Ответ на ваше обращение" in m.text for m in region.vk.messages(CITIZEN_PEER)) == 1
    appeal = await region.appeal()
    assert appeal.status == "answered" and (await region.events()).count("answered") == 1


async def test_the_clarification_asked_in_telegram_is_answered_in_vk_and_comes_back_to_telegram(
        region: Region, citizen: VkCitizen) -> None:
    ivan = await region.operator()
    await file_appeal(citizen)
    await region.deliver()
    card = ivan.last(FIRST)["message_id"]
    await ivan.press("Взять")
    await ivan.press("Уточнить")
    await ivan.send("Уточните, пожалуйста, номер подъезда.")
    await ivan.press("Отправить гражданину")
    assert "отправлен гражданину" in ivan.text
    await region.deliver()
    question = citizen.last("просит уточнить")
    assert FIRST in question.text and "номер подъезда" in question.text
    assert question.inline and question.labels == ["✍ Ответить"]

    await citizen.press("Ответить")
    assert "Напишите уточнение по обращению" in citizen.text
    await citizen.send("Второй подъезд, со стороны парковки.")
    assert "Уточнение добавлено" in citizen.text
    region.clock.now += JOIN_WINDOW  # the reply goes once the citizen has had time to add to it
    await region.deliver()
    reply = ivan.last("Гражданин ответил на уточнение")
    assert FIRST in reply["text"] and "Второй подъезд, со стороны парковки." in reply["text"]
    shown = ivan.message(card)["text"]
    assert "Статус: в работе" in shown and "Исполнитель: Иван Кузнецов" in shown
    assert (await region.appeal()).status == "in_work"
    assert await region.events() == ["registered", "routed", "taken", "clarification_requested", "clarified"]


async def test_a_vk_user_who_does_not_allow_community_messages_is_unreachable_and_not_retried(
        region: Region, citizen: VkCitizen) -> None:
    ivan = await region.operator()
    await file_appeal(citizen)
    await region.deliver()
    region.vk.fail_peer(CITIZEN_PEER, 901)  # later the citizen forbade messages from the community
    await ivan.press("Взять")
    await ivan.press("Ответить")
    await ivan.send(ANSWER)
    await ivan.press("Готово")
    await ivan.press("Отправить гражданину")
    sends_before = len(region.vk.calls_to("messages.send"))
    await region.deliver()

    refused = region.vk.calls_to("messages.send")[sends_before:]
    rows = [row for row in await outbox_rows(region, "vk", str(CITIZEN_PEER)) if row.status != "sent"]
    assert [row.status for row in rows] == ["failed", "failed"]  # the answer and the rating question
    # One attempt each: 901 is not a rate limit, neither the channel nor the outbox tries again.
    assert len(refused) == 2 and [row.attempts for row in rows] == [1, 1]
    assert all("VK error 901" in (row.last_error or "") for row in rows)
    async with region.app.sessionmaker() as session:
        person = await session.scalar(select(User).where(User.channel == "vk", User.platform_id == "1001"))
    assert person is not None and person.unreachable_reason is not None
    assert "901" in person.unreachable_reason and person.unreachable_at == region.clock()
    # The operator's side went on: the answer is recorded and the card says so.
    assert (await region.appeal()).status == "answered"
    (card,) = cards_in(ivan)
    assert "Статус: дан ответ" in card["text"]

    region.clock.now += timedelta(days=3)  # long after any backoff: nothing is due again
    assert await region.outbox.deliver_due() == 0
    assert len(region.vk.calls_to("messages.send")) == sends_before + 2


async def test_a_photo_sent_with_the_clarification_in_vk_is_shown_to_the_operator_in_telegram(
        region: Region, citizen: VkCitizen) -> None:
    ivan = await region.operator()
    await file_appeal(citizen)
    await region.deliver()
    await ivan.press("Взять")
    await ivan.press("Уточнить")
    await ivan.send("Пришлите, пожалуйста, фото опоры.")
    await ivan.press("Отправить гражданину")
    await region.deliver()
    await citizen.press("Ответить")
    assert "можно приложить фото" in citizen.text
    await citizen.photo("Вот опора", photo_id=77)
    assert "Уточнение добавлено" in citizen.text
    region.clock.now += JOIN_WINDOW  # the reply goes once the citizen has had time to add to it
    await region.deliver()
    reply = ivan.last("Гражданин ответил на уточнение")
    assert "Вот опора" in reply["text"]
    assert "📎 photo_960x1280.jpg" in reply["text"]  # named, as on the card: a VK photo cannot go to Telegram


# --- MAX: a citizen in MAX and the same operator in Telegram (issue 19) ---------------------------


class MaxCitizen:
    """A person in MAX: each action returns once the channel has handled it."""

    def __init__(self, fake: FakeMax, channel: MaxChannel, chat_id: int = CITIZEN_PEER) -> None:
        self.fake, self.channel, self.chat_id = fake, channel, chat_id
        self.seen: list[MaxMessage] = []

    async def _act(self, queue: Callable[[], object]) -> None:
        before = {m.mid: len(m.edits) for m in self.fake.messages(self.chat_id)}
        done = self.channel.processed
        queue()
        await until(lambda: self.channel.processed > done)
        self.seen = [m for m in self.fake.messages(self.chat_id) if before.get(m.mid) != len(m.edits)]

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.seen)

    async def send(self, text: str) -> None:
        await self._act(lambda: self.fake.text(self.chat_id, text))

    async def press(self, label: str) -> None:
        await self._act(lambda: self.fake.press(self.chat_id, label))

    async def image(self, caption: str = "") -> None:
        await self._act(lambda: self.fake.image(self.chat_id, caption, photo_id=77))


@contextlib.asynccontextmanager
async def max_region(app: App, clock: Clock) -> AsyncIterator[tuple[Region, FakeMax, MaxCitizen]]:
    async with FakeVk() as vk, FakeTelegramServer() as telegram, FakeMax() as fake_max, \
            telegram_webhook(telegram, app.conversations) as telegram_channel, \
            vk_long_poll(vk, app) as vk_channel:
        settings = MaxSettings(enabled=True, api_base=fake_max.base_url, token=SecretStr(fake_max.token))
        channel = MaxChannel(settings, app.conversations, retry_delays=(0.01,), poll_timeout=1, poll_interval=0.02)
        task = asyncio.create_task(channel.run())
        try:
            await fake_max.wait_polling()
            region = Region(app, clock, vk, vk_channel, telegram, telegram_channel)
            senders = {"vk": vk_channel, "telegram": telegram_channel, "max": channel}
            unpaced = {**UNPACED, "max": Limits(per_second=1000, per_chat_interval_s=0)}
            region.outbox = Outbox(app.sessionmaker, senders, clock=clock, limits=unpaced)
            yield region, fake_max, MaxCitizen(fake_max, channel)
        finally:
            await channel.stop()
            await asyncio.wait_for(task, 5)


async def test_a_max_citizen_and_a_telegram_operator_work_on_one_appeal(app: App, clock: Clock) -> None:
    async with max_region(app, clock) as (region, fake_max, citizen):
        ivan = await region.operator()
        await citizen._act(lambda: fake_max.bot_started(CITIZEN_PEER))
        await citizen.press("Согласен")
        await citizen.send("Петрова Анна")
        await citizen.press("Пропустить")
        await citizen.press("ЖКХ")
        await citizen.press("освещение")
        await citizen.send(TEXT)
        await citizen.press("Готово")
        await citizen.image("Темный двор")
        await citizen.press("Готово")
        await citizen.send("г. Энск, ул. Садовая, 5")
        await citizen.press("Отправить")
        assert FIRST in citizen.text, citizen.text
        await region.deliver()
        (card,) = cards_in(ivan)
        assert TEXT in card["text"] and card["text"].endswith("📎 photo_77.jpg")  # a MAX photo is named
        await ivan.press("Взять")
        await ivan.press("Ответить")
        await ivan.send(ANSWER)
        await ivan.press("Готово")
        await ivan.press("Отправить гражданину")
        await region.deliver()
        answer, rating = fake_max.messages(CITIZEN_PEER)[-2:]
        assert answer.text == f"Ответ на ваше обращение {FIRST}\nМинистерство энергетики и ЖКХ\n\n{ANSWER}"
        assert rating.labels == [f"{n} ⭐" for n in range(1, 6)]
        await citizen.press("5 ⭐")
        assert fake_max.answers[-1]["notification"]
        async with region.app.sessionmaker() as session:
            people = (await session.execute(select(User.channel, User.platform_id, User.role)
                                            .order_by(User.id))).all()
        assert people == [("telegram", "1001", "operator"), ("max", "1001", "citizen")]
        rows = await outbox_rows(region, "max", str(CITIZEN_PEER))
        assert [row.sent_ref for row in rows if row.status == "sent"][-2:] == [answer.mid, rating.mid]


async def test_a_max_citizen_who_blocked_the_bot_is_unreachable_and_not_retried(app: App, clock: Clock) -> None:
    async with max_region(app, clock) as (region, fake_max, citizen):
        ivan = await region.operator()
        await citizen.send("/start")
        await citizen.press("Согласен")
        await citizen.send("Петрова Анна")
        await citizen.press("Пропустить")
        await citizen.press("ЖКХ")
        await citizen.press("освещение")
        await citizen.send(TEXT)
        await citizen.press("Готово")
        await citizen.press("Пропустить")
        await citizen.send("г. Энск, ул. Садовая, 5")
        await citizen.press("Отправить")
        await region.deliver()
        fake_max.block(CITIZEN_PEER)
        await ivan.press("Взять")
        await ivan.press("Ответить")
        await ivan.send(ANSWER)
        await ivan.press("Готово")
        await ivan.press("Отправить гражданину")
        await region.deliver()
        rows = [row for row in await outbox_rows(region, "max", str(CITIZEN_PEER)) if row.status != "sent"]
        assert [row.status for row in rows] == ["failed", "failed"] and [row.attempts for row in rows] == [1, 1]
        async with region.app.sessionmaker() as session:
            person = await session.scalar(select(User).where(User.channel == "max"))
        assert person is not None and person.unreachable_reason is not None
        region.clock.now += timedelta(days=3)
        assert await region.outbox.deliver_due() == 0
