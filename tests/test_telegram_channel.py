"""The Telegram channel end to end: the real aiogram client against the fake Bot API over HTTP on 127.0.0.1.

The first part drives the channel with small in-test conversation handlers (the mechanics); the
second part runs the citizen's whole appeal through the real conversations and SQLite database.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.app import App, build_app
from bot.channels.telegram import KEYBOARD_REMOVAL_TEXT, TelegramChannel
from bot.config import Settings, Telegram
from bot.events import Attachment, Button, DeliveryError, Incoming, Reply, RetryLater, Unreachable
from bot.i18n import translator
from storage.models import Appeal
from tests.fakes.telegram_server import FakeTelegramServer, Upload

# The fake users write in Russian; the channel's last-resort apology comes from the catalogue.
APOLOGY_RU = translator("ru")("error.internal")

CHAT = 42
OTHER = 43
Answer = Callable[[Incoming], list[Reply]]


def echo(event: Incoming) -> list[Reply]:
    return [Reply(f"эхо: {event.payload or event.text or event.unsupported}")]


class Recorder:
    """A ConversationHandler that records what it is given and answers with ``answer``."""

    def __init__(self, answer: Answer = echo, *, stall: Callable[[Incoming], float] | None = None) -> None:
        self.answer = answer
        self.stall = stall
        self.events: list[Incoming] = []
        self.finished: list[str] = []
        self.unreachable: list[tuple[str, str, str]] = []

    async def handle(self, event: Incoming) -> list[Reply]:
        self.events.append(event)
        if self.stall is not None:
            await asyncio.sleep(self.stall(event))
        replies = self.answer(event)
        self.finished.append(event.text)
        return replies

    async def mark_unreachable(self, channel: str, chat_id: str, reason: str) -> None:
        self.unreachable.append((channel, chat_id, reason))


def failing(event: Incoming) -> list[Reply]:
    raise RuntimeError("the database went away")


def config(server: FakeTelegramServer, **overrides: Any) -> Telegram:
    return Telegram(api_base=server.api_base, token=SecretStr(server.token), **overrides)


class QuickSession(AiohttpSession):
    """aiogram's session, minus the 0.25 s it sleeps on close for TLS connections that 127.0.0.1 has not."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def bot_for(server: FakeTelegramServer) -> Bot:
    return Bot(server.token, session=QuickSession(api=TelegramAPIServer.from_base(server.api_base)))


@contextlib.asynccontextmanager
async def channel_for(server: FakeTelegramServer, handler: Any, settings: Telegram | None = None,
                      **options: Any) -> AsyncIterator[TelegramChannel]:
    bot = bot_for(server)
    try:
        yield TelegramChannel(settings or config(server), handler, bot, **options)
    finally:
        await bot.session.close()


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        yield fake


@contextlib.asynccontextmanager
async def polling(server: FakeTelegramServer, handler: Any, **options: Any) -> AsyncIterator[TelegramChannel]:
    options.setdefault("shutdown_grace", 0.5)
    async with channel_for(server, handler, polling_timeout=1, **options) as channel:
        task = asyncio.create_task(channel.run_polling())
        try:
            yield channel
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# --- polling and ordering ---


async def test_polling_keeps_each_chats_order_while_chats_run_side_by_side(
        server: FakeTelegramServer) -> None:
    handler = Recorder(stall=lambda e: 0.3 if e.text == "A1" else 0.0)
    server.queue(*(server.make.text(CHAT, f"A{i}") for i in (1, 2, 3)),
                 *(server.make.text(OTHER, f"B{i}") for i in (1, 2)))
    async with polling(server, handler):
        await server.wait_sent(CHAT, 3)
        await server.wait_sent(OTHER, 2)
    assert [t for t in handler.finished if t.startswith("A")] == ["A1", "A2", "A3"]
    assert handler.finished.index("B2") < handler.finished.index("A1")  # B did not wait for A's slow step
    assert server.texts(CHAT) == ["эхо: A1", "эхо: A2", "эхо: A3"]


async def test_update_in_flight_at_a_crash_is_delivered_again_with_the_same_key(
        server: FakeTelegramServer) -> None:
    stuck = server.make.text(CHAT, "обращение")
    server.queue(stuck)
    never = asyncio.Event()

    async def hang(event: Incoming) -> list[Reply]:
        await never.wait()
        return []

    first = Recorder()
    first.handle = lambda event: (first.events.append(event), hang(event))[1]  # type: ignore[method-assign]
    async with polling(server, first, shutdown_grace=0):
        await until(lambda: len(first.events) == 1)
    assert server.confirmed_offset <= stuck["update_id"]  # never confirmed to Telegram

    second = Recorder()
    async with polling(server, second):
        await server.wait_sent(CHAT, 1)
    assert [e.update_key for e in second.events] == [first.events[0].update_key]


async def test_polling_recovers_from_a_failing_telegram(server: FakeTelegramServer) -> None:
    server.fail_next("getUpdates", 502)
    server.queue(server.make.text(CHAT, "после сбоя"))
    async with polling(server, Recorder()):
        assert await server.wait_sent(CHAT, 1)
    assert [c.status for c in server.calls_of("getUpdates")][:2] == [502, 200]


async def test_album_arrives_as_one_event_with_all_photos(server: FakeTelegramServer) -> None:
    album = server.make.album(CHAT, 3, caption="Двор после ремонта")
    handler = Recorder()
    server.queue(album, server.make.text(CHAT, "и ещё текст"))
    async with polling(server, handler):
        await server.wait_sent(CHAT, 2)
    photos, text = handler.events
    assert [a.ref for a in photos.attachments] == [u["message"]["photo"][-1]["file_id"] for u in album]
    assert photos.text == "Двор после ремонта" and text.text == "и ещё текст"
    assert photos.update_key == f"telegram:{album[0]['update_id']}-{album[-1]['update_id']}"


# --- button presses ---


def menu(event: Incoming) -> list[Reply]:
    if event.payload == "v1:s:housing":
        back = [[Button("Назад", "v1:back")]]
        return [Reply("Вы выбрали ЖКХ", buttons=back, replace=True, toast="Принято")]
    if event.payload == "v1:same":
        return [Reply("Выберите направление", buttons=start_buttons(), replace=True)]
    return [Reply("Выберите направление", buttons=start_buttons())]


def start_buttons() -> list[list[Button]]:
    return [[Button("ЖКХ", "v1:s:housing"), Button("Ещё раз", "v1:same")]]


async def test_button_press_is_answered_with_the_toast_and_edits_its_message(
        server: FakeTelegramServer) -> None:
    server.queue(server.make.text(CHAT, "/start"))
    async with polling(server, Recorder(menu)):
        (shown,) = await server.wait_sent(CHAT, 1)
        press = server.press(CHAT, "v1:s:housing")
        await server.wait_calls("editMessageText")
        (answer,) = await server.wait_calls("answerCallbackQuery")
    assert answer.params == {"callback_query_id": press["callback_query"]["id"], "text": "Принято"}
    (edit,) = server.calls_of("editMessageText")
    assert edit.params["message_id"] == shown["message_id"]
    assert server.texts(CHAT) == ["Вы выбрали ЖКХ"]
    assert server.sent[CHAT][0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "v1:back"


async def test_an_edit_telegram_refuses_becomes_a_new_message(server: FakeTelegramServer) -> None:
    server.queue(server.make.text(CHAT, "/start"))
    server.fail_next("editMessageText", 400, description="Bad Request: message can't be edited")
    async with polling(server, Recorder(menu)):
        await server.wait_sent(CHAT, 1)
        server.press(CHAT, "v1:s:housing")
        await server.wait_sent(CHAT, 2)
    assert server.texts(CHAT) == ["Выберите направление", "Вы выбрали ЖКХ"]


async def test_an_edit_to_the_same_content_sends_nothing_more(server: FakeTelegramServer) -> None:
    server.queue(server.make.text(CHAT, "/start"))
    async with polling(server, Recorder(menu)):
        await server.wait_sent(CHAT, 1)
        server.press(CHAT, "v1:same")
        await server.wait_calls("answerCallbackQuery")
        await server.wait_calls("editMessageText")
    assert server.calls_of("editMessageText")[0].status == 400  # "message is not modified"
    assert server.texts(CHAT) == ["Выберите направление"]


# --- failures on immediate replies ---


async def test_flood_control_on_a_reply_is_waited_out(server: FakeTelegramServer) -> None:
    server.fail_next("sendMessage", 429, retry_after=1)
    server.queue(server.make.text(CHAT, "срочно"))
    async with polling(server, Recorder()):
        await server.wait_sent(CHAT, 1)
    refused, delivered = server.calls_of("sendMessage")
    assert (refused.status, delivered.status) == (429, 200)
    assert delivered.at - refused.at >= 1.0


async def test_blocked_user_is_marked_unreachable(server: FakeTelegramServer) -> None:
    server.fail_chat(CHAT, 403, "Forbidden: bot was blocked by the user")
    handler = Recorder()
    server.queue(server.make.text(CHAT, "привет"))
    async with polling(server, handler):
        await until(lambda: bool(handler.unreachable))
    assert handler.unreachable == [("telegram", str(CHAT), "Forbidden: bot was blocked by the user")]


async def test_blocking_the_bot_is_noticed_from_the_membership_update(server: FakeTelegramServer) -> None:
    handler = Recorder()
    server.queue(server.make.blocked(CHAT))
    async with polling(server, handler):
        await until(lambda: bool(handler.unreachable))
    assert handler.unreachable == [("telegram", str(CHAT), "bot kicked")] and handler.events == []


async def test_handler_failure_gets_an_apology_and_the_button_is_still_answered(
        server: FakeTelegramServer) -> None:
    async with polling(server, Recorder(failing)) as channel:
        rating = Reply("Оцените ответ", buttons=[[Button("5", "v1:rate:5")]])
        await channel.send(str(CHAT), rating, dedup_key="r")
        server.press(CHAT, "v1:rate:5")
        await server.wait_sent(CHAT, 2)
    assert server.texts(CHAT)[-1] == APOLOGY_RU
    answered = server.calls.index(server.calls_of("answerCallbackQuery")[0])
    apologised = server.calls.index(server.calls_of("sendMessage")[-1])
    assert answered < apologised  # the spinner stops first


async def test_a_reply_the_channel_cannot_render_still_ends_in_an_apology(server: FakeTelegramServer) -> None:
    too_long = [Reply("Выберите", buttons=[[Button("Кнопка", "x" * 65)]])]  # over the 64-byte callback_data
    async with polling(server, Recorder(lambda event: too_long)):
        server.queue(server.make.text(CHAT, "/start"))
        await server.wait_sent(CHAT, 1)
    assert server.texts(CHAT) == [APOLOGY_RU]


# --- request keyboards ---


def phone_step(event: Incoming) -> list[Reply]:
    if event.text == "/phone":
        return [Reply("Ваш телефон?", buttons=[[Button("📱 Отправить номер", request="phone")],
                                               [Button("Пропустить", "v1:skip")]])]
    if event.phone:
        return [Reply(f"Номер {event.phone} сохранён.")]
    return [Reply("Выберите направление", buttons=[[Button("ЖКХ", "v1:s:housing")]])]


async def test_contact_keyboard_is_shown_and_removed_after_use(server: FakeTelegramServer) -> None:
    server.queue(server.make.text(CHAT, "/phone"))
    async with polling(server, Recorder(phone_step)):
        question, keyboard = await server.wait_sent(CHAT, 2)
        server.queue(server.make.contact(CHAT, "+79001234567"))
        thanks = (await server.wait_sent(CHAT, 3))[-1]
    assert question["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "v1:skip"
    assert keyboard["text"] == "📱 Отправить номер"
    assert keyboard["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert keyboard["reply_markup"]["one_time_keyboard"] is True
    assert thanks["text"] == "Номер +79001234567 сохранён."
    assert thanks["reply_markup"] == {"remove_keyboard": True}


async def test_an_unused_keyboard_is_taken_off_before_the_next_buttons(server: FakeTelegramServer) -> None:
    server.queue(server.make.text(CHAT, "/phone"))
    async with polling(server, Recorder(phone_step)):
        await server.wait_sent(CHAT, 2)
        server.press(CHAT, "v1:skip")
        await server.wait_sent(CHAT, 4)
        await server.wait_calls("deleteMessage")
    note, sectors = server.sent[CHAT][2:]
    assert (note["text"], note["reply_markup"]) == (KEYBOARD_REMOVAL_TEXT, {"remove_keyboard": True})
    assert note["deleted"]
    assert sectors["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "v1:s:housing"
    assert server.texts(CHAT)[-1] == "Выберите направление"


# --- replies with files ---


async def test_a_reply_with_photos_and_a_document_is_sent_as_album_and_file(
        server: FakeTelegramServer) -> None:
    reply = Reply("Ответ министерства", attachments=[
        Attachment("photo", "ph-1", "telegram"), Attachment("photo", "ph-2", "telegram"),
        Attachment("document", "doc-1", "telegram", name="ответ.pdf"),
        Attachment("photo", "vk-9", "vk", name="фото")])
    async with channel_for(server, Recorder()) as channel:
        await channel.send(str(CHAT), reply, dedup_key="answer-1")
    assert [c.method for c in server.calls] == ["sendMessage", "sendMediaGroup", "sendDocument"]
    assert server.texts(CHAT)[0] == "Ответ министерства\n\n📎 фото"
    assert [m.get("photo") or m.get("document") for m in server.sent[CHAT][1:]] == ["ph-1", "ph-2", "doc-1"]


# --- the outbox's Sender ---


@pytest.fixture
async def sender(server: FakeTelegramServer) -> AsyncIterator[TelegramChannel]:
    async with channel_for(server, Recorder()) as channel:
        yield channel


async def test_send_maps_flood_control_to_retry_later_with_the_wait(server: FakeTelegramServer,
                                                                     sender: TelegramChannel) -> None:
    server.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryLater) as caught:
        await sender.send(str(CHAT), Reply("напоминание"), dedup_key="n1")
    assert caught.value.retry_after == 7
    assert len(server.calls_of("sendMessage")) == 1  # the outbox decides when to try again, not the channel


@pytest.mark.parametrize("status, description, expected", [
    (403, "Forbidden: bot was blocked by the user", Unreachable),
    (403, "Forbidden: user is deactivated", Unreachable),
    (400, "Bad Request: chat not found", Unreachable),
    (502, "Bad Gateway", RetryLater),
    (500, "Internal Server Error", RetryLater),
    (400, "Bad Request: can't parse entities", DeliveryError),
])
async def test_send_maps_errors(server: FakeTelegramServer, sender: TelegramChannel, status: int,
                                description: str, expected: type[DeliveryError]) -> None:
    server.fail_next("sendMessage", status, description=description)
    with pytest.raises(DeliveryError) as caught:
        await sender.send(str(CHAT), Reply("ответ"), dedup_key="a1")
    assert type(caught.value) is expected


async def test_send_when_telegram_is_unreachable_is_retry_later() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    nowhere = Telegram(api_base=f"http://127.0.0.1:{port}", token=SecretStr("1:x"))
    channel = TelegramChannel(nowhere, Recorder())  # built from the settings, as in production
    try:
        with pytest.raises(RetryLater):
            await channel.send(str(CHAT), Reply("ответ"), dedup_key="a1")
    finally:
        await channel.close()


async def test_a_retried_long_send_continues_where_it_stopped(server: FakeTelegramServer,
                                                              sender: TelegramChannel) -> None:
    parts = [f"Часть {i}. " + "Ответ министерства по существу. " * 110 for i in (1, 2, 3)]
    server.fail_next("sendMessage", 502, skip=1)
    with pytest.raises(RetryLater):
        await sender.send(str(CHAT), Reply("\n\n".join(parts)), dedup_key="answer-7")
    await sender.send(str(CHAT), Reply("\n\n".join(parts)), dedup_key="answer-7")
    assert [t.split(".")[0] for t in server.texts(CHAT)] == ["Часть 1", "Часть 2", "Часть 3"]


async def test_the_fake_enforces_telegrams_flood_limits_when_asked(server: FakeTelegramServer,
                                                                     sender: TelegramChannel) -> None:
    server.limit_rate(overall=3, per_chat=1)
    await sender.send(str(CHAT), Reply("первое"), dedup_key="1")
    with pytest.raises(RetryLater) as per_chat:
        await sender.send(str(CHAT), Reply("второе сразу"), dedup_key="2")
    await sender.send("44", Reply("другому"), dedup_key="3")
    await sender.send("45", Reply("третьему"), dedup_key="4")
    with pytest.raises(RetryLater) as overall:
        await sender.send("46", Reply("четвёртому"), dedup_key="5")
    assert per_chat.value.retry_after == overall.value.retry_after == 1


async def test_commands_are_set_in_russian_by_default_and_in_english(server: FakeTelegramServer,
                                                                    sender: TelegramChannel) -> None:
    await sender.set_commands()
    names = ["start", "new", "my", "help", "lang", "cancel"]
    assert [c["command"] for c in server.commands[None]] == names
    assert [c["command"] for c in server.commands["en"]] == names
    assert server.commands[None][1]["description"] == "Новое обращение"
    assert server.commands["en"][1]["description"] == "New appeal"


# --- webhook ---


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def webhook(server: FakeTelegramServer, handler: Any) -> AsyncIterator[TelegramChannel]:
    port = free_port()
    settings = config(server, mode="webhook", webhook_port=port, webhook_url=f"http://127.0.0.1:{port}/telegram",
                      webhook_secret=SecretStr("s3cret-Token_1"))
    async with channel_for(server, handler, settings) as channel:
        task = asyncio.create_task(channel.run_webhook())
        try:
            await server.wait_calls("setWebhook")
            await _listening(port)
            yield channel
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listens on {port}")


async def test_webhook_is_registered_with_its_secret(server: FakeTelegramServer) -> None:
    async with webhook(server, Recorder()):
        (registered,) = server.calls_of("setWebhook")
    assert registered.params["url"].endswith("/telegram")
    assert registered.params["secret_token"] == "s3cret-Token_1"
    assert registered.params["allowed_updates"] == ["message", "callback_query", "my_chat_member"]


async def test_webhook_rejects_a_missing_or_wrong_secret(server: FakeTelegramServer) -> None:
    handler = Recorder()
    async with webhook(server, handler):
        assert await server.post_to_webhook(server.make.text(CHAT, "подделка"), secret=None) == 401
        assert await server.post_to_webhook(server.make.text(CHAT, "подделка"), secret="guess") == 403
    assert handler.events == [] and server.calls_of("sendMessage") == []


async def test_webhook_with_the_right_secret_is_handled_before_it_is_answered(
        server: FakeTelegramServer) -> None:
    handler = Recorder()
    async with webhook(server, handler):
        assert await server.post_to_webhook(server.make.text(CHAT, "настоящее")) == 200
        assert server.texts(CHAT) == ["эхо: настоящее"]  # already sent when Telegram got its 200
    assert [e.text for e in handler.events] == ["настоящее"]


async def test_webhook_refuses_to_start_without_a_secret(server: FakeTelegramServer) -> None:
    channel = TelegramChannel(config(server, mode="webhook"), Recorder())
    try:
        with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
            channel.webhook_app()
    finally:
        await channel.close()


async def test_a_malformed_webhook_body_is_a_bad_request(server: FakeTelegramServer) -> None:
    async with webhook(server, Recorder()):
        url = server.webhook_url
        async with aiohttp.ClientSession() as session, session.post(
            url, data=b"not json", headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
        ) as response:
            assert response.status == 400


# --- the citizen's whole appeal through the real conversations ---------------------------------


Deliver = Callable[[dict[str, Any]], Awaitable[None]]


class TelegramCitizen:
    """A person in a private Telegram chat with the bot; each step returns once the bot has answered."""

    def __init__(self, server: FakeTelegramServer, deliver: Deliver, chat_id: int = 5005) -> None:
        self.server, self.deliver, self.chat_id = server, deliver, chat_id
        self.seen: list[dict[str, Any]] = []  # messages that appeared or changed in the last step

    async def step(self, *updates: dict[str, Any]) -> None:
        """Deliver updates at once (an album's parts travel together) and collect what the bot showed."""
        before = {m["message_id"]: m["edited"] for m in self.server.sent[self.chat_id]}
        await asyncio.gather(*(self.deliver(update) for update in updates))
        self.seen = [m for m in self.server.sent[self.chat_id]
                     if not m.get("deleted") and before.get(m["message_id"]) != m["edited"]]

    async def send(self, text: str) -> None:
        await self.step(self.server.make.text(self.chat_id, text))

    async def press(self, label: str) -> dict[str, Any]:
        update = self.server.button_update(self.chat_id, label=label)
        await self.step(update)
        return update

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.seen)

    def request_keyboard(self) -> list[dict[str, Any]]:
        rows = [row for m in self.seen for row in (m.get("reply_markup") or {}).get("keyboard", [])]
        return [button for row in rows for button in row]


def via_webhook(server: FakeTelegramServer) -> Deliver:
    async def deliver(update: dict[str, Any]) -> None:
        assert await server.post_to_webhook(update) == 200

    return deliver


def via_polling(server: FakeTelegramServer) -> Deliver:
    async def deliver(update: dict[str, Any]) -> None:
        server.queue(update)
        # The offset moves past an update only once the channel has handled and answered it.
        await until(lambda: server.confirmed_offset > update["update_id"])

    return deliver


async def appeals_in(app: App) -> list[Appeal]:
    async with app.sessionmaker() as session:
        return list((await session.scalars(select(Appeal).options(selectinload(Appeal.attachments)))).all())


async def test_citizen_files_an_appeal_in_telegram_from_start_to_number(server: FakeTelegramServer,
                                                                         app: App) -> None:
    async with webhook(server, app.conversations):
        citizen = TelegramCitizen(server, via_webhook(server))
        await citizen.send("/start")
        assert "152-ФЗ" in citizen.text
        await citizen.press("Согласен")
        assert "Спасибо, согласие получено." in citizen.text and "Как к вам обращаться" in citizen.text
        await citizen.send("Иванова Мария Петровна")
        (share_phone,) = citizen.request_keyboard()
        assert share_phone["request_contact"] is True and "телефон" in citizen.text

        await citizen.step(server.make.contact(citizen.chat_id, "79123456789"))
        assert "Выберите направление" in citizen.text
        await citizen.press("ЖКХ")
        await citizen.press("Отопление")
        assert "Направление: ЖКХ → Отопление" in citizen.text
        await citizen.send("Третий день в квартире холодные батареи, температура 15 градусов, дети болеют.")
        await citizen.press("Готово")
        assert "Приложите фото" in citizen.text

        photo = server.make.photo(citizen.chat_id, caption="Термометр в детской")
        await citizen.step(photo)
        assert "Файлов приложено: 1" in citizen.text
        album = server.make.album(citizen.chat_id, 3)
        await citizen.step(*album)
        assert "Файлов приложено: 4" in citizen.text  # one answer for the album, not three
        await citizen.press("Готово")
        (share_location,) = citizen.request_keyboard()
        assert share_location["request_location"] is True

        await citizen.step(server.make.location(citizen.chat_id, 56.8519, 53.2048))
        assert "Проверьте обращение" in citizen.text and "+79123456789" in citizen.text
        assert "Файлов: 4" in citizen.text
        confirm = await citizen.press("Отправить")
        assert "Номер: ЦУР-2026-000001" in citizen.text
        toast = server.calls_of("answerCallbackQuery")[-1].params.get("text")
        assert toast == "Зарегистрировано: ЦУР-2026-000001"

        sent_before = len(server.calls)
        await citizen.step(confirm)  # Telegram re-sends an update whose answer it did not get
        # Handled once; its answer (the number) is given again in case the first one was lost.
        again = [c.method for c in server.calls[sent_before:]]
        assert again[0] == "answerCallbackQuery" and set(again) <= {"answerCallbackQuery", "editMessageText",
                                                                    "sendMessage"}

    (appeal,) = await appeals_in(app)
    assert (appeal.citizen_name, appeal.phone, appeal.sector_id, appeal.category_id) == (
        "Иванова Мария Петровна", "+79123456789", "housing", "heating")
    assert (appeal.latitude, appeal.longitude) == (56.8519, 53.2048)
    largest = [u["message"]["photo"][-1]["file_id"] for u in (photo, *album)]
    assert [(a.kind, a.ref, a.channel) for a in appeal.attachments] == [
        ("photo", ref, "telegram") for ref in largest]


async def test_a_restart_in_the_middle_of_a_dialog_continues_it(server: FakeTelegramServer, app: App,
                                                                  settings: Settings, clock: Any) -> None:
    server.long_poll_cap = 0.02  # quick polls: each step waits for the offset to move
    citizen = TelegramCitizen(server, via_polling(server), chat_id=6006)
    async with polling(server, app.conversations):
        await citizen.send("/new")
        await citizen.press("Согласен")
        await citizen.send("Кузнецов Алексей")
        await citizen.press("Пропустить")
        await citizen.press("Энергетика")
        assert "Выберите категорию" in citizen.text
    await app.close()

    restarted = await build_app(settings, clock=clock)  # the same SQLite file, new objects everywhere
    try:
        async with polling(server, restarted.conversations):
            await citizen.send("/start")
            assert "Продолжим" in citizen.text and "Энергетика" in citizen.text
            await citizen.press("Отключения")
            await citizen.send("Нет света во всём доме с утра, холодильники разморозились.")
            await citizen.press("Готово")
            await citizen.press("Пропустить")
            await citizen.send("пос. Заречный, ул. Полевая, 3")
            await citizen.press("Отправить")
            assert "ЦУР-2026-000001" in citizen.text
        (appeal,) = await appeals_in(restarted)
        assert (appeal.citizen_name, appeal.sector_id) == ("Кузнецов Алексей", "energy")
    finally:
        await restarted.close()


# --- files the bot made (charts, exports, protocols) are uploaded ---------------------------------


def generated(folder: Path, name: str, size: int) -> str:
    path = folder / name
    path.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    return str(path)


async def test_the_outbox_uploads_generated_charts_and_an_export_under_their_names(
        server: FakeTelegramServer, sender: TelegramChannel, tmp_path: Path) -> None:
    reply = Reply("Статистика за ноябрь", attachments=[
        Attachment("photo", generated(tmp_path, "a1.png", 4000), "local", name="Рейтинг министерств.png"),
        Attachment("photo", generated(tmp_path, "a2.png", 3000), "local", name="Сроки ответов.png"),
        Attachment("document", generated(tmp_path, "a3.xlsx", 9000), "local", name="Обращения за ноябрь.xlsx"),
        Attachment("document", "doc1_2", "vk", name="акт из ВК.pdf")])
    await sender.send(str(CHAT), reply, dedup_key="stats-11")
    assert server.transcript() == [
        "sendMessage chat=42 text='Статистика за ноябрь\\n\\n📎 акт из ВК.pdf'(37)",
        "sendMediaGroup chat=42 media=['upload:Рейтинг министерств.png', 'upload:Сроки ответов.png']",
        "sendDocument chat=42 document=upload:Обращения за ноябрь.xlsx"]
    assert [(u.method, u.filename, u.size) for u in server.uploads] == [
        ("sendMediaGroup", "Рейтинг министерств.png", 4000), ("sendMediaGroup", "Сроки ответов.png", 3000),
        ("sendDocument", "Обращения за ноябрь.xlsx", 9000)]
    export = server.sent[CHAT][-1]
    assert (export["document"], export["file_name"]) == (server.uploads[-1].file_id, "Обращения за ноябрь.xlsx")


async def test_an_immediate_reply_uploads_a_generated_protocol_after_its_text(server: FakeTelegramServer,
                                                                              tmp_path: Path) -> None:
    protocol = generated(tmp_path, "protocol-0b1c.docx", 12_345)

    def protocol_reply(event: Incoming) -> list[Reply]:
        return [Reply("Протокол заседания № 3", buttons=[[Button("Подписать", "v1:sign:3")]],
                      attachments=[Attachment("document", protocol, "local", name="Протокол № 3.docx")])]

    async with channel_for(server, Recorder(protocol_reply)) as channel:
        await channel.feed(server.make.text(CHAT, "/protocol 3"))
    assert server.uploads == [Upload("sendDocument", CHAT, server.uploads[0].field, "Протокол № 3.docx", 12_345,
                                     server.uploads[0].file_id)]
    text, document = server.sent[CHAT]
    assert text["text"] == "Протокол заседания № 3" and text["reply_markup"]["inline_keyboard"]
    assert document["file_name"] == "Протокол № 3.docx"
