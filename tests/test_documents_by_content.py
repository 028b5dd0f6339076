"""Issue 15 §4: documents are judged by their content (first bytes), not their name, in every messenger.

Each channel reads the first bytes of a document the user sent from the platform's file server (Telegram:
getFile and the file's URL; VK and MAX: the URL in the message) and hands them to the conversations; here
the real channels run against the fake servers on 127.0.0.1, which serve each file's content over HTTP.
An executable or an HTML page named ".pdf" is refused politely in the user's language and nothing of it is
stored; a real PDF named oddly is taken, under a name that says what it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import App
from bot.channels.kit import read_heads
from bot.channels.max.channel import MaxChannel
from bot.channels.max.settings import MaxSettings
from bot.channels.vk import VkChannel
from bot.config import Vk
from bot.events import Attachment, Incoming
from storage.models import Conversation
from tests.fakes.files import PDF_START
from tests.fakes.max_server import FakeMax
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.vk_server import FakeVk
from tests.utils.telegram_chat import TelegramUser, telegram_webhook

PERSON = 4242
TEXT = "Во дворе дома 5 третий день не горят фонари, вечером темно и опасно."
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 8  # a Windows executable
PAGE = b"<!DOCTYPE html><html><body><script>location='http://evil.example'</script>"


class Person(Protocol):
    """Someone in one messenger; each action returns once the channel has handled it and answered."""

    channel: str
    chat_id: str
    text: str  # what the bot said in answer to the last action

    async def send(self, text: str) -> None: ...

    async def press(self, label: str) -> None: ...

    async def document(self, name: str, content: bytes) -> None: ...

    async def again(self) -> None:
        """The platform delivers the last update once more (a webhook retry, a replayed long poll)."""
        ...

    def downloads(self) -> list[str]:
        """The Range header of every download of a user's file from the platform's file server."""
        ...


async def until(ready: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.005)


class TelegramPerson:
    channel = "telegram"

    def __init__(self, server: FakeTelegramServer) -> None:
        self.server, self.user = server, TelegramUser(server, PERSON, "Анна", "Петрова")
        self.chat_id = str(PERSON)
        self._last: dict[str, Any] = {}

    @property
    def text(self) -> str:
        return self.user.text

    async def _step(self, update: dict[str, Any]) -> None:
        self._last = update
        await self.user.step(update)

    async def send(self, text: str) -> None:
        await self._step(self.server.make.text(PERSON, text, user=self.user.profile))

    async def press(self, label: str) -> None:
        await self._step(self.server.button_update(PERSON, label=label, user=self.user.profile))

    async def document(self, name: str, content: bytes) -> None:
        # The client's MIME type follows the name, as Telegram's does: it proves nothing about the content.
        await self._step(self.server.document(PERSON, content, file_name=name, mime_type="application/pdf",
                                              file_size=len(content), user=self.user.profile))

    async def again(self) -> None:
        await self.user.step(self._last)

    def downloads(self) -> list[str]:
        return self.server.downloads


class VkPerson:
    channel = "vk"

    def __init__(self, fake: FakeVk, channel: VkChannel) -> None:
        self.fake, self.vk_channel, self.chat_id = fake, channel, str(PERSON)
        self.text = ""
        self._last: dict[str, Any] = {}
        self._doc_ids = iter(range(700_001, 800_000))

    async def _act(self, queue: Callable[[], dict[str, Any]]) -> None:
        before, done = len(self.fake.messages(PERSON)), self.vk_channel.processed
        self._last = queue()
        await until(lambda: self.vk_channel.processed > done)
        self.text = "\n".join(m.text for m in self.fake.messages(PERSON)[before:])

    async def send(self, text: str) -> None:
        await self._act(lambda: self.fake.text(PERSON, text))

    async def press(self, label: str) -> None:
        await self._act(lambda: self.fake.press(PERSON, label))

    async def document(self, name: str, content: bytes) -> None:
        title, dot, ext = name.rpartition(".")  # VK keeps the extension apart from the title
        await self._act(lambda: self.fake.doc(PERSON, title if dot else ext, ext if dot else "",
                                              size=len(content), doc_id=next(self._doc_ids), content=content))

    async def again(self) -> None:
        await self._act(lambda: self.fake.redeliver(self._last))

    def downloads(self) -> list[str]:
        return self.fake.downloads


class MaxPerson:
    channel = "max"

    def __init__(self, fake: FakeMax, channel: MaxChannel) -> None:
        self.fake, self.max_channel, self.chat_id = fake, channel, str(PERSON)
        self.text = ""
        self._last: dict[str, Any] = {}

    async def _act(self, queue: Callable[[], dict[str, Any]]) -> None:
        before, done = len(self.fake.messages(PERSON)), self.max_channel.processed
        self._last = queue()
        await until(lambda: self.max_channel.processed > done)
        self.text = "\n".join(m.text for m in self.fake.messages(PERSON)[before:])

    async def send(self, text: str) -> None:
        await self._act(lambda: self.fake.text(PERSON, text))

    async def press(self, label: str) -> None:
        await self._act(lambda: self.fake.press(PERSON, label))

    async def document(self, name: str, content: bytes) -> None:
        await self._act(lambda: self.fake.file(PERSON, name, len(content), content=content))

    async def again(self) -> None:
        await self._act(lambda: self.fake.queue(self._last))

    def downloads(self) -> list[str]:
        return self.fake.downloads


@contextlib.asynccontextmanager
async def in_telegram(app: App) -> AsyncIterator[Person]:
    async with FakeTelegramServer() as server, telegram_webhook(server, app.conversations):
        yield TelegramPerson(server)


@contextlib.asynccontextmanager
async def in_vk(app: App) -> AsyncIterator[Person]:
    async with FakeVk() as fake:
        settings = Vk(enabled=True, group_id=fake.group_id, api_base=fake.base_url, token=SecretStr(fake.token))
        channel = VkChannel(settings, app.conversations, long_poll_wait=1, retry_delays=(0.01, 0.02),
                            reconnect_delays=(0.02,))
        checks = fake.longpoll_checks
        task = asyncio.create_task(channel.run())
        try:
            await fake.wait_polling(after=checks)
            yield VkPerson(fake, channel)
        finally:
            await channel.stop()
            await asyncio.wait_for(task, 5)


@contextlib.asynccontextmanager
async def in_max(app: App) -> AsyncIterator[Person]:
    async with FakeMax() as fake:
        settings = MaxSettings(enabled=True, api_base=fake.base_url, token=SecretStr(fake.token))
        channel = MaxChannel(settings, app.conversations, retry_delays=(0.01,), poll_timeout=1, poll_interval=0.02)
        task = asyncio.create_task(channel.run())
        try:
            await fake.wait_polling()
            yield MaxPerson(fake, channel)
        finally:
            await channel.stop()
            await asyncio.wait_for(task, 5)


MESSENGERS = {"telegram": in_telegram, "vk": in_vk, "max": in_max}


@pytest.fixture(params=list(MESSENGERS))
async def person(request: pytest.FixtureRequest, app: App) -> AsyncIterator[Person]:
    async with MESSENGERS[request.param](app) as someone:
        yield someone


async def at_the_files_step(person: Person) -> None:
    await person.send("/start")
    await person.press("Согласен")
    await person.send("Петрова Анна")
    await person.press("Пропустить")
    await person.press("ЖКХ")
    await person.press("освещение")
    await person.send(TEXT)
    await person.press("Готово")
    assert "Приложите фото или документы" in person.text, person.text


async def dialog_of(app: App, person: Person) -> dict[str, Any]:
    async with app.sessionmaker() as session:
        conversation = await session.scalar(select(Conversation).where(
            Conversation.channel == person.channel, Conversation.chat_id == person.chat_id))
        assert conversation is not None
        return dict(conversation.data)


async def attached(app: App, person: Person) -> list[str]:
    return [file["name"] for file in (await dialog_of(app, person)).get("draft", {}).get("attachments", [])]


async def messages_counted(app: App, person: Person) -> int:
    return int((await dialog_of(app, person))["_rate"][1])


# --- the stories ---------------------------------------------------------------------------------


async def test_a_program_or_a_web_page_named_pdf_is_refused_and_nothing_of_it_stored(app: App,
                                                                                      person: Person) -> None:
    await at_the_files_step(person)
    await person.document("акт.pdf", PROGRAM)
    assert "Файл «акт.pdf» не добавлен" in person.text and "по содержимому" in person.text, person.text
    assert "Приложите фото или документы" in person.text  # the step is asked again
    await person.document("решение.pdf", PAGE)
    assert "Файл «решение.pdf» не добавлен" in person.text and "по содержимому" in person.text, person.text
    assert await attached(app, person) == []
    # Only the first bytes were asked for, not the whole file.
    assert person.downloads() and set(person.downloads()) == {"bytes=0-63"}


async def test_a_real_pdf_is_taken_whatever_its_name_says(app: App, person: Person) -> None:
    await at_the_files_step(person)
    await person.document("скан", PDF_START)  # no extension at all: refused by name before
    assert "Файлов приложено: 1 из 10" in person.text, person.text
    await person.document("письмо.txt", PDF_START)
    assert "Файлов приложено: 2 из 10" in person.text, person.text
    await person.document("Заявление.pdf", PDF_START)
    # Named after what they hold, so the ministry opens each with the right program; a fitting name stays.
    assert await attached(app, person) == ["скан.pdf", "письмо.txt.pdf", "Заявление.pdf"]


async def test_a_refused_document_counts_once_and_takes_no_place_among_the_files(app: App, person: Person) -> None:
    await at_the_files_step(person)
    counted = await messages_counted(app, person)
    await person.document("акт.pdf", PROGRAM)
    assert person.text.count("не добавлен") == 1, person.text
    assert await messages_counted(app, person) == counted + 1
    await person.again()  # the platform delivers the same message again: handled once, not counted again
    assert await messages_counted(app, person) == counted + 1
    assert await attached(app, person) == []
    await person.document("скан.pdf", PDF_START)
    assert "Файлов приложено: 1 из 10" in person.text, person.text
    assert await attached(app, person) == ["скан.pdf"]


async def test_the_refusal_is_in_the_language_the_person_chose(app: App, person: Person) -> None:
    await person.send("/start")
    await person.send("/lang")
    await person.press("English")
    await person.document("report.pdf", PROGRAM)
    assert "File “report.pdf” was not added" in person.text and "whatever its name says" in person.text, \
        person.text


# --- when the first bytes cannot be read ---------------------------------------------------------


async def test_a_document_whose_bytes_cannot_be_read_in_time_is_judged_by_its_name() -> None:
    """A file server that does not answer holds the message up for the timeout only; the document is then
    passed on as before (judged by its name) rather than lost: the ministry gets it through the messenger."""
    async def stalled(attachment: Attachment) -> bytes | None:
        await asyncio.sleep(10)
        return PROGRAM

    async def broken(attachment: Attachment) -> bytes | None:
        raise ConnectionError("file server away")

    async def served(attachment: Attachment) -> bytes | None:
        return PDF_START

    peeks = {"slow": stalled, "bad": broken, "good": served}
    files = (Attachment("document", "slow", "vk", "акт.pdf"), Attachment("document", "bad", "vk", "б.pdf"),
             Attachment("document", "good", "vk", "в.pdf"), Attachment("photo", "photo1", "vk"))
    event = Incoming(channel="vk", chat_id="1", user_id="1", update_key="vk:1", attachments=files)
    read = await read_heads(event, lambda a: peeks[a.ref](a), within=0.1)
    assert dict(read.file_heads) == {"good": PDF_START[:64]} and read.attachments == files


async def test_a_vk_document_the_file_server_does_not_have_is_passed_on(app: App) -> None:
    async with in_vk(app) as someone:
        assert isinstance(someone, VkPerson)
        await at_the_files_step(someone)
        event = someone.fake.doc(PERSON, "акт", "pdf", doc_id=999)
        del someone.fake.files[f"{PERSON}_999"]  # the download answers 404
        done = someone.vk_channel.processed
        await until(lambda: someone.vk_channel.processed > done)
        assert event["object"]["message"]["attachments"]
        assert await attached(app, someone) == ["акт.pdf"]
        assert "Файлов приложено: 1 из 10" in "\n".join(m.text for m in someone.fake.messages(PERSON)[-1:])
