"""The MAX channel: MAX updates become neutral events, replies become MAX calls.

End-to-end tests run the channel's own aiohttp client over real HTTP against a fake MAX Bot API on
127.0.0.1 (tests/fakes/max_server.py), which refuses what MAX refuses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import App, build_app
from bot.channels.base import Runtime
from bot.channels.max.channel import MaxChannel
from bot.channels.max.client import MaxClient
from bot.channels.max.errors import MaxApiError
from bot.channels.max.intake import incoming_from_update
from bot.channels.max.plugin import PLUGIN
from bot.channels.max.rendering import render_reply
from bot.channels.max.settings import MaxSettings
from bot.config import ConfigError, Settings, load
from bot.delivery import Limits, Outbox
from bot.events import (
    Attachment,
    Button,
    DeliveryError,
    HandlingDeferred,
    Incoming,
    Location,
    Reply,
    RetryLater,
    Unreachable,
)
from bot.runner import _runnable
from bot.services import staff
from bot.services.cursors import DatabaseCursors
from storage.cursor_repo import ChannelCursorRepo
from storage.expert_models import Ballot
from storage.models import Appeal, AppealAttachment
from storage.repositories import Repositories
from tests.fakes.max_server import FakeMax

CHAT = 5001
TOKEN = "max-test-token"
SECRET = "hook_secret-42"
TEXT = "Третий день в квартире холодные батареи, температура 15 градусов, дети болеют."


class Recorder:
    """A ConversationHandler that records events and answers with ``answer(event)``."""

    def __init__(self, answer: Callable[[Incoming], list[Reply]] | None = None) -> None:
        self.answer = answer or (lambda event: [Reply(text=f"echo: {event.text or event.payload}")])
        self.events: list[Incoming] = []
        self.unreachable: list[tuple[str, str, str]] = []

    async def handle(self, event: Incoming) -> list[Reply]:
        self.events.append(event)
        if event.text == "boom":
            raise RuntimeError("handler bug")
        return self.answer(event)

    async def mark_unreachable(self, channel: str, chat_id: str, reason: str) -> None:
        self.unreachable.append((channel, chat_id, reason))


def max_settings(fake: FakeMax, **changes: Any) -> MaxSettings:
    return MaxSettings(enabled=True, api_base=fake.base_url, token=SecretStr(fake.token), **changes)


def make_channel(fake: FakeMax, handler: Any, runtime: Runtime | None = None, poll_interval: float = 0.02,
                 **changes: Any) -> MaxChannel:
    """The fake does not hold the bot to MAX's 2 long-poll requests a second: tests poll faster unless asked."""
    return MaxChannel(max_settings(fake, **changes), handler, runtime, retry_delays=(0.01, 0.02),
                      ready_delays=(0.01, 0.02), reconnect_delays=(0.02,), poll_timeout=1, poll_interval=poll_interval)


@asynccontextmanager
async def running(channel: MaxChannel, fake: FakeMax) -> AsyncIterator[MaxChannel]:
    polls = len(fake.polls)
    task = asyncio.create_task(channel.run())
    try:
        if channel.settings.mode == "longpoll":
            await fake.wait_polling(after=polls)
        else:
            await until(lambda: channel.webhook_address is not None and bool(fake.subscriptions))
        yield channel
    finally:
        await channel.stop()
        await asyncio.wait_for(task, 5)


async def until(ready: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.005)


@pytest.fixture
async def fake() -> AsyncIterator[FakeMax]:
    async with FakeMax(TOKEN) as server:
        yield server


def incoming(update: dict[str, Any]) -> Incoming:
    found = incoming_from_update(update, TOKEN)
    assert found is not None
    return found


# --- MAX update -> Incoming ----------------------------------------------------------------------


async def test_text_message_becomes_an_incoming_event_keyed_by_its_mid() -> None:
    fake = FakeMax(TOKEN)
    fake.names[CHAT] = ("Мария", "Иванова")
    update = fake.text(CHAT, "Здравствуйте", locale="en")
    event = incoming(update)
    mid = update["message"]["body"]["mid"]
    assert event == Incoming(channel="max", chat_id=str(CHAT), user_id=str(CHAT), update_key=f"max:m:{mid}",
                             text="Здравствуйте", user_name="Мария Иванова", language="en")


async def test_bot_started_with_a_start_payload_is_the_start_command_with_the_code() -> None:
    fake = FakeMax(TOKEN)
    assert incoming(fake.bot_started(CHAT, "INV-7Q2")).text == "/start INV-7Q2"
    assert incoming(fake.bot_started(CHAT)).text == "/start"


async def test_shared_contact_gives_the_phone_only_when_max_signed_it_and_it_is_the_users_own() -> None:
    fake = FakeMax(TOKEN)
    assert incoming(fake.contact(CHAT, "+79123456789")).phone == "+79123456789"
    forged = incoming(fake.contact(CHAT, "+79990000000", signed_with="not-the-token"))
    assert (forged.phone, forged.unsupported) == (None, "contact")
    fake.names[777] = ("Чужой", "Контакт")
    someone_else = fake.contact(CHAT, "+79990000001")
    someone_else["message"]["body"]["attachments"][0]["payload"]["max_info"]["user_id"] = 777
    assert incoming(someone_else).phone is None


async def test_location_image_and_file_become_neutral_and_a_sticker_alone_is_unsupported() -> None:
    fake = FakeMax(TOKEN)
    assert incoming(fake.location(CHAT, 56.13, 47.25)).location == Location(56.13, 47.25)
    photo = incoming(fake.image(CHAT, "двор", photo_id=42))
    assert photo.text == "двор"
    [image] = photo.attachments
    assert (image.kind, image.channel, image.name) == ("photo", "max", "photo_42.jpg") and image.ref.startswith("img-")
    [document] = incoming(fake.file(CHAT, "Акт.pdf", 1234)).attachments
    assert (document.kind, document.name, document.size, document.mime) == ("document", "Акт.pdf", 1234,
                                                                            "application/pdf")
    assert incoming(fake.sticker(CHAT)).unsupported == "sticker"


async def test_press_carries_the_payload_and_the_pressed_messages_mid_and_own_messages_are_skipped() -> None:
    fake = FakeMax(TOKEN)
    update = fake.press_raw(CHAT, "1:agree", None)
    assert incoming_from_update(update, TOKEN) is None  # no message: nothing to converse about
    own = fake.text(CHAT, "echo")
    own["message"]["sender"]["is_bot"] = True
    assert incoming_from_update(own, TOKEN) is None
    assert incoming_from_update(fake.bot_stopped(CHAT), TOKEN) is None


# --- Reply -> MAX --------------------------------------------------------------------------------


def test_rows_are_cut_to_seven_callback_buttons_or_three_request_buttons_and_thirty_rows_a_message() -> None:
    reply = Reply("Выберите", buttons=[[Button(f"b{i}", f"p{i}") for i in range(8)],
                                       [Button(f"r{i}", request="location") for i in range(4)]])
    [message] = render_reply(reply)
    assert [len(row) for row in message.keyboard] == [7, 1, 3, 1]
    assert message.keyboard[2][0] == {"type": "request_geo_location", "text": "r0"}
    many = render_reply(Reply("Много", buttons=[[Button(f"b{i}", f"p{i}")] for i in range(31)]))
    assert [len(m.keyboard) for m in many] == [30, 1] and many[1].text == "…"
    long_label = render_reply(Reply("x", buttons=[[Button("я" * 200, "p")]]))[0].keyboard[0][0]["text"]
    assert len(long_label) == 128 and long_label.endswith("…")


def test_long_text_is_split_under_four_thousand_and_foreign_files_are_named() -> None:
    text = ("Абзац обращения. " * 30 + "\n\n") * 10
    parts = render_reply(Reply(text, attachments=[Attachment("photo", "AgAC", "telegram", name="двор.jpg")]))
    assert len(parts) == 2 and all(len(p.text) <= 4000 for p in parts)
    assert parts[-1].text.endswith("📎 двор.jpg")


async def test_the_fake_refuses_what_max_refuses(fake: FakeMax) -> None:
    client = MaxClient(fake.base_url, TOKEN)
    wrong = MaxClient(fake.base_url, "wrong")
    try:
        with pytest.raises(MaxApiError) as refused:
            await wrong.call("GET", "/me")
        assert refused.value.status == 401
        for body in ({"text": "я" * 4001}, {"text": "x", "attachments": [{"type": "inline_keyboard", "payload": {
                "buttons": [[{"type": "callback", "text": str(i), "payload": "p"} for i in range(8)]]}}]}):
            with pytest.raises(MaxApiError) as refused:
                await client.call("POST", "/messages", params={"chat_id": CHAT}, body=body)
            assert refused.value.status == 400
        with pytest.raises(MaxApiError) as refused:
            await client.call("POST", "/answers", params={"callback_id": "cb.1"}, body={})
        assert refused.value.status == 400
        assert fake.sent == []
    finally:
        await client.close()
        await wrong.close()


# --- the channel against the fake ----------------------------------------------------------------


async def test_press_is_answered_with_a_notice_and_edits_the_pressed_message_by_mid(fake: FakeMax) -> None:
    def answer(event: Incoming) -> list[Reply]:
        if event.payload == "stale":
            return []
        if event.payload:
            return [Reply("Выбрано: ЖКХ", replace=True, toast="Принято: ЖКХ")]
        return [Reply("Выберите направление", buttons=[[Button("ЖКХ", "1:sector:housing")]])]

    channel = make_channel(fake, Recorder(answer))
    async with running(channel, fake):
        fake.text(CHAT, "/start")
        [shown] = await fake.wait_messages(CHAT, 1)
        fake.press(CHAT, "ЖКХ")
        await fake.wait_calls("PUT /messages", 1)
        await until(lambda: channel.processed >= 2)
        fake.press_raw(CHAT, "stale", shown)  # a press with nothing to say still gets a notice
        await until(lambda: channel.processed >= 3)
    assert fake.calls_to("PUT /messages")[0].query == {"message_id": shown.mid}
    assert shown.text == "Выбрано: ЖКХ" and shown.keyboard == [] and shown.edits[0]["text"] == "Выберите направление"
    assert [a["notification"] for a in fake.answers] == ["Принято: ЖКХ", "Принято"]
    assert len(fake.messages(CHAT)) == 1


async def test_press_is_answered_even_when_the_handler_fails(fake: FakeMax) -> None:
    channel = make_channel(fake, Recorder(lambda event: [Reply("Меню", buttons=[[Button("Сломать", "boom")]])]))
    async with running(channel, fake):
        fake.text(CHAT, "/start")
        await fake.wait_messages(CHAT, 1)
        update = fake.press(CHAT, "Сломать")
        update["callback"]["payload"] = "x"
        channel.handler.answer = lambda event: (_ for _ in ()).throw(RuntimeError("bug"))
        await fake.wait_calls("POST /answers", 1)
        messages = await fake.wait_messages(CHAT, 2)
    assert fake.answers[0]["notification"] == "Ошибка, попробуйте ещё раз"
    assert "что-то пошло не так" in messages[-1].text


async def test_too_many_requests_are_waited_out_and_a_lasting_429_is_left_to_the_outbox(fake: FakeMax) -> None:
    channel = make_channel(fake, Recorder())
    fake.fail_next("POST /messages", 429, "too.many.requests", times=2)
    assert await channel.send(str(CHAT), Reply("Раз"), dedup_key="k1")
    fake.fail_next("POST /messages", 429, "too.many.requests", times=3)
    with pytest.raises(RetryLater) as later:
        await channel.send(str(CHAT), Reply("Два"), dedup_key="k2")
    assert later.value.retry_after == 1.0
    assert [m.text for m in fake.messages(CHAT)] == ["Раз"]
    await channel.client.close()


async def test_the_fake_answers_429_beyond_thirty_requests_a_second_and_the_client_keeps_under_it() -> None:
    async with FakeMax(TOKEN) as fake:
        raw = aiohttp.ClientSession(headers={"Authorization": TOKEN})
        try:
            statuses = [(await raw.get(f"{fake.base_url}/me")).status for _ in range(31)]
        finally:
            await raw.close()
        assert statuses.count(429) >= 1
    async with FakeMax(TOKEN) as fake:
        channel = make_channel(fake, Recorder())
        await asyncio.gather(*(channel.send(str(CHAT), Reply(f"№{i}"), dedup_key=str(i)) for i in range(40)))
        await channel.client.close()
        assert len(fake.messages(CHAT)) == 40


async def test_a_user_who_blocked_the_bot_is_unreachable(fake: FakeMax) -> None:
    recorder = Recorder()
    channel = make_channel(fake, recorder)
    fake.block(CHAT)
    with pytest.raises(Unreachable):
        await channel.send(str(CHAT), Reply("Ответ"), dedup_key="a1")
    async with running(channel, fake):
        fake.text(CHAT, "Привет")
        fake.bot_stopped(CHAT + 1)
        await until(lambda: channel.processed >= 2)
    assert sorted((c, chat) for c, chat, _ in recorder.unreachable) == [("max", str(CHAT)), ("max", str(CHAT + 1))]


def generated(folder: Path, name: str, size: int) -> str:
    path = folder / name
    path.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    return str(path)


async def test_files_the_bot_made_are_uploaded_and_sent_once_max_has_processed_them(fake: FakeMax,
                                                                                   tmp_path: Path) -> None:
    channel = make_channel(fake, Recorder())
    reply = Reply("Статистика за ноябрь", buttons=[[Button("Обновить", "1:stats")]], attachments=[
        Attachment("photo", generated(tmp_path, "a1.png", 4000), "local", name="Рейтинг министерств.png"),
        Attachment("document", generated(tmp_path, "a3.xlsx", 9000), "local", name="Обращения за ноябрь"),
        Attachment("document", str(tmp_path / "gone.pdf"), "local", name="Пропавший.pdf")])
    mid = await channel.send(str(CHAT), reply, dedup_key="stats-11")
    await channel.client.close()
    assert [(u.kind, u.filename, u.size) for u in fake.uploads] == [
        ("image", "Рейтинг министерств.png", 4000), ("file", "Обращения за ноябрь.xlsx", 9000)]
    # The first send met attachment.not.ready (MAX still processing), the next one went through.
    assert len(fake.calls_to("POST /messages")) == 2
    [message] = fake.messages(CHAT)
    assert message.mid == mid and message.text == "Статистика за ноябрь\n\n📎 Пропавший.pdf"
    assert [f["payload"]["token"] for f in message.files] == [u.token for u in fake.uploads]
    assert message.labels == ["Обновить"]


async def test_long_poll_resumes_from_the_marker_saved_in_the_database_after_a_restart(fake: FakeMax,
                                                                                      app: App) -> None:
    recorder = Recorder()
    async with running(make_channel(fake, recorder, Runtime(cursors=DatabaseCursors(app.sessionmaker))),
                       fake) as channel:
        fake.text(CHAT, "первое")
        await until(lambda: channel.processed >= 1)
        await fake.wait_polling(after=len(fake.polls))  # the batch is confirmed before the next poll
    async with app.sessionmaker() as session:
        assert await ChannelCursorRepo(session).get("max", "marker") == "1"
    fake.text(CHAT, "пока бот стоял")  # MAX keeps it (24 h) for the next poll with the marker
    fake.subscriptions.append({"url": "https://old.example.ru/max", "secret": None})  # a webhook left behind
    before = len(fake.polls)
    async with running(make_channel(fake, recorder, Runtime(cursors=DatabaseCursors(app.sessionmaker))),
                       fake) as channel:
        await until(lambda: channel.processed >= 1)
        await fake.wait_polling(after=len(fake.polls))
    assert fake.polls[0].get("marker") is None and fake.polls[before]["marker"] == "1"
    assert [e.text for e in recorder.events] == ["первое", "пока бот стоял"]
    assert [m.text for m in fake.messages(CHAT)] == ["echo: первое", "echo: пока бот стоял"]
    async with app.sessionmaker() as session:
        assert await ChannelCursorRepo(session).get("max", "marker") == "2"
    assert fake.subscriptions == []  # else MAX would not serve /updates


async def test_webhook_refuses_a_wrong_secret_and_takes_updates_with_the_right_one(fake: FakeMax) -> None:
    recorder = Recorder()
    channel = make_channel(fake, recorder, mode="webhook", webhook_url="https://bot.example.ru/max",
                           webhook_secret=SecretStr(SECRET), webhook_port=0)
    async with running(channel, fake):
        assert fake.subscriptions[0]["url"] == "https://bot.example.ru/max"
        assert fake.subscriptions[0]["secret"] == SECRET
        host, port = channel.webhook_address or ("", 0)
        url = f"http://{host}:{port}/max"
        fake.text(CHAT, "чужой")
        assert await fake.push_webhook(url, secret="wrong-secret") == [401]
        fake.text(CHAT, "свой")
        assert await fake.push_webhook(url) == [200]
    assert [e.text for e in recorder.events] == ["свой"]
    assert [m.text for m in fake.messages(CHAT)] == ["echo: свой"]


async def test_webhook_answers_503_while_the_database_is_away_so_max_sends_the_update_again(fake: FakeMax) -> None:
    class Away(Recorder):
        async def handle(self, event: Incoming) -> list[Reply]:
            raise HandlingDeferred()

    settings = max_settings(fake, mode="webhook", webhook_url="https://bot.example.ru/max",
                            webhook_secret=SecretStr(SECRET), webhook_port=0)
    channel = MaxChannel(settings, Away(), webhook_budget=0.3)
    async with running(channel, fake):
        host, port = channel.webhook_address or ("", 0)
        fake.text(CHAT, "привет")
        assert await fake.push_webhook(f"http://{host}:{port}/max") == [503]
    assert fake.sent == []


def test_webhook_mode_needs_a_secret_of_the_right_shape_and_an_https_address() -> None:
    with pytest.raises(ValueError, match="MAX_WEBHOOK_SECRET"):
        MaxSettings(enabled=True, token=SecretStr(TOKEN), webhook_secret=SecretStr("abc"))
    no_secret = MaxSettings(enabled=True, token=SecretStr(TOKEN), mode="webhook", webhook_url="https://x.ru/max")
    assert "MAX_WEBHOOK_SECRET" in (no_secret.problem() or "")
    with pytest.raises(ValueError, match="MAX_BOT_TOKEN"):
        MaxChannel(MaxSettings(enabled=True), Recorder())


def test_max_is_switched_on_in_config_toml_with_its_secrets_from_the_environment(tmp_path: Path) -> None:
    shipped = (Path(__file__).resolve().parent.parent / "config.toml").read_text(encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(shipped.replace("[max]\nenabled = false", "[max]\nenabled = true"), encoding="utf-8")
    settings = load(path, environ={"MAX_BOT_TOKEN": TOKEN})
    assert [plugin.name for plugin, _ in _runnable(settings)] == ["max"]  # Telegram has no token here
    assert settings.channel("max").token.get_secret_value() == TOKEN
    with pytest.raises(ConfigError, match="MAX_WEBHOOK_SECRET"):
        load(path, environ={"MAX_BOT_TOKEN": TOKEN, "MAX_WEBHOOK_SECRET": "a b"})
    path.write_text(shipped.replace("[max]\n", f'[max]\ntoken = "{TOKEN}"\n'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"max\.token: secrets must not be in the config file"):
        load(path, environ={})


async def test_errors_map_to_delivery_decisions(fake: FakeMax) -> None:
    channel = make_channel(fake, Recorder())
    fake.fail_next("POST /messages", 503, "service.unavailable", times=5)
    with pytest.raises(RetryLater):
        await channel.send(str(CHAT), Reply("x"), dedup_key="e1")
    with pytest.raises(DeliveryError) as bad:
        await channel.send(str(CHAT), Reply("x", buttons=[[Button("b", "p" * 1025)]]), dedup_key="e2")
    assert not isinstance(bad.value, RetryLater | Unreachable)
    await channel.client.close()


# --- the whole conversation in MAX ---------------------------------------------------------------


class MaxCitizen:
    """A MAX user talking to the bot through the fake: each action waits until the bot is done."""

    def __init__(self, fake: FakeMax, channel: MaxChannel, chat_id: int = CHAT) -> None:
        self.fake, self.channel, self.chat_id = fake, channel, chat_id
        self.latest: list[str] = []

    async def _act(self, queue: Callable[[], object]) -> None:
        before = len(self.fake.messages(self.chat_id))
        edits = sum(len(m.edits) for m in self.fake.messages(self.chat_id))
        done = self.channel.processed
        queue()
        await until(lambda: self.channel.processed > done)
        messages = self.fake.messages(self.chat_id)
        edited = [m.text for m in messages[:before] if m.edits] if sum(len(m.edits) for m in messages) > edits else []
        self.latest = edited + [m.text for m in messages[before:]]

    def reconnect(self, channel: MaxChannel) -> None:
        self.channel = channel

    @property
    def text(self) -> str:
        return "\n".join(self.latest)

    async def send(self, text: str) -> None:
        await self._act(lambda: self.fake.text(self.chat_id, text))

    async def press(self, label: str) -> None:
        await self._act(lambda: self.fake.press(self.chat_id, label))

    async def start(self) -> None:
        await self._act(lambda: self.fake.bot_started(self.chat_id))

    async def contact(self, phone: str) -> None:
        await self._act(lambda: self.fake.contact(self.chat_id, phone))

    async def location(self, latitude: float, longitude: float) -> None:
        await self._act(lambda: self.fake.location(self.chat_id, latitude, longitude))

    async def image(self) -> None:
        await self._act(lambda: self.fake.image(self.chat_id, photo_id=42))


@asynccontextmanager
async def max_bot(fake: FakeMax, app: App) -> AsyncIterator[MaxChannel]:
    async with running(make_channel(fake, app.conversations), fake) as channel:
        yield channel


async def test_citizen_files_a_whole_appeal_in_max(fake: FakeMax, app: App) -> None:
    async with max_bot(fake, app) as channel:
        citizen = MaxCitizen(fake, channel)
        await citizen.start()
        await citizen.press("Согласен")
        await citizen.send("Иванова Мария Петровна")
        phone_prompt = fake.messages(CHAT)[-1]
        assert {"type": "request_contact", "text": "📱 Поделиться телефоном"} in phone_prompt.buttons
        await citizen.contact("+7 912 345-67-89")
        await citizen.press("ЖКХ")
        await citizen.press("Отопление")
        await citizen.send(TEXT)
        await citizen.press("Готово")
        await citizen.image()
        await citizen.press("Готово")
        assert any(b["type"] == "request_geo_location" for b in fake.messages(CHAT)[-1].buttons)
        await citizen.location(56.13, 47.25)
        assert "Проверьте обращение" in citizen.text and "+79123456789" in citizen.text
        await citizen.press("Отправить")
        assert "ЦУР-2026-000001" in citizen.text
    assert fake.answers and all(a["notification"] for a in fake.answers)
    assert any("ЦУР-2026-000001" in a["notification"] for a in fake.answers)
    async with app.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None
        assert (appeal.citizen_name, appeal.phone, appeal.sector_id, appeal.category_id) == (
            "Иванова Мария Петровна", "+79123456789", "housing", "heating")
        assert (appeal.latitude, appeal.longitude) == (56.13, 47.25)
        [photo] = (await session.scalars(select(AppealAttachment))).all()
        assert (photo.kind, photo.channel, photo.name) == ("photo", "max", "photo_42.jpg")


async def test_dialog_continues_after_a_restart_on_the_same_database(fake: FakeMax, app: App,
                                                                    settings: Settings, clock: Any) -> None:
    async with max_bot(fake, app) as channel:
        citizen = MaxCitizen(fake, channel)
        await citizen.send("/start")
        await citizen.press("Согласен")
        await citizen.send("Петров Пётр")
        await citizen.press("Пропустить")
        await citizen.press("Дороги")
    await app.close()

    restarted = await build_app(settings, clock=clock)
    try:
        async with max_bot(fake, restarted) as channel:
            citizen.reconnect(channel)
            await citizen.press("Ямы")  # a button of the message shown before the restart
            await citizen.send("Глубокая яма на дороге у остановки, машины объезжают по встречной.")
            await citizen.press("Готово")
            await citizen.press("Пропустить")
            await citizen.send("г. Энск, ул. Мира, 1")
            await citizen.press("Отправить")
            assert "ЦУР-2026-000001" in citizen.text
        async with restarted.sessionmaker() as session:
            appeal = await session.scalar(select(Appeal))
            assert appeal is not None
            assert (appeal.citizen_name, appeal.category_id) == ("Петров Пётр", "potholes")
    finally:
        await restarted.close()


STAFF_CHAT = -7001
OPERATOR = 6001


async def test_a_ministry_staff_chat_in_max_gets_the_card_and_an_operator_invited_by_link_takes_it(
        fake: FakeMax, app: App, clock: Any) -> None:
    app.settings.ministries["energy_housing"].staff_chat = {"max": str(STAFF_CHAT)}
    async with app.sessionmaker() as session, session.begin():
        invite = await staff.create_invite(Repositories(session), app.settings, "operator", "energy_housing", clock())
    assert PLUGIN.invite_hint(max_settings(fake, bot_username=fake.username), invite.code) == (
        f"https://max.ru/{fake.username}?start={invite.code}")
    async with max_bot(fake, app) as channel:
        outbox = Outbox(app.sessionmaker, {"max": channel}, clock=clock,
                        limits={"max": Limits(per_second=1000, per_chat_interval_s=0)})
        operator = MaxCitizen(fake, channel, OPERATOR)
        await operator._act(lambda: fake.bot_started(OPERATOR, invite.code))  # opened the link
        assert "подключены как оператор" in operator.text
        citizen = MaxCitizen(fake, channel)
        for act in (citizen.start(), citizen.press("Согласен"), citizen.send("Петрова Анна"),
                    citizen.press("Пропустить"), citizen.press("ЖКХ"), citizen.press("Отопление"),
                    citizen.send(TEXT), citizen.press("Готово"), citizen.press("Пропустить"),
                    citizen.send("г. Энск, ул. Садовая, 5"), citizen.press("Отправить")):
            await act
        while await outbox.deliver_due():
            pass
        [card] = [m for m in fake.messages(STAFF_CHAT) if "ЦУР-2026-000001" in m.text]
        assert "🙋 Взять в работу" in card.labels and TEXT in card.text
        group = MaxCitizen(fake, channel, STAFF_CHAT)
        await group._act(lambda: fake.press(STAFF_CHAT, "Взять", user_id=OPERATOR))
        assert "теперь у вас в работе" in group.text
        while await outbox.deliver_due():  # every copy of the card is brought up to date, by its mid
            pass
    assert "Исполнитель" in card.text and card.edits and fake.calls_to("PUT /messages")
    assert fake.answers[-1]["notification"]
    async with app.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None and appeal.status == "in_work"


async def test_an_expert_group_ballot_reaches_a_member_in_max_and_the_vote_is_taken(
        fake: FakeMax, app: App, clock: Any) -> None:
    codes = []
    for role in ("secretary", "member"):
        async with app.sessionmaker() as session, session.begin():
            codes.append((await staff.create_invite(Repositories(session), app.settings, role, None, clock(),
                                                    group_id="nsi")).code)
    async with max_bot(fake, app) as channel:
        outbox = Outbox(app.sessionmaker, {"max": channel}, clock=clock,
                        limits={"max": Limits(per_second=1000, per_chat_interval_s=0)})
        secretary, member = MaxCitizen(fake, channel, 3001), MaxCitizen(fake, channel, 3002)
        for person, code, name in ((secretary, codes[0], "Зайцева Мария Олеговна"),
                                   (member, codes[1], "Кузнецов Игорь Павлович")):
            await person._act(lambda person=person, code=code: fake.bot_started(person.chat_id, code))
            assert "Вы включены в состав" in person.text
            await person.send(name)
        await secretary.send("/meeting_new")
        await secretary.send("10.12.2026 18:00")
        await secretary.press("Заочное голосование")
        await secretary.send("Об утверждении положения о конкурсе")
        await secretary.send("Утвердить положение о конкурсе.")  # the draft decision members vote on
        await secretary.press("Готово")
        await secretary.press("Готово ➜")
        await secretary.press("Опубликовать")
        assert "Заочное голосование №1 открыто" in secretary.text
        while await outbox.deliver_due():
            pass
        [ballot] = [m for m in fake.messages(3002) if "🗳 Голосование" in m.text]
        assert "Об утверждении положения о конкурсе" in ballot.text
        await member.press("Воздержался")
        assert "Ваш голос: воздержался" in member.text
    async with app.sessionmaker() as session:
        cast = (await session.scalars(select(Ballot.choice).where(Ballot.choice.is_not(None)))).all()
        assert cast == ["abstain"]


async def test_the_long_poll_keeps_to_two_requests_a_second(fake: FakeMax, app: Any) -> None:
    """MAX allows 2 long-poll requests a second: with the production interval, answered polls are 0.5 s apart."""
    import time

    channel = make_channel(fake, app.conversations, poll_interval=0.5)
    async with running(channel, fake):
        started, before = time.monotonic(), len(fake.polls)
        for n in range(3):
            fake.text(CHAT, f"сообщение {n}")  # each answers the poll at once, so only the pacing waits
            await fake.wait_polling(after=before + n)
        assert time.monotonic() - started >= 0.9  # three polls, at least two intervals between them
