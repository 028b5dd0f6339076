"""The same meeting on Telegram: the real channel and outbox against the fake Bot API over HTTP.

Every member is a Telegram user in a private chat; notices, ballots and results reach them through the
real Outbox with the TelegramChannel as sender, and they press the inline buttons of those messages.
Two items, one member absent, one leaving before the second vote, a tie decided by the presiding member,
a dissenting opinion and a declined one; the protocol goes out as a document and is read back.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import docx
import pytest
from sqlalchemy import select

from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.delivery import Limits, Outbox
from bot.services import staff
from storage.expert_models import Protocol
from storage.repositories import Repositories
from tests.conftest import Clock
from tests.fakes.telegram_server import FakeTelegramServer
from tests.utils.telegram_chat import TelegramUser, telegram_webhook

MSK = ZoneInfo("Europe/Moscow")
UNPACED = {"telegram": Limits(per_second=1000, per_chat_interval_s=0.0)}
FIRST = "Утвердить план работы группы на 2027 год."
SECOND = "Объявить конкурс социальных проектов."


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=MSK).astimezone(UTC)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.limits.messages_per_minute = 1000   # the story runs in frozen minutes
    return settings


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        yield fake


class Group:
    """The expert group on Telegram: people, their invites, the outbox delivering to their chats."""

    def __init__(self, app: App, clock: Clock, server: FakeTelegramServer, channel: TelegramChannel) -> None:
        self.app, self.clock, self.server = app, clock, server
        self.outbox = Outbox(app.sessionmaker, {"telegram": channel}, clock=clock, limits=UNPACED)
        self._ids = itertools.count(8001)

    async def join(self, role: str, full_name: str) -> TelegramUser:
        last, first, _ = full_name.split(" ", 2)
        person = TelegramUser(self.server, next(self._ids), first, last)
        async with self.app.sessionmaker() as session, session.begin():
            code = (await staff.create_invite(Repositories(session), self.app.settings, role, None, self.clock(),
                                              group_id="nsi")).code
        await person.send(f"/start {code}")
        await person.send(full_name)
        assert "имя сохранено" in person.text, person.text
        return person

    async def deliver(self) -> None:
        while await self.outbox.deliver_due():
            pass


@pytest.fixture
async def group(app: App, clock: Clock, server: FakeTelegramServer) -> AsyncIterator[Group]:
    async with telegram_webhook(server, app.conversations) as channel:
        yield Group(app, clock, server, channel)


async def vote(group: Group, chair: TelegramUser, item: str, choices: list[tuple[TelegramUser, str]]) -> None:
    await chair.send("/meeting 1")
    await chair.press("Открыть голосование")
    await chair.press(item)
    await chair.press("До закрытия")
    await group.deliver()
    for member, label in choices:
        await member.press(label)
        assert "Ваш голос" in member.text, member.text
    await chair.send("/meeting 1")
    await chair.press("Закрыть голосование")
    await group.deliver()


async def test_a_meeting_on_telegram_ends_in_the_approved_protocol(app: App, clock: Clock, group: Group,
                                                                   server: FakeTelegramServer) -> None:
    clock.now = msk(1, 10)
    chair = await group.join("chair", "Орлова Анна Сергеевна")
    secretary = await group.join("secretary", "Зайцева Мария Олеговна")
    kuznetsov = await group.join("member", "Кузнецов Игорь Павлович")
    smirnova = await group.join("member", "Смирнова Ольга Викторовна")
    volkov = await group.join("member", "Волков Денис Андреевич")
    morozova = await group.join("member", "Морозова Елена Юрьевна")

    await secretary.send("/meeting_new")
    await secretary.send("03.12.2026 15:00")
    await secretary.press("Очно")
    await secretary.send("Дом правительства, зал 2")
    for title, decision in (("О плане работы на 2027 год", FIRST), ("О конкурсе социальных проектов", SECOND)):
        await secretary.send(title)
        await secretary.send(decision)
    await secretary.press("Готово")
    await secretary.press("Следующий вопрос")
    await secretary.press("Готово ➜")
    await secretary.press("На утверждение председателю")
    await group.deliver()
    assert not [m for m in morozova.messages if "Уведомление" in (m.get("text") or "")]   # not before approval
    await chair.press("Утвердить и разослать")
    await group.deliver()
    assert f"Проект решения: {FIRST}" in morozova.last("Уведомление о заседании")["text"]

    clock.now = msk(3, 15)
    await secretary.send("/meeting 1")
    await secretary.press("Начать заседание")
    await group.deliver()
    for member in (chair, secretary, kuznetsov, smirnova, volkov):     # Морозова is absent
        await member.press("Я на заседании")

    clock.now = msk(3, 15, 10)
    await vote(group, chair, "О плане работы", [(chair, "👍 За"), (secretary, "👍 За"), (kuznetsov, "👍 За"),
                                                 (smirnova, "👎 Против"), (volkov, "✋ Воздержался")])
    result = morozova.last("Итоги голосования")["text"]
    assert "нужно 3 из 5, «за» — 3" in result and "Решение принято" in result
    await smirnova.press("✍ Особое мнение")
    await smirnova.send("План не учитывает нужды сельских районов.")
    assert "Особое мнение сохранено" in smirnova.text

    clock.now = msk(3, 15, 40)
    await volkov.press("Покинуть заседание")
    assert "покинувший заседание" in volkov.text

    clock.now = msk(3, 15, 50)
    await vote(group, chair, "О конкурсе", [(chair, "👍 За"), (kuznetsov, "👎 Против"), (secretary, "✋ Воздержался"),
                                             (smirnova, "✋ Воздержался")])
    assert not [m for m in volkov.messages if "Вопрос 2" in (m.get("text") or "") and "🗳" in m["text"]]
    tie = volkov.last("Итоги голосования")["text"]
    assert "Вопрос 2" in tie and "нужно 3 из 4, «за» — 1" in tie
    assert "решающим стал голос председательствующего (Орлова Анна Сергеевна, «за»)" in tie
    await kuznetsov.press("Без особого мнения")
    assert kuznetsov.toast and "без особого мнения" in kuznetsov.toast

    clock.now = msk(3, 16, 30)
    await secretary.send("/meeting 1")
    await secretary.press("Завершить заседание")
    assert "Проект протокола отправлен на подпись" in secretary.text     # nobody left to wait for
    await group.deliver()
    clock.now = msk(4, 11, 5)
    await chair.press("Подписать протокол")
    await secretary.press("Подписать протокол")
    assert "подписан и разослан" in secretary.text
    await group.deliver()

    copies = [u for u in server.uploads if u.method == "sendDocument" and u.chat_id == morozova.chat_id]
    assert copies and copies[-1].filename == "Протокол № 1 от 03.12.2026.docx"
    async with app.sessionmaker() as session:
        path = await session.scalar(select(Protocol.path))
    document = docx.Document(str(path))
    text = "\n".join(p.text for p in document.paragraphs)
    table = "\n".join(cell.text for row in document.tables[0].rows for cell in row.cells)
    for expected in (f"РЕШИЛИ: {FIRST}", f"РЕШИЛИ: {SECOND}", "Присутствовали (5 из 6)",
                     "Отсутствовали: Морозова Елена Юрьевна",
                     "(покинул(а) заседание Волков Денис Андреевич в 15:40)",
                     "При равенстве голосов решающим стал голос председательствующего («за»)",
                     "Вопрос 1. Особое мнение (Смирнова Ольга Викторовна): План не учитывает нужды сельских районов."):
        assert expected in text, expected
    assert "Утверждён в системе: Орлова А. С., 04.12.2026 11:05" in table
    voting = text[text.index("ГОЛОСОВАЛИ"):]
    assert "Морозова" not in voting
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(x.mm) for x in (section.left_margin, section.right_margin, section.top_margin,
                                  section.bottom_margin)] == [20, 10, 20, 20]
