"""The VK channel: a thin translator between VK (through vk-api) and the neutral shapes.

VK event -> ``Incoming``; ``Reply`` -> ``messages.send`` / ``messages.edit``; VK errors ->
``RetryLater`` / ``Unreachable``. No dialog logic lives here. Files the bot made (charts, exports,
protocols: ``Attachment(channel="local")``) are uploaded for the peer before the message is sent.

vk-api is synchronous (requests). Every call runs in a worker thread, so the event loop is
never blocked; the long-poll request, which hangs for up to ``wait`` seconds, runs in a daemon
thread of its own so that stopping never waits for it.

References: https://dev.vk.com/ru/api/bots/getting-started (Bots Long Poll, Callback API),
https://dev.vk.com/ru/api/bots/development/keyboard (keyboards, callback buttons),
https://dev.vk.com/ru/reference/errors (error codes),
https://dev.vk.com/ru/api/upload/overview (uploading files).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import mimetypes
import os
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import requests
from aiohttp import web
from jconfig.memory import MemoryConfig
from vk_api import VkApiGroup
from vk_api.bot_longpoll import VkBotLongPoll
from vk_api.exceptions import ApiError, ApiHttpError
from vk_api.keyboard import MAX_BUTTONS_ON_LINE, MAX_DEFAULT_LINES, MAX_INLINE_LINES, VkKeyboard
from vk_api.upload import VkUpload

from bot.config import Settings, Vk
from bot.events import (
    Attachment,
    Button,
    ConversationHandler,
    DeliveryError,
    Incoming,
    Location,
    Reply,
    RetryLater,
    Unreachable,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

CHANNEL = "vk"
VK_METHOD_URL = "https://api.vk.ru/method/"  # hard-coded in vk_api.VkApi.method
CHAT_PEER_START = 2_000_000_000  # peer_id of a group chat is 2e9 + chat id
TEXT_LIMIT = 4096  # messages.send: "message" up to 4096 characters
LABEL_LIMIT = 40  # keyboard: a button label is at most 40 characters
SNACKBAR_LIMIT = 90  # sendMessageEventAnswer: show_snackbar text up to 90 characters
INLINE_MAX_BUTTONS = 10  # keyboard docs: inline 5x6 grid, at most 10 buttons
STANDARD_MAX_BUTTONS = 40  # keyboard docs: standard 5x10 grid, at most 40 buttons
ATTACHMENTS_PER_MESSAGE = 10
CONTINUATION = "…"  # VK refuses an empty message: a keyboard page of its own carries this
START_COMMAND = {"command": "start"}  # the payload of VK's own "Начать" button

# Error codes, https://dev.vk.com/ru/reference/errors. Rate limits: wait, retry, then let the
# outbox retry later (the value is its retry_after hint, seconds).
RATE_LIMITS = {6: 1.0, 9: 10.0, 29: 60.0}
TRANSIENT = {1, 10}  # unknown error, internal server error
# A person or chat we may not write to: 7 permission denied (privacy), 18 deleted or banned,
# 900 blacklisted the community, 901 did not allow messages, 902 privacy settings,
# 917 no access to the chat, 936 contact not found, 945 chat disabled, 946 chat not supported.
UNREACHABLE = {7, 18, 900, 901, 902, 917, 936, 945, 946}
# Photo sizes from smallest to largest when an old photo has no dimensions,
# https://dev.vk.com/ru/reference/objects/photo-sizes
PHOTO_SIZE_RANK = {"s": 1, "m": 2, "x": 3, "o": 3, "p": 3, "q": 3, "r": 3, "y": 4, "z": 5, "w": 6, "base": 7}
LANGUAGE_BY_LANG_ID = {0: "ru", 3: "en"}  # client_info.lang_id
LOCAL = "local"  # a file the bot made, its ref a path on this machine
# Uploads for messages (https://dev.vk.com/ru/api/upload/overview): a photo is JPG, PNG or GIF of up to
# 50 MB; anything else (or a larger picture) goes as a document, up to 200 MB.
PHOTO_FORMATS = frozenset({".jpg", ".jpeg", ".png", ".gif"})
PHOTO_UPLOAD_LIMIT = 50 * 1024 * 1024
DOCUMENT_UPLOAD_LIMIT = 200 * 1024 * 1024


# --- VK -> Incoming ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ButtonPress:
    """What ``messages.sendMessageEventAnswer`` needs to answer a callback button press."""

    event_id: str
    user_id: int
    peer_id: int


def incoming_from_event(event: Mapping[str, Any], group_id: int = 0) -> Incoming | None:
    """One Bots Long Poll / Callback API event in; None for what is not for the conversations."""
    kind = event.get("type")
    obj = event.get("object") or {}
    if kind == "message_new":
        return _from_message(event, obj.get("message") or {}, obj.get("client_info") or {}, group_id)
    if kind == "message_event":
        return _from_press(event, obj)
    return None


def button_press(event: Mapping[str, Any]) -> ButtonPress | None:
    obj = event.get("object") or {}
    if event.get("type") != "message_event" or not obj.get("event_id"):
        return None
    return ButtonPress(str(obj["event_id"]), int(obj.get("user_id", 0)), int(obj.get("peer_id", 0)))


def update_key(event: Mapping[str, Any], fallback: str) -> str:
    # Since API 5.103 every event carries event_id, the same on each redelivery (Callback API
    # retries, a long-poll replay); older shapes fall back to the message's own identity.
    event_id = event.get("event_id")
    return f"vk:{event_id}" if event_id else f"vk:{fallback}"


def _from_message(event: Mapping[str, Any], message: Mapping[str, Any], client_info: Mapping[str, Any],
                  group_id: int) -> Incoming | None:
    from_id, peer_id = int(message.get("from_id") or 0), int(message.get("peer_id") or 0)
    if from_id <= 0 or not peer_id or message.get("out") or message.get("action"):
        return None  # other communities, our own messages, chat service messages (joins, pins)
    text = _strip_mention(str(message.get("text") or ""), group_id)
    attachments, unsupported = _attachments(message.get("attachments") or [])
    location = _location(message.get("geo"))
    payload = _decode_payload(message.get("payload"))
    neutral = _neutral_payload(payload)
    if payload == START_COMMAND:
        text, neutral = "/start", None
    forwarded = bool(message.get("fwd_messages")) or bool(message.get("reply_message"))
    has_content = bool(text.strip() or attachments or location or neutral is not None)
    # Forwards are ignored politely: the own text counts, the forwarded content does not. The
    # handlers refuse a whole event marked unsupported, so mark it only when nothing usable is left.
    refused = None
    if not has_content:
        refused = unsupported[0] if unsupported else "forward" if forwarded else "empty"
    cmid = message.get("conversation_message_id")
    return Incoming(
        channel=CHANNEL, chat_id=str(peer_id), user_id=str(from_id),
        update_key=update_key(event, f"m:{peer_id}:{cmid or message.get('id')}"),
        text=text, payload=neutral, attachments=tuple(attachments), location=location, unsupported=refused,
        is_group=peer_id >= CHAT_PEER_START, language=LANGUAGE_BY_LANG_ID.get(client_info.get("lang_id", -1)),
    )


def _from_press(event: Mapping[str, Any], obj: Mapping[str, Any]) -> Incoming | None:
    peer_id, user_id = int(obj.get("peer_id") or 0), int(obj.get("user_id") or 0)
    if not peer_id or user_id <= 0:
        return None
    cmid = obj.get("conversation_message_id")
    # A press is always a button: a payload we cannot read becomes "" so the handlers treat it as stale.
    neutral = _neutral_payload(_decode_payload(obj.get("payload")))
    return Incoming(
        channel=CHANNEL, chat_id=str(peer_id), user_id=str(user_id),
        update_key=update_key(event, f"e:{obj.get('event_id')}"), payload=neutral or "",
        is_group=peer_id >= CHAT_PEER_START, message_ref=str(cmid) if cmid else None,
    )


def _strip_mention(text: str, group_id: int) -> str:
    # In a group chat a message addressed to the bot starts with "[club123|@name]".
    if not group_id:
        return text
    return re.sub(rf"^\[(?:club|public){group_id}\|[^\]]*\][\s,:]*", "", text)


def _decode_payload(raw: Any) -> Any:
    # message_new carries the button payload as a JSON string, message_event as an object.
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def _neutral_payload(payload: Any) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("p"), str):
        return str(payload["p"])
    return None


def _attachments(items: Sequence[Mapping[str, Any]]) -> tuple[list[Attachment], list[str]]:
    taken: list[Attachment] = []
    refused: list[str] = []
    for item in items:
        kind = str(item.get("type", ""))
        body = item.get(kind) or {}
        if kind == "photo":
            taken.append(_photo(body))
        elif kind == "doc":
            taken.append(_document(body))
        else:
            refused.append(kind or "unknown")  # sticker, audio_message, video, wall, link, poll...
    return taken, refused


def _media_ref(prefix: str, body: Mapping[str, Any]) -> str:
    # The form messages.send accepts in "attachment": {type}{owner_id}_{id}[_{access_key}];
    # the access key is what lets the community resend a user's private file.
    ref = f"{prefix}{body.get('owner_id')}_{body.get('id')}"
    return f"{ref}_{body['access_key']}" if body.get("access_key") else ref


def largest_photo_size(photo: Mapping[str, Any]) -> Mapping[str, Any]:
    sizes = [*photo.get("sizes", []), *([photo["orig_photo"]] if photo.get("orig_photo") else [])]

    def area(size: Mapping[str, Any]) -> tuple[int, int]:
        # Photos uploaded before 2012 report width = height = 0: the size letter orders them then.
        pixels = int(size.get("width") or 0) * int(size.get("height") or 0)
        return pixels, PHOTO_SIZE_RANK.get(size.get("type", ""), 0)

    return max(sizes, key=area, default={})


def _photo(photo: Mapping[str, Any]) -> Attachment:
    # The ref names the photo with all its sizes; VK gives no byte size for photos.
    largest = largest_photo_size(photo)
    width, height = largest.get("width"), largest.get("height")
    name = f"photo_{width}x{height}.jpg" if width and height else ""
    return Attachment(kind="photo", ref=_media_ref("photo", photo), channel=CHANNEL, name=name,
                      mime="image/jpeg")


def _document(doc: Mapping[str, Any]) -> Attachment:
    title, ext = str(doc.get("title") or "document"), str(doc.get("ext") or "")
    # VK keeps the extension apart from the title; the name must carry it (type checks look at it).
    name = title if not ext or title.lower().endswith(f".{ext.lower()}") else f"{title}.{ext}"
    size = doc.get("size")
    return Attachment(kind="document", ref=_media_ref("doc", doc), channel=CHANNEL, name=name,
                      size=int(size) if size is not None else None, mime=mimetypes.guess_type(name)[0] or "")


def _location(geo: Any) -> Location | None:
    if not isinstance(geo, Mapping):
        return None
    coordinates = geo.get("coordinates")
    try:
        if isinstance(coordinates, Mapping):
            return Location(float(coordinates["latitude"]), float(coordinates["longitude"]))
        if isinstance(coordinates, str):  # API versions before 5.x: "lat lon"
            latitude, longitude = coordinates.split()
            return Location(float(latitude), float(longitude))
    except (KeyError, TypeError, ValueError):
        return None
    return None


# --- Reply -> VK ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingMessage:
    """One messages.send: VK allows one keyboard and ten attachments per message."""

    text: str
    keyboard: str | None = None
    attachment: str = ""
    standard_keyboard: bool = False

    def send_params(self, peer_id: int, random_id: int) -> dict[str, Any]:
        # disable_mentions: a citizen's text quoted in a staff chat must not ping "@all".
        params: dict[str, Any] = {"peer_id": peer_id, "random_id": random_id, "message": self.text,
                                  "disable_mentions": 1}
        return self._with_extras(params)

    def edit_params(self, peer_id: int, conversation_message_id: int) -> dict[str, Any]:
        return self._with_extras({"peer_id": peer_id, "conversation_message_id": conversation_message_id,
                                  "message": self.text})

    def _with_extras(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.keyboard is not None:
            params["keyboard"] = self.keyboard
        if self.attachment:
            params["attachment"] = self.attachment
        return params


def random_id_for(dedup_key: str) -> int:
    """A positive 31-bit id from the dedup key: VK drops a second send with the same random_id."""
    value = int.from_bytes(hashlib.sha256(dedup_key.encode()).digest()[:4], "big") & 0x7FFFFFFF
    return value or 1  # 0 would switch VK's de-duplication off


def render_reply(reply: Reply) -> list[OutgoingMessage]:
    """Text parts, then extra attachment parts, then extra keyboard pages; empty for a toast-only reply."""
    if reply.is_toast_only:
        return []
    refs = [a.ref for a in reply.attachments if a.channel == CHANNEL]
    ref_chunks = [refs[i:i + ATTACHMENTS_PER_MESSAGE] for i in range(0, len(refs), ATTACHMENTS_PER_MESSAGE)]
    messages = [OutgoingMessage(text) for text in split_text(_text_with_foreign_files(reply))]
    if ref_chunks:
        messages[0] = replace(messages[0], attachment=",".join(ref_chunks[0]))
        messages += [OutgoingMessage("", attachment=",".join(chunk)) for chunk in ref_chunks[1:]]
    keyboards = reply_keyboards(reply)
    if keyboards:
        standard = _is_standard(keyboards[0])
        messages[-1] = replace(messages[-1], keyboard=keyboards[0], standard_keyboard=standard)
        messages += [OutgoingMessage(CONTINUATION, keyboard=page) for page in keyboards[1:]]
    return [m if m.text or m.attachment else replace(m, text=CONTINUATION) for m in messages]


def _text_with_foreign_files(reply: Reply) -> str:
    # A Telegram file_id means nothing to VK: name the files instead.
    foreign = [a for a in reply.attachments if a.channel != CHANNEL]
    if not foreign:
        return reply.text
    names = "\n".join(f"📎 {a.name or a.kind}" for a in foreign)
    return f"{reply.text}\n\n{names}" if reply.text else names


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Parts of at most ``limit`` characters, cut at a paragraph, a line or a space where possible."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    parts.append(rest)
    return parts


def _cut_point(text: str, limit: int) -> int:
    for separator in ("\n\n", "\n", " "):
        position = text.rfind(separator, limit // 2, limit)
        if position > 0:
            return position
    return limit


def label(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[:LABEL_LIMIT - 1] + "…"


def reply_keyboards(reply: Reply) -> list[str]:
    """The keyboards a reply needs, as JSON: the first goes with the text, each further one is a page.

    A location request becomes a standard one-time keyboard (VK's location button); VK has no
    phone-sharing button, so a phone request is left out and the user types the number.
    """
    rows = _fit_rows(reply.inline_buttons)
    if any(b.request == "location" for row in reply.request_buttons for b in row):
        # One message carries one keyboard: the reply's other buttons become text buttons of the
        # same one-time keyboard (any press hides it); what does not fit goes to inline pages.
        kept, rest = _take_rows(rows, MAX_DEFAULT_LINES - 1, STANDARD_MAX_BUTTONS - 1)
        return [location_keyboard(kept), *inline_keyboards(rest)]
    return inline_keyboards(rows)


def _fit_rows(rows: list[list[Button]]) -> list[list[Button]]:
    return [row[i:i + MAX_BUTTONS_ON_LINE] for row in rows for i in range(0, len(row), MAX_BUTTONS_ON_LINE)]


def _take_rows(rows: list[list[Button]], max_rows: int, max_buttons: int) -> tuple[list[list[Button]],
                                                                                   list[list[Button]]]:
    taken: list[list[Button]] = []
    count = 0
    for index, row in enumerate(rows):
        if len(taken) == max_rows or count + len(row) > max_buttons:
            return taken, rows[index:]
        taken.append(row)
        count += len(row)
    return taken, []


def inline_keyboards(rows: list[list[Button]]) -> list[str]:
    """Callback buttons in pages of at most 6 rows and 10 buttons (VK's inline limits)."""
    pages: list[str] = []
    rest = _fit_rows(rows)
    while rest:
        page, rest = _take_rows(rest, MAX_INLINE_LINES, INLINE_MAX_BUTTONS)
        keyboard = VkKeyboard(inline=True)
        _add_rows(keyboard, page, keyboard.add_callback_button)
        pages.append(keyboard.get_keyboard())
    return pages


def location_keyboard(rows: list[list[Button]]) -> str:
    keyboard = VkKeyboard(one_time=True)
    keyboard.add_location_button()
    if rows:
        keyboard.add_line()
        _add_rows(keyboard, rows, keyboard.add_button)
    return keyboard.get_keyboard()


def _add_rows(keyboard: VkKeyboard, rows: list[list[Button]], add: Callable[..., None]) -> None:
    for index, row in enumerate(rows):
        if index:
            keyboard.add_line()
        for button in row:
            add(label(button.label), payload={"p": button.payload})


def _is_standard(keyboard: str) -> bool:
    return not json.loads(keyboard).get("inline", False)


def first_toast(replies: Sequence[Reply]) -> str | None:
    return next((reply.toast for reply in replies if reply.toast), None)


def snackbar(toast: str | None) -> dict[str, Any]:
    if not toast:
        return {}
    text = toast if len(toast) <= SNACKBAR_LIMIT else toast[:SNACKBAR_LIMIT - 1] + "…"
    return {"event_data": json.dumps({"type": "show_snackbar", "text": text}, ensure_ascii=False)}


# --- files the bot made -> VK uploads ----------------------------------------------------------


UploadKind = Literal["photo", "document"]


def upload_name(file: Attachment) -> str:
    """The document title VK shows: the display name, ending in the file's own extension."""
    name, extension = file.name or Path(file.ref).name, Path(file.ref).suffix
    return name if name.lower().endswith(extension.lower()) else name + extension


def upload_kind(file: Attachment) -> UploadKind | None:
    """How a local file goes to VK, or None when it cannot (gone, empty, too big): it is named instead."""
    try:
        size = os.path.getsize(file.ref)
    except OSError:
        log.warning("local file %s is not there: named instead of sent", file.ref)
        return None
    # The file goes up under its own path, so its own extension says what it is.
    if file.kind == "photo" and 0 < size <= PHOTO_UPLOAD_LIMIT and Path(file.ref).suffix.lower() in PHOTO_FORMATS:
        return "photo"
    if 0 < size <= DOCUMENT_UPLOAD_LIMIT:
        return "document"
    log.warning("local file %s has %d bytes, VK takes 1 B to 200 MB: named instead", file.ref, size)
    return None


# --- VK errors -> delivery decisions ----------------------------------------------------------


def classify(exc: Exception, method: str) -> DeliveryError:
    if isinstance(exc, ApiError):
        message = f"{method}: VK error {exc.code}: {exc.error.get('error_msg', '')}"
        if exc.code in RATE_LIMITS:
            return RetryLater(message, retry_after=RATE_LIMITS[exc.code])
        if exc.code in TRANSIENT:
            return RetryLater(message)
        if exc.code in UNREACHABLE:
            return Unreachable(message)
        return DeliveryError(message)  # our request is wrong (100, 911 ...): retrying will not help
    return RetryLater(f"{method}: {type(exc).__name__}: {exc}")  # network, HTTP 5xx, not JSON


# --- vk-api plumbing --------------------------------------------------------------------------


class RedirectingSession(requests.Session):
    """Sends vk-api's hard-coded https://api.vk.ru/method/ to another server (a test fake, a proxy).

    vk-api accepts a ``session=``; rewriting the URL here keeps the library unpatched. It also
    puts a timeout on every request: vk-api sets none, and a hung request would hold its lock.
    """

    def __init__(self, api_base: str = "", timeout: float = 30.0) -> None:
        super().__init__()
        self.method_url = f"{api_base.rstrip('/')}/method/" if api_base else VK_METHOD_URL
        self.timeout = timeout
        self.headers["User-Agent"] = "appeals-bot (vk-api)"

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith(VK_METHOD_URL):
            url = self.method_url + url[len(VK_METHOD_URL):]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


class GroupApi(VkApiGroup):
    """A community token's session: VkApiGroup paces calls at RPS_DELAY = 1/20 s under one lock,
    VK's limit of 20 requests/s per community token.

    vk-api retries error 6 by itself, without bound (sleep 0.5 s and recurse); the channel retries
    all rate-limit errors with a bounded backoff instead, so the library's handler steps aside.
    """

    def too_many_rps_handler(self, error: ApiError) -> None:
        return None


def build_api(vk: Vk, timeout: float = 30.0) -> GroupApi:
    if vk.token is None:
        raise ValueError("vk.token: set the VK_GROUP_TOKEN environment variable (a community access key)")
    return GroupApi(token=vk.token.get_secret_value(), api_version=vk.api_version, config=MemoryConfig,
                    session=RedirectingSession(vk.api_base, timeout))


def build_uploader(api: GroupApi) -> VkUpload:
    """vk-api's upload helper on the API's own session (its redirect and timeout), not a bare one of its own."""
    uploader = VkUpload(api)
    uploader.http.close()
    uploader.http = api.http
    return uploader


def in_daemon_thread(work: Callable[[], T]) -> asyncio.Future[T]:
    """Run a blocking call in a daemon thread: the caller may stop waiting and the process may exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():  # cancelled when the caller stopped waiting
            outcome()

    def run() -> None:
        outcome: Callable[[], None]
        try:
            outcome = functools.partial(future.set_result, work())
        except BaseException as exc:  # handed to the awaiting coroutine, which decides
            outcome = functools.partial(future.set_exception, exc)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="vk-longpoll", daemon=True).start()
    return future


class PeerOrder:
    """Work for one peer runs in arrival order; different peers run side by side."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._holders: Counter[str] = Counter()

    @contextlib.asynccontextmanager
    async def hold(self, peer: str) -> AsyncIterator[None]:
        # asyncio.Lock wakes its waiters first come, first served: tasks started in event order
        # take the lock in that order.
        lock = self._locks.setdefault(peer, asyncio.Lock())
        self._holders[peer] += 1
        try:
            async with lock:
                yield
        finally:
            self._holders[peer] -= 1
            if not self._holders[peer]:
                del self._holders[peer], self._locks[peer]


# --- the channel ------------------------------------------------------------------------------


class VkChannel:
    """Bots Long Poll (default) or a Callback API server in; messages.send / messages.edit out."""

    channel = CHANNEL

    def __init__(self, settings: Settings | Vk, handler: ConversationHandler, *,
                 long_poll_wait: int = 25, retry_delays: Sequence[float] = (0.5, 1.0, 2.0),
                 reconnect_delays: Sequence[float] = (1.0, 2.0, 5.0, 10.0, 30.0),
                 max_in_flight: int = 64, request_timeout: float = 30.0) -> None:
        self.vk = settings.vk if isinstance(settings, Settings) else settings
        self.handler = handler
        _check_settings(self.vk)
        self.api = build_api(self.vk, request_timeout)
        self.uploader = build_uploader(self.api)
        self.long_poll_wait = long_poll_wait
        self.retry_delays = tuple(retry_delays)
        self.reconnect_delays = tuple(reconnect_delays) or (1.0,)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._peers = PeerOrder()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._running = False
        self._user_names: dict[int, str] = {}
        self.processed = 0  # events fully handled, replies sent: for health checks and tests
        # Peers that still see the one-time location keyboard (typing text does not hide it).
        self._standard_keyboard: set[int] = set()

    # Sender ---------------------------------------------------------------------------------

    async def send(self, chat_id: str, reply: Reply, *, dedup_key: str) -> str | None:
        """Deliver one reply; raises RetryLater or Unreachable (or DeliveryError for a bad request).

        Returns the id of the last message sent, so the outbox can edit an appeal card later."""
        return await self._deliver(int(chat_id), reply, dedup_key, edit_ref=None)

    async def edit(self, chat_id: str, message_ref: str, reply: Reply) -> bool:
        """Edit a message sent earlier by its message_id; False when VK refuses (the caller sends anew)."""
        if any(file.channel == LOCAL for file in reply.attachments):
            return False  # a new file goes in a new message: uploaded once, by send
        messages = render_reply(reply)
        if len(messages) != 1 or messages[0].standard_keyboard or not message_ref.isdigit():
            return False
        message = messages[0]
        params = message._with_extras({"peer_id": int(chat_id), "message_id": int(message_ref),
                                        "message": message.text})
        try:
            await self._call("messages.edit", params)
        except Unreachable:
            raise
        except DeliveryError as exc:
            log.info("VK edit of message %s in %s failed (%s); sending anew", message_ref, chat_id, exc)
            return False
        return True

    # running --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Receive events until ``stop()``: Bots Long Poll, or the Callback API server."""
        self._running = True
        try:
            if self.vk.mode == "callback":
                await self._serve_callback()
            else:
                await self._poll()
        finally:
            await self._finish()

    async def stop(self) -> None:
        self._stopping.set()
        if self._running:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=15)

    @property
    def callback_address(self) -> tuple[str, int] | None:
        """Where the Callback API server listens (host, port), once started."""
        if self._runner is None or not self._runner.addresses:
            return None
        host, port = self._runner.addresses[0][:2]
        return str(host), int(port)

    async def _finish(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.api.http.close()
        self._running = False
        self._stopped.set()

    # Bots Long Poll -------------------------------------------------------------------------

    async def _poll(self) -> None:
        longpoll: VkBotLongPoll | None = None
        failures = 0
        while not self._stopping.is_set():
            try:
                if longpoll is None:
                    longpoll = await self._until_stopped(in_daemon_thread(self._connect))
                    if longpoll is None:
                        return
                updates = await self._until_stopped(in_daemon_thread(longpoll.check))
            except Exception as exc:
                if isinstance(exc, ApiError):
                    longpoll = None  # the server or key is refused: ask for a new one
                delay = self.reconnect_delays[min(failures, len(self.reconnect_delays) - 1)]
                failures += 1
                log.warning("VK long poll failed (%s); retrying in %.1f s", exc, delay)
                await self._sleep(delay)
                continue
            failures = 0
            for update in updates or []:
                await self._intake(update.raw)

    def _connect(self) -> VkBotLongPoll:
        # groups.getLongPollServer: the server, key and ts to start from.
        return VkBotLongPoll(self.api, self.vk.group_id, wait=self.long_poll_wait)

    async def _until_stopped(self, future: asyncio.Future[T]) -> T | None:
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({future, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not future.done():
            future.cancel()  # the thread finishes its request on its own; its answer is dropped
            return None
        return future.result()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _intake(self, event: Mapping[str, Any]) -> None:
        await self._slots.acquire()  # back-pressure: the poll waits while too much is in flight
        task = asyncio.create_task(self._process(event))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("VK event failed", exc_info=task.exception())

    # Callback API ---------------------------------------------------------------------------

    async def _serve_callback(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.vk.callback_path, self.on_callback)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.vk.callback_host, self.vk.callback_port).start()
        log.info("VK Callback API listening on %s", self.callback_address)
        await self._stopping.wait()

    async def on_callback(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="bad request")
        if not isinstance(body, dict) or not self._authentic(body):
            log.warning("VK callback refused: wrong secret or group from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        if body.get("type") == "confirmation":
            return web.Response(text=self.vk.confirmation)
        # VK pauses a server that answers errors several times in a row: failures inside are
        # logged and still answered "ok"; a redelivery after a timeout is dropped by update_key.
        await self._process(body)
        return web.Response(text="ok")

    def _authentic(self, body: Mapping[str, Any]) -> bool:
        # VK puts the community's secret key into every request, the confirmation included.
        secret = self.vk.callback_secret.get_secret_value() if self.vk.callback_secret else ""
        sent = body.get("secret")
        return (isinstance(sent, str) and hmac.compare_digest(sent.encode(), secret.encode())
                and body.get("group_id") == self.vk.group_id)

    # one event ------------------------------------------------------------------------------

    async def _process(self, event: Mapping[str, Any]) -> None:
        try:
            await self._take(event)
        finally:
            self.processed += 1

    async def _take(self, event: Mapping[str, Any]) -> None:
        incoming = incoming_from_event(event, self.vk.group_id)
        press = button_press(event)
        if incoming is None:
            if press is not None:
                await self._answer(press, None)  # never leave a button spinning
            return
        async with self._peers.hold(incoming.chat_id):
            if incoming.location is not None or (incoming.payload is not None and press is None):
                self._standard_keyboard.discard(int(incoming.chat_id))  # VK hid the one-time keyboard
            incoming = await self._named(incoming)
            await self._converse(incoming, press)

    async def _converse(self, incoming: Incoming, press: ButtonPress | None) -> None:
        try:
            replies = await self.handler.handle(incoming)
        except Exception:
            log.exception("handler failed on %s", incoming.update_key)
            replies = []
        if press is not None:
            # Always answered, even after a failure: otherwise the button spins for a minute.
            await self._answer(press, first_toast(replies))
        await self._reply_now(incoming, replies, pressed=press is not None)

    async def _reply_now(self, incoming: Incoming, replies: Sequence[Reply], *, pressed: bool) -> None:
        edit_ref = incoming.message_ref if pressed else None
        for index, reply in enumerate(replies):
            ref = edit_ref if reply.replace else None
            edit_ref = None if ref else edit_ref  # one message is edited at most once per press
            try:
                await self._deliver(int(incoming.chat_id), reply, f"{incoming.update_key}/{index}", ref)
            except Unreachable as exc:
                await self._mark_unreachable(incoming.chat_id, exc.reason)
                return
            except DeliveryError as exc:
                # Later replies would not make sense without this one.
                log.error("reply to %s not delivered: %s", incoming.update_key, exc)
                return

    async def _mark_unreachable(self, chat_id: str, reason: str) -> None:
        try:
            await self.handler.mark_unreachable(CHANNEL, chat_id, reason)
        except Exception:
            log.exception("could not record that VK chat %s is unreachable", chat_id)

    async def _answer(self, press: ButtonPress, toast: str | None) -> None:
        params = {"event_id": press.event_id, "user_id": press.user_id, "peer_id": press.peer_id,
                  **snackbar(toast)}
        try:
            await self._call("messages.sendMessageEventAnswer", params)
        except DeliveryError as exc:
            log.warning("button press %s not answered: %s", press.event_id, exc)

    async def _named(self, incoming: Incoming) -> Incoming:
        # VK events carry no names; users.get once per user and process.
        user_id = int(incoming.user_id)
        if user_id not in self._user_names:
            try:
                found = await self._call("users.get", {"user_ids": user_id}, retry=False)
            except DeliveryError:
                return incoming
            person = found[0] if found else {}
            names = (person.get("first_name"), person.get("last_name"))
            self._user_names[user_id] = " ".join(name for name in names if name)
        return replace(incoming, user_name=self._user_names[user_id])

    # out ------------------------------------------------------------------------------------

    async def _deliver(self, peer_id: int, reply: Reply, dedup_key: str, edit_ref: str | None) -> str | None:
        reply = await self._with_uploads(peer_id, reply)
        messages = self._with_keyboard_cleared(peer_id, render_reply(reply))
        last: str | None = None
        for index, message in enumerate(messages):
            if index == 0 and edit_ref and await self._edit(peer_id, int(edit_ref), message):
                continue
            # Each part has its own id, derived from the key: a retried send repeats none of them.
            key = dedup_key if index == 0 else f"{dedup_key}#{index}"
            sent = await self._call("messages.send", message.send_params(peer_id, random_id_for(key)))
            last = str(sent) if sent is not None else last
            if message.standard_keyboard:
                self._standard_keyboard.add(peer_id)
        return last

    def _with_keyboard_cleared(self, peer_id: int, messages: list[OutgoingMessage]) -> list[OutgoingMessage]:
        # A one-time keyboard stays when the user types instead of pressing; the next message
        # without a keyboard of its own removes it (an empty standard keyboard, keyboard docs).
        if not messages or peer_id not in self._standard_keyboard or any(m.keyboard for m in messages):
            return messages
        self._standard_keyboard.discard(peer_id)
        return [*messages[:-1], replace(messages[-1], keyboard=VkKeyboard.get_empty_keyboard())]

    async def _edit(self, peer_id: int, conversation_message_id: int, message: OutgoingMessage) -> bool:
        if message.standard_keyboard:
            return False  # messages.edit takes inline keyboards only
        try:
            await self._call("messages.edit", message.edit_params(peer_id, conversation_message_id))
        except Unreachable:
            raise
        except DeliveryError as exc:
            # Too old (909), deleted, not ours: a new message says the same.
            log.info("VK edit of %s in %s failed (%s); sending anew", conversation_message_id, peer_id, exc)
            return False
        return True

    async def _with_uploads(self, peer_id: int, reply: Reply) -> Reply:
        """The reply with each file the bot made uploaded for this peer (in place, in order)."""
        if not any(file.channel == LOCAL for file in reply.attachments):
            return reply
        return replace(reply, attachments=[await self._uploaded(peer_id, file) if file.channel == LOCAL else file
                                           for file in reply.attachments])

    async def _uploaded(self, peer_id: int, file: Attachment) -> Attachment:
        kind = upload_kind(file)
        if kind is None:
            return file
        name = upload_name(file)
        if kind == "photo":
            upload = functools.partial(self._upload_photo, peer_id, file.ref)
        else:
            upload = functools.partial(self._upload_document, peer_id, file.ref, name)
        try:
            ref = await self._attempt(f"upload of a {kind}", upload)  # the file's name stays out of the log
        except (RetryLater, Unreachable):
            raise  # the outbox tries the whole message again later / records the peer
        except (DeliveryError, LookupError, TypeError, AttributeError) as exc:
            # VK refused the file itself (a broken picture, a forbidden type) or answered in a shape we do
            # not know: the message still goes, naming the file.
            log.warning("upload of a %s to VK failed (%r); named instead of sent", kind, exc)
            return file
        return Attachment(kind=kind, ref=ref, channel=CHANNEL, name=name, size=file.size, mime=file.mime)

    def _upload_photo(self, peer_id: int, path: str) -> str:
        # photos.getMessagesUploadServer -> POST the file -> photos.saveMessagesPhoto
        saved = self.uploader.photo_messages(path, peer_id=peer_id)
        return _media_ref("photo", saved[0])

    def _upload_document(self, peer_id: int, path: str, name: str) -> str:
        # docs.getMessagesUploadServer(type=doc) -> POST the file -> docs.save; the title is what people see.
        saved = self.uploader.document(path, title=name, message_peer_id=peer_id, doc_type="doc")
        return _media_ref("doc", saved["doc"])

    async def _call(self, method: str, params: dict[str, Any], *, retry: bool = True) -> Any:
        """One API call in a worker thread; rate limits and network failures retried with backoff."""
        return await self._attempt(method, functools.partial(self.api.method, method, params), retry=retry)

    async def _attempt(self, what: str, work: Callable[[], T], *, retry: bool = True) -> T:
        delays = iter(self.retry_delays if retry else ())
        while True:
            try:
                return await asyncio.to_thread(work)
            except (ApiError, ApiHttpError, requests.RequestException) as exc:
                failure = classify(exc, what)
                delay = next(delays, None) if isinstance(failure, RetryLater) else None
                if delay is None:
                    raise failure from exc
            log.warning("%s; retrying in %.1f s", failure, delay)
            await asyncio.sleep(delay)


def _check_settings(vk: Vk) -> None:
    if vk.mode != "callback":
        return
    if vk.callback_secret is None:
        raise ValueError("vk.mode = \"callback\" needs a secret key: set VK_CALLBACK_SECRET "
                         "(the community's Callback API settings, «Секретный ключ»)")
    if not vk.confirmation:
        raise ValueError("vk.confirmation: the string the Callback API server settings show "
                         "(or groups.getCallbackConfirmationCode) is required in callback mode")
