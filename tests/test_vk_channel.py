"""The VK channel: VK events become neutral events, replies become VK calls.

End-to-end tests run the real vk-api client over real HTTP against a fake VK API on 127.0.0.1.
The fake serves on the same event loop as the channel, so a vk-api call that blocked the loop
would deadlock every one of them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
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
from bot.channels.vk import (
    INLINE_MAX_BUTTONS,
    VkChannel,
    classify,
    incoming_from_event,
    random_id_for,
    render_reply,
    snackbar,
)
from bot.config import Settings, Vk
from bot.events import Attachment, Button, Incoming, Location, Reply, RetryLater, Unreachable
from bot.i18n import translator
from storage.models import Appeal, AppealAttachment
from tests.fakes.vk_server import FakeVk

PEER = 1001
OTHER_PEER = 1002
CHAT_PEER = 2_000_000_005
GROUP_ID = 77
SECRET = "s3cret-key"
TEXT = "Третий день в квартире холодные батареи, температура 15 градусов, дети болеют."


# --- helpers ----------------------------------------------------------------------------------


class Recorder:
    """A ConversationHandler that records events and answers with ``answer(event)``."""

    def __init__(self, answer: Callable[[Incoming], list[Reply]] | None = None,
                 delays: dict[str, float] | None = None) -> None:
        self.answer = answer or (lambda event: [Reply(text=f"echo: {event.text or event.payload}")])
        self.delays = delays or {}
        self.events: list[Incoming] = []
        self.unreachable: list[tuple[str, str, str]] = []

    async def handle(self, event: Incoming) -> list[Reply]:
        await asyncio.sleep(self.delays.get(event.text, 0))
        self.events.append(event)
        if event.text == "boom":
            raise RuntimeError("handler bug")
        return self.answer(event)

    async def mark_unreachable(self, channel: str, chat_id: str, reason: str) -> None:
        self.unreachable.append((channel, chat_id, reason))


def vk_settings(fake: FakeVk, **changes: Any) -> Vk:
    return Vk(enabled=True, group_id=fake.group_id, api_base=fake.base_url, token=SecretStr(fake.token),
              **changes)


def make_channel(fake: FakeVk, handler: Any, **changes: Any) -> VkChannel:
    return VkChannel(vk_settings(fake, **changes), handler, long_poll_wait=1, retry_delays=(0.01, 0.02),
                     reconnect_delays=(0.02,))


@asynccontextmanager
async def running(channel: VkChannel, fake: FakeVk) -> AsyncIterator[VkChannel]:
    checks = fake.longpoll_checks
    task = asyncio.create_task(channel.run())
    try:
        if channel.vk.mode == "longpoll":
            await fake.wait_polling(after=checks)
        else:
            await until(lambda: channel.callback_address is not None)
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
async def fake() -> AsyncIterator[FakeVk]:
    async with FakeVk(group_id=GROUP_ID) as server:
        yield server


def event(fake: FakeVk, build: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> Incoming:
    incoming = incoming_from_event(build(*args, **kwargs), GROUP_ID)
    assert incoming is not None
    return incoming


def keyboard_of(reply: Reply, index: int = -1) -> dict[str, Any]:
    keyboard = render_reply(reply)[index].keyboard
    assert keyboard is not None
    return json.loads(keyboard)


# --- VK event -> Incoming ---------------------------------------------------------------------


async def test_text_message_becomes_an_incoming_event_keyed_by_vk_event_id() -> None:
    fake = FakeVk(group_id=GROUP_ID)
    raw = fake.text(PEER, "Здравствуйте", lang_id=3)
    incoming = incoming_from_event(raw, GROUP_ID)
    assert incoming == Incoming(channel="vk", chat_id="1001", user_id="1001",
                                update_key=f"vk:{raw['event_id']}", text="Здравствуйте", language="en")
    # A redelivery (Callback API retry) carries the same event_id, so the same key.
    assert incoming_from_event(json.loads(json.dumps(raw)), GROUP_ID) == incoming


async def test_message_in_a_group_chat_is_a_group_event_without_the_bot_mention() -> None:
    fake = FakeVk(group_id=GROUP_ID)
    incoming = event(fake, fake.text, CHAT_PEER, f"[club{GROUP_ID}|@appeals_bot], /start", from_id=PEER)
    assert (incoming.chat_id, incoming.user_id, incoming.is_group, incoming.text) == (
        str(CHAT_PEER), str(PEER), True, "/start")


async def test_vk_start_button_is_the_start_command_and_text_button_payload_is_a_press() -> None:
    fake = FakeVk(group_id=GROUP_ID)
    start = event(fake, fake.text, PEER, "Начать", payload='{"command":"start"}')
    assert (start.text, start.payload) == ("/start", None)
    pressed = event(fake, fake.text, PEER, "Пропустить", payload='{"p":"1:skip:address"}')
    assert pressed.payload == "1:skip:address" and pressed.is_button


async def test_photo_is_referenced_with_its_access_key_and_named_by_its_largest_size() -> None:
    fake = FakeVk(group_id=GROUP_ID)
    incoming = event(fake, fake.photo, PEER, "вот фото", photo_id=42, access_key="k3y")
    assert incoming.text == "вот фото"
    assert incoming.attachments == (Attachment(kind="photo", ref=f"photo{PEER}_42_k3y", channel="vk",
                                               name="photo_960x1280.jpg", mime="image/jpeg"),)


async def test_old_photo_without_dimensions_is_ordered_by_size_letter() -> None:
    raw = {"type": "message_new", "event_id": "e1", "object": {"message": {
        "from_id": PEER, "peer_id": PEER, "text": "", "conversation_message_id": 3, "attachments": [
            {"type": "photo", "photo": {"id": 1, "owner_id": PEER, "sizes": [
                {"type": "x", "width": 0, "height": 0, "url": "u-x"},
                {"type": "z", "width": 0, "height": 0, "url": "u-z"},
                {"type": "m", "width": 0, "height": 0, "url": "u-m"}]}}]}}}
    incoming = incoming_from_event(raw)
    assert incoming is not None and incoming.attachments[0].ref == f"photo{PEER}_1"


async def test_document_name_carries_the_extension_vk_keeps_apart() -> None:
    fake = FakeVk(group_id=GROUP_ID)
    incoming = event(fake, fake.doc, PEER, title="Заявление", ext="pdf", size=48_213, doc_id=7)
    assert incoming.attachments == (Attachment(kind="document", ref=f"doc{PEER}_7", channel="vk",
                                               name="Заявление.pdf", size=48_213, mime="application/pdf"),)


async def test_geo_becomes_a_location() -> None:
    fake = FakeVk(group_id=GROUP_ID)
    assert event(fake, fake.geo, PEER, 56.13, 47.25).location == Location(56.13, 47.25)
    legacy = {"type": "message_new", "object": {"message": {
        "from_id": PEER, "peer_id": PEER, "text": "", "id": 9, "geo": {"coordinates": "56.1 47.2"}}}}
    incoming = incoming_from_event(legacy)
    assert incoming is not None and incoming.location == Location(56.1, 47.2)
    assert incoming.update_key == f"vk:m:{PEER}:9"


async def test_forwarded_messages_are_ignored_politely() -> None:
    fake = FakeVk(group_id=GROUP_ID)
    only_forwards = event(fake, fake.forwarded_only, PEER)
    assert (only_forwards.unsupported, only_forwards.text) == ("forward", "")
    with_own_text = event(fake, fake.text, PEER, "смотрите ниже",
                          fwd_messages=[{"from_id": 5, "text": "чужой текст", "attachments": []}])
    assert with_own_text.unsupported is None and with_own_text.attachments == ()
    assert with_own_text.text == "смотрите ниже"


async def test_sticker_alone_is_unsupported_but_does_not_hide_a_photo_beside_it() -> None:
    fake = FakeVk(group_id=GROUP_ID)
    assert event(fake, fake.sticker, PEER).unsupported == "sticker"
    voice = {"type": "audio_message", "audio_message": {"id": 1, "owner_id": PEER, "duration": 3}}
    assert event(fake, fake.message_new, PEER, attachments=[voice]).unsupported == "audio_message"
    photo = fake.photo(PEER)["object"]["message"]["attachments"][0]
    video = {"type": "video", "video": {"id": 2, "owner_id": PEER}}
    mixed = event(fake, fake.message_new, PEER, attachments=[photo, video])
    assert mixed.unsupported is None and [a.kind for a in mixed.attachments] == ["photo"]


async def test_callback_button_press_carries_the_neutral_payload_and_the_pressed_message() -> None:
    fake = FakeVk(group_id=GROUP_ID)
    raw = fake.press_raw(PEER, {"p": "1:sector:housing"}, conversation_message_id=12)
    incoming = incoming_from_event(raw)
    assert incoming is not None
    assert (incoming.payload, incoming.message_ref, incoming.update_key) == (
        "1:sector:housing", "12", f"vk:{raw['event_id']}")
    foreign = incoming_from_event(fake.press_raw(PEER, {"cmd": "other bot"}, conversation_message_id=12))
    assert foreign is not None and foreign.payload == ""  # still a press: the handlers call it stale


async def test_messages_of_communities_and_chat_service_messages_are_not_for_the_conversations() -> None:
    fake = FakeVk(group_id=GROUP_ID)
    assert incoming_from_event(fake.text(CHAT_PEER, "реклама", from_id=-5)) is None
    service = fake.text(CHAT_PEER, "", from_id=PEER)
    service["object"]["message"]["action"] = {"type": "chat_invite_user", "member_id": -GROUP_ID}
    assert incoming_from_event(service) is None
    assert incoming_from_event({"type": "group_join", "object": {"user_id": PEER}}) is None


# --- Reply -> VK ------------------------------------------------------------------------------


def test_buttons_become_an_inline_keyboard_of_callback_buttons_with_short_labels() -> None:
    reply = Reply(text="Выберите направление", buttons=[
        [Button("ЖКХ", "1:sector:housing"), Button("Дороги", "1:sector:roads")],
        [Button("Очень длинное название категории, которое не влезет в кнопку", "1:cat:x")]])
    keyboard = keyboard_of(reply)
    assert keyboard["inline"] is True
    first, second = keyboard["buttons"]
    assert [b["action"]["type"] for b in first] == ["callback", "callback"]
    assert json.loads(first[0]["action"]["payload"]) == {"p": "1:sector:housing"}
    label = second[0]["action"]["label"]
    assert len(label) == 40 and label.endswith("…")


def test_more_buttons_than_vk_allows_inline_go_to_further_messages() -> None:
    rows = [[Button(f"Кнопка {i}.{j}", f"1:b:{i}:{j}") for j in range(7)] for i in range(3)]  # 21 buttons
    messages = render_reply(Reply(text="Много вариантов", buttons=rows))
    keyboards = [json.loads(m.keyboard) for m in messages if m.keyboard]
    assert [m.text for m in messages] == ["Много вариантов", "…", "…"]
    for keyboard in keyboards:
        assert len(keyboard["buttons"]) <= 6 and all(len(row) <= 5 for row in keyboard["buttons"])
        assert sum(len(row) for row in keyboard["buttons"]) <= INLINE_MAX_BUTTONS
    actions = [button["action"] for k in keyboards for row in k["buttons"] for button in row]
    payloads = [json.loads(action["payload"])["p"] for action in actions]
    assert payloads == [b.payload for row in rows for b in row]  # none lost, order kept


def test_location_request_is_a_one_time_keyboard_and_phone_request_is_left_to_typing() -> None:
    location = Reply(text="Где это?", buttons=[[Button("📍 Отправить геолокацию", request="location")],
                                               [Button("Пропустить", "1:skip:address")],
                                               [Button("✖ Отмена", "1:cancel")]])
    keyboard = keyboard_of(location)
    assert (keyboard["inline"], keyboard["one_time"]) == (False, True)
    kinds = [[b["action"]["type"] for b in row] for row in keyboard["buttons"]]
    assert kinds == [["location"], ["text"], ["text"]]
    assert json.loads(keyboard["buttons"][1][0]["action"]["payload"]) == {"p": "1:skip:address"}
    phone = Reply(text="Напишите телефон", buttons=[[Button("📱 Поделиться телефоном", request="phone")],
                                                   [Button("Пропустить", "1:skip:phone")]])
    keyboard = keyboard_of(phone)
    assert keyboard["inline"] is True
    assert [b["action"]["label"] for row in keyboard["buttons"] for b in row] == ["Пропустить"]


def test_long_text_is_split_with_each_part_its_own_deterministic_random_id() -> None:
    paragraph = "Абзац с подробностями. " * 43  # 989 characters: four fit in one VK message
    text = "\n\n".join([paragraph.strip()] * 12)
    messages = render_reply(Reply(text=text, buttons=[[Button("Да", "1:yes")]]))
    assert len(messages) == 3 and all(len(m.text) <= 4096 for m in messages)
    assert "\n\n".join(m.text for m in messages) == text  # cut between paragraphs, nothing lost
    assert [m.keyboard is not None for m in messages] == [False, False, True]
    ids = {random_id_for("outbox:7"), random_id_for("outbox:7#1"), random_id_for("outbox:7#2")}
    assert len(ids) == 3 and all(0 < i < 2**31 for i in ids)
    assert random_id_for("outbox:7") == random_id_for("outbox:7")


def test_vk_files_are_attached_and_files_of_other_messengers_are_named() -> None:
    reply = Reply(text="Обращение ЦУР-2026-000001", attachments=[
        Attachment("photo", "photo1001_42_k3y", "vk"),
        Attachment("document", "BQACAgIA", "telegram", name="акт.pdf"),
        Attachment("photo", "AgACAgIA", "telegram")])
    [message] = render_reply(reply)
    assert message.attachment == "photo1001_42_k3y"
    assert message.text == "Обращение ЦУР-2026-000001\n\n📎 акт.pdf\n📎 photo"
    photos = [Attachment("photo", f"photo1_{i}", "vk") for i in range(12)]
    many = render_reply(Reply(text="", attachments=photos))
    assert [len(m.attachment.split(",")) for m in many] == [10, 2]


def test_toast_only_reply_sends_nothing_and_snackbar_is_short() -> None:
    assert render_reply(Reply(text="", toast="Принято")) == []
    data = json.loads(snackbar("я" * 200)["event_data"])
    assert data["type"] == "show_snackbar" and len(data["text"]) == 90
    assert snackbar(None) == {}


def test_vk_errors_map_to_delivery_decisions() -> None:
    from vk_api.exceptions import ApiError

    def api_error(code: int) -> ApiError:
        return ApiError(None, "messages.send", {}, False, {"error_code": code, "error_msg": "x"})

    assert isinstance(classify(api_error(9), "messages.send"), RetryLater)
    assert classify(api_error(29), "messages.send").retry_after == 60  # type: ignore[attr-defined]
    for code in (7, 901, 902):
        assert isinstance(classify(api_error(code), "messages.send"), Unreachable)
    assert type(classify(api_error(911), "messages.send")).__name__ == "DeliveryError"
    import requests
    assert isinstance(classify(requests.ConnectionError("refused"), "messages.send"), RetryLater)


# --- end to end over HTTP with the real vk-api client ------------------------------------------


async def test_long_poll_delivers_one_peer_in_order_while_other_peers_go_ahead(fake: FakeVk) -> None:
    recorder = Recorder(delays={"первое": 0.4, "второе": 0.1})
    async with running(make_channel(fake, recorder), fake):
        for text in ("первое", "второе", "третье"):
            fake.text(PEER, text)
        fake.text(OTHER_PEER, "другой")
        other = await fake.wait_messages(OTHER_PEER, 1)
        assert len(fake.messages(PEER)) == 0  # the other peer did not wait behind the slow one
        sent = await fake.wait_messages(PEER, 3)
    assert [m.text for m in sent] == ["echo: первое", "echo: второе", "echo: третье"]
    assert other[0].text == "echo: другой"
    assert [e.text for e in recorder.events if e.chat_id == str(PEER)] == ["первое", "второе", "третье"]


async def test_long_poll_recovers_from_a_broken_server_and_an_expired_key(fake: FakeVk) -> None:
    async with running(make_channel(fake, Recorder()), fake):
        fake.break_longpoll(2)
        fake.text(PEER, "раз")
        await fake.wait_messages(PEER, 1)
        fake.expire_key()
        await fake.wait_calls("groups.getLongPollServer", 2)
        fake.text(PEER, "два")
        sent = await fake.wait_messages(PEER, 2)
    assert [m.text for m in sent] == ["echo: раз", "echo: два"]


async def test_waiting_for_long_poll_leaves_the_event_loop_free(fake: FakeVk) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async with running(make_channel(fake, Recorder()), fake):
        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.4)  # the channel sits in a long-poll request meanwhile
        ticker.cancel()
    assert ticks >= 15  # a blocked loop would give none while the request waits


async def test_button_press_is_answered_with_a_snackbar_and_edits_the_pressed_message(fake: FakeVk) -> None:
    def answer(event: Incoming) -> list[Reply]:
        if event.payload == "1:sector:housing":
            return [Reply(text="Выбрано: ЖКХ", replace=True, toast="Принято")]
        return [Reply(text="Выберите направление", buttons=[[Button("ЖКХ", "1:sector:housing")]])]

    recorder = Recorder(answer)
    async with running(make_channel(fake, recorder), fake):
        fake.text(PEER, "/new")
        [menu] = await fake.wait_messages(PEER, 1)
        fake.press(PEER, "ЖКХ")
        [press_answer] = await fake.wait_calls("messages.sendMessageEventAnswer", 1)
        await fake.wait_calls("messages.edit", 1)
    assert json.loads(press_answer.params["event_data"]) == {"type": "show_snackbar", "text": "Принято"}
    assert press_answer.params["peer_id"] == str(PEER) and press_answer.params["user_id"] == str(PEER)
    assert recorder.events[-1].message_ref == str(menu.conversation_message_id)
    assert len(fake.messages(PEER)) == 1 and menu.text == "Выбрано: ЖКХ" and menu.keyboard is None


async def test_edit_that_vk_refuses_becomes_a_new_message(fake: FakeVk) -> None:
    recorder = Recorder(lambda e: [Reply(text=f"ответ на {e.payload}", buttons=[[Button("Ещё", "1:more")]],
                                         replace=e.is_button)])
    async with running(make_channel(fake, recorder), fake):
        fake.text(PEER, "привет")
        await fake.wait_messages(PEER, 1)
        fake.fail_next("messages.edit", 909)  # too old to edit
        fake.press(PEER, "Ещё")
        sent = await fake.wait_messages(PEER, 2)
    assert sent[1].text == "ответ на 1:more" and sent[0].edits == []


async def test_press_is_answered_even_when_the_handler_fails(fake: FakeVk) -> None:
    recorder = Recorder(lambda e: [Reply(text="меню", buttons=[[Button("Сломать", "1:boom")]])])

    async def failing(event: Incoming) -> list[Reply]:
        recorder.events.append(event)
        if event.is_button:
            raise RuntimeError("handler bug")
        return [Reply(text="меню", buttons=[[Button("Сломать", "1:boom")]])]

    recorder.handle = failing  # type: ignore[method-assign]
    async with running(make_channel(fake, recorder), fake):
        fake.text(PEER, "меню")
        await fake.wait_messages(PEER, 1)
        fake.press(PEER, "Сломать")
        [answer] = await fake.wait_calls("messages.sendMessageEventAnswer", 1)
        apology = await fake.wait_messages(PEER, 2)
    # The button stops spinning with a short notice, and the person is told, in their language.
    assert json.loads(answer.params["event_data"])["text"] == translator("ru")("error.toast")
    assert apology[-1].text == translator("ru")("error.internal")


async def test_retried_send_with_the_same_dedup_key_is_delivered_once(fake: FakeVk) -> None:
    channel = make_channel(fake, Recorder())
    reply = Reply(text="Ваше обращение получено ответом")
    await channel.send(str(PEER), reply, dedup_key="outbox:41")
    await channel.send(str(PEER), reply, dedup_key="outbox:41")  # the outbox lost the "sent" mark
    await channel.send(str(PEER), reply, dedup_key="outbox:42")
    sends = fake.calls_to("messages.send")
    assert len(sends) == 3 and sends[0].params["random_id"] == sends[1].params["random_id"]
    assert len(fake.messages(PEER)) == 2 and fake.duplicates == 1


async def test_too_many_requests_and_flood_control_are_waited_out_and_retried(fake: FakeVk) -> None:
    channel = make_channel(fake, Recorder())
    fake.fail_next("messages.send", 6)
    fake.fail_next("messages.send", 9)
    started = time.monotonic()
    await channel.send(str(PEER), Reply(text="Напоминание"), dedup_key="outbox:1")
    assert time.monotonic() - started >= 0.03  # waited 0.01 s, then 0.02 s
    sends = fake.calls_to("messages.send")
    assert len(sends) == 3 and len({c.params["random_id"] for c in sends}) == 1
    assert [m.text for m in fake.messages(PEER)] == ["Напоминание"]


@pytest.mark.parametrize(("code", "hint"), [(6, 1.0), (9, 10.0), (29, 60.0)])
async def test_rate_limit_that_persists_becomes_retry_later_with_a_hint(fake: FakeVk, code: int,
                                                                        hint: float) -> None:
    channel = make_channel(fake, Recorder())
    fake.fail_next("messages.send", code, times=5)
    with pytest.raises(RetryLater) as caught:
        await channel.send(str(PEER), Reply(text="Напоминание"), dedup_key="outbox:2")
    assert caught.value.retry_after == hint and str(code) in caught.value.reason
    # Bounded: one try and two retries (vk-api alone would retry error 6 forever).
    assert len(fake.calls_to("messages.send")) == 3


async def test_stop_does_not_wait_for_the_long_poll_request(fake: FakeVk) -> None:
    channel = make_channel(fake, Recorder())
    task = asyncio.create_task(channel.run())
    await fake.wait_polling()
    started = time.monotonic()
    await channel.stop()
    await task
    assert time.monotonic() - started < 0.2


async def test_bad_gateway_is_retried(fake: FakeVk) -> None:
    channel = make_channel(fake, Recorder())
    fake.fail_http("messages.send", 502)
    await channel.send(str(PEER), Reply(text="Ответ"), dedup_key="outbox:3")
    assert [m.text for m in fake.messages(PEER)] == ["Ответ"]


async def test_user_who_did_not_allow_messages_is_unreachable(fake: FakeVk) -> None:
    recorder = Recorder()
    channel = make_channel(fake, recorder)
    fake.fail_peer(PEER, 901)
    with pytest.raises(Unreachable):
        await channel.send(str(PEER), Reply(text="Ответ"), dedup_key="outbox:4")
    async with running(channel, fake):
        fake.text(PEER, "привет")
        await until(lambda: bool(recorder.unreachable))
    assert recorder.unreachable[0][:2] == ("vk", str(PEER)) and "901" in recorder.unreachable[0][2]


async def test_calls_are_paced_at_vk_limit_of_twenty_per_second(fake: FakeVk) -> None:
    channel = make_channel(fake, Recorder())
    await asyncio.gather(*(channel.send(str(PEER + i), Reply(text="x"), dedup_key=f"k{i}") for i in range(6)))
    times = sorted(call.at for call in fake.calls_to("messages.send"))
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.045


async def test_one_time_location_keyboard_is_removed_when_the_user_typed_instead(fake: FakeVk) -> None:
    def answer(event: Incoming) -> list[Reply]:
        if event.text == "адрес":
            return [Reply(text="Где это?", buttons=[[Button("📍 Геолокация", request="location")]])]
        return [Reply(text="Записали")]

    async with running(make_channel(fake, Recorder(answer)), fake):
        fake.text(PEER, "адрес")
        await fake.wait_messages(PEER, 1)
        fake.text(PEER, "ул. Ленина, 5")
        sent = await fake.wait_messages(PEER, 2)
    assert sent[0].keyboard is not None and sent[0].keyboard["buttons"][0][0]["action"]["type"] == "location"
    assert sent[1].keyboard == {"one_time": False, "inline": False, "buttons": []}


# --- Callback API mode ------------------------------------------------------------------------


async def test_callback_server_confirms_refuses_a_wrong_secret_and_handles_events(fake: FakeVk) -> None:
    recorder = Recorder()
    channel = make_channel(fake, recorder, mode="callback", callback_port=0, callback_path="/vk",
                           callback_secret=SecretStr(SECRET), confirmation="c0nf1rm")
    async with running(channel, fake), aiohttp.ClientSession() as http:
        host, port = channel.callback_address or ("", 0)
        url = f"http://{host}:{port}/vk"
        async with http.post(url, json=fake.confirmation_body(SECRET)) as response:
            assert (response.status, await response.text()) == (200, "c0nf1rm")
        forged = fake.callback_body(fake.text(PEER, "подделка"), "wrong")
        async with http.post(url, json=forged) as response:
            assert response.status == 403
        async with http.post(url, json=fake.confirmation_body("wrong")) as response:
            assert response.status == 403
        genuine = fake.callback_body(fake.text(PEER, "настоящее"), SECRET)
        async with http.post(url, json=genuine) as response:
            assert (response.status, await response.text()) == (200, "ok")
    assert [e.text for e in recorder.events] == ["настоящее"]
    assert [m.text for m in fake.messages(PEER)] == ["echo: настоящее"]


def test_callback_mode_refuses_to_start_without_a_secret(fake: FakeVk) -> None:
    with pytest.raises(ValueError, match="VK_CALLBACK_SECRET"):
        make_channel(fake, Recorder(), mode="callback", confirmation="c0nf1rm")


# --- through the real conversations -----------------------------------------------------------


class VkCitizen:
    """A VK user talking to the bot through the fake VK: each action waits until the bot is done."""

    def __init__(self, fake: FakeVk, channel: VkChannel, peer_id: int = PEER) -> None:
        self.fake, self.channel, self.peer_id = fake, channel, peer_id
        self.done = 0
        self.latest: list[str] = []

    async def _act(self, queue: Callable[[], object]) -> None:
        before = len(self.fake.messages(self.peer_id))
        edits = sum(len(m.edits) for m in self.fake.messages(self.peer_id))
        queue()
        self.done += 1
        await until(lambda: self.channel.processed >= self.done)
        messages = self.fake.messages(self.peer_id)
        was_edited = sum(len(m.edits) for m in messages) > edits
        edited = [m.text for m in messages[:before] if m.edits] if was_edited else []
        self.latest = edited + [m.text for m in messages[before:]]

    def reconnect(self, channel: VkChannel) -> None:
        self.channel, self.done = channel, 0

    @property
    def text(self) -> str:
        return "\n".join(self.latest)

    async def send(self, text: str, **fields: Any) -> None:
        await self._act(lambda: self.fake.text(self.peer_id, text, **fields))

    async def press(self, label: str) -> None:
        await self._act(lambda: self.fake.press(self.peer_id, label))

    async def photo(self) -> None:
        await self._act(lambda: self.fake.photo(self.peer_id, photo_id=42, access_key="k3y"))

    async def geo(self, latitude: float, longitude: float) -> None:
        await self._act(lambda: self.fake.geo(self.peer_id, latitude, longitude))


@asynccontextmanager
async def vk_bot(fake: FakeVk, app: App) -> AsyncIterator[VkChannel]:
    channel = make_channel(fake, app.conversations)
    async with running(channel, fake):
        yield channel


async def test_citizen_files_a_whole_appeal_in_vk(fake: FakeVk, app: App) -> None:
    async with vk_bot(fake, app) as channel:
        citizen = VkCitizen(fake, channel)
        await citizen.send("Начать", payload='{"command":"start"}')  # VK's own start button
        await citizen.press("Согласен")
        await citizen.send("Иванова Мария Петровна")
        assert "телефон" in citizen.text.lower()
        assert "Поделиться телефоном" not in json.dumps([m.keyboard for m in fake.messages(PEER)],
                                                        ensure_ascii=False)
        await citizen.send("8 (912) 345-67-89")
        await citizen.press("ЖКХ")
        await citizen.press("Отопление")
        await citizen.send(TEXT)
        await citizen.press("Готово")
        await citizen.photo()
        await citizen.press("Готово")
        location_prompt = fake.messages(PEER)[-1]
        assert location_prompt.keyboard is not None and not location_prompt.inline
        await citizen.geo(56.13, 47.25)
        assert "Проверьте обращение" in citizen.text and "+79123456789" in citizen.text
        redelivered = fake.redeliver(fake.events[-1])  # VK sends the last event again
        duplicates = fake.duplicates
        await citizen._act(lambda: redelivered)
        # Handled once; the answer is given again with the same random_id, so VK drops it as the
        # duplicate it is (had the first answer been lost, this one would arrive).
        assert citizen.latest == [] and fake.duplicates > duplicates
        await citizen.press("Отправить")
        assert "ЦУР-2026-000001" in citizen.text
    assert fake.answers and all(a["peer_id"] == str(PEER) for a in fake.answers)
    toasts = [json.loads(a["event_data"])["text"] for a in fake.answers if "event_data" in a]
    assert any("ЦУР-2026-000001" in toast for toast in toasts)
    async with app.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None
        assert (appeal.citizen_name, appeal.sector_id, appeal.category_id) == (
            "Иванова Мария Петровна", "housing", "heating")
        assert (appeal.latitude, appeal.longitude) == (56.13, 47.25)
        [photo] = (await session.scalars(select(AppealAttachment))).all()
        assert (photo.kind, photo.ref, photo.channel) == ("photo", f"photo{PEER}_42_k3y", "vk")


async def test_dialog_continues_after_a_restart_on_the_same_database(fake: FakeVk, app: App,
                                                                    settings: Settings, clock: Any) -> None:
    async with vk_bot(fake, app) as channel:
        citizen = VkCitizen(fake, channel)
        await citizen.send("/start")
        await citizen.press("Согласен")
        await citizen.send("Петров Пётр")
        await citizen.press("Пропустить")
        await citizen.press("Дороги")
    await app.close()

    restarted = await build_app(settings, clock=clock)
    try:
        async with vk_bot(fake, restarted) as channel:
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


# --- files the bot made (charts, exports, protocols) are uploaded ---------------------------------


def generated(folder: Path, name: str, size: int) -> str:
    path = folder / name
    path.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    return str(path)


def attached(message: Any) -> list[str]:
    return message.attachment.split(",") if message.attachment else []


async def test_files_the_bot_made_are_uploaded_for_the_peer_and_sent_with_the_text(fake: FakeVk,
                                                                                    tmp_path: Path) -> None:
    channel = make_channel(fake, Recorder())
    reply = Reply("Статистика за ноябрь", attachments=[
        Attachment("photo", generated(tmp_path, "a1.png", 4000), "local", name="Рейтинг министерств.png"),
        Attachment("photo", generated(tmp_path, "a2.jpg", 3000), "local", name="Сроки ответов"),
        Attachment("document", generated(tmp_path, "a3.xlsx", 9000), "local", name="Обращения за ноябрь.xlsx"),
        Attachment("document", "BQACAgIAAxkBAAI", "telegram", name="акт из Telegram.pdf")])
    sent = await channel.send(str(PEER), reply, dedup_key="stats-11")

    assert [call.method for call in fake.calls] == [
        "photos.getMessagesUploadServer", "photos.saveMessagesPhoto",
        "photos.getMessagesUploadServer", "photos.saveMessagesPhoto",
        "docs.getMessagesUploadServer", "docs.save", "messages.send"]
    assert [(u.kind, u.peer_id, u.field, u.filename, u.size) for u in fake.uploads] == [
        ("photo", PEER, "file0", "file0.png", 4000), ("photo", PEER, "file0", "file0.jpg", 3000),
        ("doc", PEER, "file", "file0.xlsx", 9000)]
    [photo_server, _, _, _, doc_server, save] = fake.calls[:-1]
    assert photo_server.params["peer_id"] == str(PEER)
    assert (doc_server.params["type"], doc_server.params["peer_id"]) == ("doc", str(PEER))
    assert save.params["title"] == "Обращения за ноябрь.xlsx"  # the name people see, not the file's on disk
    [message] = fake.messages(PEER)
    assert sent == str(message.message_id)
    assert message.text == "Статистика за ноябрь\n\n📎 акт из Telegram.pdf"  # a Telegram file is named
    refs = attached(message)
    assert [fake.saved[ref].size for ref in refs] == [4000, 3000, 9000]  # in the reply's order, one message
    assert refs[0].startswith(f"photo-{GROUP_ID}_") and len(refs[0].split("_")) == 3  # with its access key
    assert refs[2].startswith(f"doc-{GROUP_ID}_")


async def test_an_immediate_reply_uploads_a_generated_protocol_with_its_buttons(fake: FakeVk,
                                                                                tmp_path: Path) -> None:
    protocol = generated(tmp_path, "protocol_1_3.docx", 12_345)

    def protocol_reply(event: Incoming) -> list[Reply]:
        return [Reply("Протокол заседания № 3", buttons=[[Button("Подписать", "v1:sign:3")]],
                      attachments=[Attachment("document", protocol, "local", name="Протокол № 3 от 20.11.2026")])]

    async with running(make_channel(fake, Recorder(protocol_reply)), fake):
        fake.text(PEER, "/protocol 3")
        [message] = await fake.wait_messages(PEER, 1)
    [ref] = attached(message)
    assert (fake.saved[ref].filename, fake.saved[ref].size) == ("file0.docx", 12_345)
    # The title keeps the file's extension even when the display name has none (or a date that looks like one).
    assert fake.calls_to("docs.save")[0].params["title"] == "Протокол № 3 от 20.11.2026.docx"
    assert message.text == "Протокол заседания № 3" and message.inline and message.labels == ["Подписать"]

    # A later version with a new file is not an edit: the outbox sends it anew, and it is uploaded once, then.
    document = Attachment("document", protocol, "local", name="Протокол № 3 (подписан).docx")
    assert not await make_channel(fake, Recorder()).edit(str(PEER), str(message.message_id),
                                                         Reply("Протокол подписан", attachments=[document]))
    assert len(fake.uploads) == 1 and not message.edits


async def test_a_picture_vk_takes_only_as_a_document_goes_as_one_and_a_missing_file_is_named(
        fake: FakeVk, tmp_path: Path) -> None:
    channel = make_channel(fake, Recorder())
    reply = Reply("Схема и акт", attachments=[
        Attachment("photo", generated(tmp_path, "scheme.svg", 700), "local", name="Схема.svg"),
        Attachment("document", str(tmp_path / "gone.pdf"), "local", name="Акт осмотра.pdf"),
        Attachment("document", generated(tmp_path, "empty.csv", 0), "local", name="Пустая выгрузка.csv")])
    await channel.send(str(PEER), reply, dedup_key="scheme-1")
    assert [(u.kind, u.filename) for u in fake.uploads] == [("doc", "file0.svg")]
    [message] = fake.messages(PEER)
    [ref] = attached(message)
    assert ref.startswith(f"doc-{GROUP_ID}_")
    assert message.text == "Схема и акт\n\n📎 Акт осмотра.pdf\n📎 Пустая выгрузка.csv"


async def test_a_photo_vk_refuses_to_save_is_named_and_the_message_still_goes(fake: FakeVk,
                                                                              tmp_path: Path) -> None:
    channel = make_channel(fake, Recorder())
    fake.fail_next("photos.saveMessagesPhoto", 100)  # e.g. "photos_list is invalid": a broken picture
    chart = Attachment("photo", generated(tmp_path, "chart.png", 2048), "local", name="Рейтинг.png")
    await channel.send(str(PEER), Reply("Рейтинг министерств", attachments=[chart]), dedup_key="rank-1")
    assert len(fake.calls_to("photos.saveMessagesPhoto")) == 1  # a refusal is not retried
    [message] = fake.messages(PEER)
    assert (message.text, message.attachment) == ("Рейтинг министерств\n\n📎 Рейтинг.png", "")


async def test_a_failing_upload_server_is_retried_and_then_left_to_the_outbox(fake: FakeVk, tmp_path: Path) -> None:
    channel = make_channel(fake, Recorder())
    chart = Attachment("photo", generated(tmp_path, "chart.png", 2048), "local", name="Рейтинг.png")
    fake.fail_http("upload", 502)
    await channel.send(str(PEER), Reply("Рейтинг", attachments=[chart]), dedup_key="rank-2")
    [message] = fake.messages(PEER)
    assert len(attached(message)) == 1 and len(fake.calls_to("photos.getMessagesUploadServer")) == 2

    fake.fail_http("upload", 502, times=3)
    with pytest.raises(RetryLater, match=r"upload of a photo"):  # the file's name stays out of logs and the outbox
        await channel.send(str(PEER), Reply("Рейтинг", attachments=[chart]), dedup_key="rank-3")
    assert len(fake.messages(PEER)) == 1  # nothing half-sent: the outbox sends the whole reply later
