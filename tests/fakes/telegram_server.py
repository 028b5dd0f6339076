"""A fake Telegram Bot API server on 127.0.0.1 that the real aiogram client talks to over HTTP.

It serves ``/bot{token}/{method}`` the way https://core.telegram.org/bots/api describes it, well
enough for the channel: updates through getUpdates (offset confirms, short long-poll), messages with
per-chat ids and history, edits with Telegram's refusals ("message is not modified", "there is no
text in the message to edit"), and failures on demand (429 with retry_after, 403 for a blocked chat,
optional per-chat and overall rate limits). Every request is recorded in order, its form fields
decoded (JSON ones such as ``reply_markup`` parsed), so a test can assert on what the bot sent;
files uploaded in multipart/form-data (``attach://`` fields) are kept in ``uploads`` with their
name and size.

    async with FakeTelegramServer() as server:
        bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.api_base)))
        server.queue(server.make.text(42, "/start"))
        messages = await server.wait_sent(42, 1)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.files import PDF_START, ranged

TOKEN = "123456:TEST-fake-bot-token"
BOT_ID = 123456
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Обращения", "username": "appeals_test_bot"}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Form fields the client sends as JSON text, as numbers, as booleans (aiogram's prepare_value).
JSON_FIELDS = frozenset({
    "reply_markup", "media", "commands", "scope", "allowed_updates", "entities", "caption_entities",
    "link_preview_options", "reply_parameters",
})
INT_FIELDS = frozenset({
    "chat_id", "message_id", "offset", "limit", "timeout", "user_id", "cache_time", "from_chat_id",
    "max_connections", "message_thread_id",
})
BOOL_FIELDS = frozenset({"show_alert", "disable_notification", "protect_content", "drop_pending_updates"})
# What counts against the flood limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits).
SENDING = frozenset({"sendmessage", "sendphoto", "senddocument", "sendmediagroup", "copymessage",
                     "forwardmessage", "sendlocation"})
NOT_FOUND_TO_EDIT = "Bad Request: message to edit not found"


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)

    def describe(self) -> str:
        return describe(self)


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded (multipart/form-data) instead of naming a file_id: what Telegram stored."""

    method: str
    chat_id: int | str
    field: str
    filename: str
    size: int
    file_id: str


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None = None
    skip: int = 0


@dataclass
class _Stall:
    seconds: float
    deliver: bool
    skip: int = 0


class _Bucket:
    """A token bucket: ``rate`` per second, up to ``capacity`` at once."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity, self.tokens, self.stamp = rate, capacity, capacity, time.monotonic()

    def delay(self, cost: float) -> float:
        """Seconds until ``cost`` tokens are there (0: now)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return max(0.0, (cost - self.tokens) / self.rate)

    def take(self, cost: float) -> None:
        self.tokens -= cost


class UpdateFactory:
    """Builds updates shaped like Telegram's, with increasing update_id and per-chat message ids."""

    def __init__(self, first_update_id: int = 100_000) -> None:
        self._update_ids = itertools.count(first_update_id)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._chat_types: dict[int, str] = {}
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._album_ids = itertools.count(1)

    def next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids[chat_id])

    def chat(self, chat_id: int) -> dict[str, Any]:
        kind = self._chat_types.get(chat_id, "private" if chat_id > 0 else "supergroup")
        if kind == "private":
            return {"id": chat_id, "type": kind, "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}

    @staticmethod
    def user(user_id: int, first_name: str = "Иван", last_name: str | None = "Петров",
             language_code: str | None = "ru") -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if language_code:
            user["language_code"] = language_code
        return user

    def file_id(self, prefix: str = "file") -> str:
        return f"{prefix}-{next(self._file_ids)}"

    def update(self, **body: Any) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), **body}

    def message(self, chat_id: int, *, user_id: int | None = None, chat_type: str | None = None,
                user: dict[str, Any] | None = None, **content: Any) -> dict[str, Any]:
        """An update with a message from a person; a private chat's id is its user's id."""
        if chat_type is not None:
            self._chat_types[chat_id] = chat_type
        sender = user or self.user(user_id if user_id is not None else abs(chat_id))
        message = {"message_id": self.next_message_id(chat_id), "date": int(time.time()),
                   "chat": self.chat(chat_id), "from": sender, **content}
        return self.update(message=message)

    def text(self, chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
        if text[:1] != "/":
            return self.message(chat_id, text=text, **kw)
        command = {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
        return self.message(chat_id, text=text, entities=[command], **kw)

    def photo(self, chat_id: int, *, caption: str | None = None, media_group_id: str | None = None,
              file_id: str | None = None, **kw: Any) -> dict[str, Any]:
        """Three sizes, smallest first as Telegram sends them; ``file_id`` names the largest."""
        big = file_id or self.file_id("photo")
        sizes = [{"file_id": ref, "file_unique_id": f"u{ref}", "width": w, "height": h, "file_size": size}
                 for ref, w, h, size in ((f"{big}-s", 90, 67, 1200), (f"{big}-m", 320, 240, 15000),
                                         (big, 1280, 960, 180000))]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        if media_group_id:
            content["media_group_id"] = media_group_id
        return self.message(chat_id, **content, **kw)

    def album(self, chat_id: int, count: int, *, caption: str | None = None,
              **kw: Any) -> list[dict[str, Any]]:
        """The photos of one album: one update each, the same media_group_id, the caption on the first."""
        group = f"album-{next(self._album_ids)}"
        return [self.photo(chat_id, media_group_id=group, caption=caption if i == 0 else None, **kw)
                for i in range(count)]

    def document(self, chat_id: int, *, file_name: str = "scan.pdf", mime_type: str = "application/pdf",
                 file_size: int = 52_000, caption: str | None = None, **kw: Any) -> dict[str, Any]:
        file_id = self.file_id("doc")
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name,
                    "mime_type": mime_type, "file_size": file_size}
        return self.message(chat_id, document=document, **({"caption": caption} if caption else {}), **kw)

    def location(self, chat_id: int, latitude: float = 55.751244, longitude: float = 37.618423,
                 **kw: Any) -> dict[str, Any]:
        return self.message(chat_id, location={"latitude": latitude, "longitude": longitude}, **kw)

    def contact(self, chat_id: int, phone: str = "+79001234567", *, contact_user_id: int | None = None,
                **kw: Any) -> dict[str, Any]:
        """A shared contact; by default the sender's own (what a request_contact button sends)."""
        owner = contact_user_id if contact_user_id is not None else kw.get("user_id", abs(chat_id))
        contact = {"phone_number": phone, "first_name": "Иван", "user_id": owner}
        return self.message(chat_id, contact=contact, **kw)

    def sticker(self, chat_id: int, **kw: Any) -> dict[str, Any]:
        file_id = self.file_id("sticker")
        sticker = {"file_id": file_id, "file_unique_id": f"u{file_id}", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False}
        return self.message(chat_id, sticker=sticker, **kw)

    def voice(self, chat_id: int, **kw: Any) -> dict[str, Any]:
        file_id = self.file_id("voice")
        voice = {"file_id": file_id, "file_unique_id": f"u{file_id}", "duration": 3}
        return self.message(chat_id, voice=voice, **kw)

    def callback(self, chat_id: int, data: str, message: dict[str, Any], *, user_id: int | None = None,
                 user: dict[str, Any] | None = None) -> dict[str, Any]:
        """A press of an inline button under ``message`` (a message as the Bot API shows it)."""
        sender = user or self.user(user_id if user_id is not None else abs(chat_id))
        query = {"id": f"cq-{next(self._query_ids)}", "from": sender, "chat_instance": f"ci-{chat_id}",
                 "message": message, "data": data}
        return self.update(callback_query=query)

    def blocked(self, chat_id: int) -> dict[str, Any]:
        """my_chat_member: the user blocked the bot."""
        change = {"chat": self.chat(chat_id), "from": self.user(abs(chat_id)), "date": int(time.time()),
                  "old_chat_member": {"status": "member", "user": BOT_USER},
                  "new_chat_member": {"status": "kicked", "user": BOT_USER, "until_date": 0}}
        return self.update(my_chat_member=change)


class FakeTelegramServer:
    """The fake Bot API. Start with ``async with`` (or start()/stop()); point the bot at ``api_base``."""

    def __init__(self, token: str = TOKEN, *, long_poll_cap: float = 0.3) -> None:
        self.token = token
        self.long_poll_cap = long_poll_cap
        self.make = UpdateFactory()
        self.calls: list[Call] = []
        self.sent: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.commands: dict[str | None, list[dict[str, Any]]] = {}
        self.uploads: list[Upload] = []
        # file_id -> the content served at the file's URL (getFile's file_path); ``downloads``: the Range
        # header of each download, as asked ("" for the whole file).
        self.files: dict[str, bytes] = {}
        self.downloads: list[str] = []
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.confirmed_offset = 0
        self._pending: deque[dict[str, Any]] = deque()
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._chat_failures: dict[int, _Failure] = {}
        self._stalls: dict[str, deque[_Stall]] = defaultdict(deque)
        self._overall: _Bucket | None = None
        self._per_chat: dict[int, _Bucket] = {}
        self._per_chat_rate: tuple[float, float] | None = None
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "getme": self._get_me, "getupdates": self._get_updates, "sendmessage": self._send_message,
            "editmessagetext": self._edit_text, "editmessagereplymarkup": self._edit_markup,
            "answercallbackquery": self._true, "sendphoto": self._send_photo,
            "sendmediagroup": self._send_media_group, "senddocument": self._send_document,
            "setmycommands": self._set_commands, "deletemycommands": self._delete_commands,
            "deletemessage": self._delete_message, "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook, "getfile": self._get_file,
        }

    # --- life cycle ---

    async def start(self) -> FakeTelegramServer:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.*}", self._download)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- test controls ---

    def queue(self, *updates: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Make updates available to getUpdates (a list, e.g. an album, counts as its items)."""
        for item in updates:
            self._pending.extend(item if isinstance(item, list) else [item])
        asyncio.get_running_loop().create_task(self._notify())

    def press(self, chat_id: int, payload: str, *, user_id: int | None = None) -> dict[str, Any]:
        """Queue a press of the newest button with ``payload`` the bot showed in ``chat_id``."""
        update = self.button_update(chat_id, payload=payload, user_id=user_id)
        self.queue(update)
        return update

    def button_update(self, chat_id: int, *, payload: str | None = None, label: str | None = None,
                      user_id: int | None = None, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """The callback update for the newest inline button shown in ``chat_id`` with this payload, or
        whose label contains ``label`` (case-insensitive). Not queued: for a webhook, or to queue twice.
        ``user`` (or ``user_id``) is who presses: in a group, anyone of its members."""
        for message in reversed(self.sent[chat_id]):
            if message.get("deleted"):
                continue
            for button in _inline_buttons(message):
                if (payload is not None and button.get("callback_data") == payload) or (
                        label is not None and label.casefold() in button.get("text", "").casefold()):
                    return self.make.callback(chat_id, button["callback_data"], self._public(message),
                                              user_id=user_id, user=user)
        shown = [b.get("text") for m in self.sent[chat_id] for b in _inline_buttons(m)]
        raise AssertionError(f"no button {payload or label!r} in chat {chat_id}; buttons shown: {shown}")

    def callback_on(self, chat_id: int, data: str, *, message_id: int | None = None,
                    user: dict[str, Any] | None = None) -> dict[str, Any]:
        """A callback with any ``data`` on a message the bot sent in ``chat_id`` (the newest by default),
        whatever its buttons say: what a modified client can send, or an old client that still shows
        a button the bot has since taken away. Not queued."""
        shown = [m for m in self.sent[chat_id] if not m.get("deleted")
                 and (message_id is None or m["message_id"] == message_id)]
        if not shown:
            raise AssertionError(f"no message {message_id or ''} of the bot in chat {chat_id}")
        return self.make.callback(chat_id, data, self._public(shown[-1]), user=user)

    def document(self, chat_id: int, content: bytes, **kw: Any) -> dict[str, Any]:
        """A message with a document (``UpdateFactory.document``) whose file holds ``content``."""
        update = self.make.document(chat_id, **kw)
        self.files[update["message"]["document"]["file_id"]] = content
        return update

    def fail_next(self, method: str, status: int = 429, *, retry_after: int | None = None,
                  description: str | None = None, skip: int = 0) -> None:
        """The next call of ``method`` (after ``skip`` calls that pass) fails; call again to fail several."""
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or _default_description(status, retry_after)
        self._failures[method.lower()].append(_Failure(status, text, retry_after, skip))

    def fail_chat(self, chat_id: int, status: int = 403,
                  description: str = "Forbidden: bot was blocked by the user") -> None:
        """Every call aimed at ``chat_id`` fails until heal_chat()."""
        self._chat_failures[chat_id] = _Failure(status, description)

    def heal_chat(self, chat_id: int) -> None:
        self._chat_failures.pop(chat_id, None)

    def stall_next(self, method: str, seconds: float, *, deliver: bool = True, skip: int = 0) -> None:
        """The next call of ``method`` (after ``skip`` calls that pass) is answered only after ``seconds``, so a
        client with a shorter timeout gives up first. With ``deliver`` the call then takes effect all the same
        (Telegram got it and the client cannot know: a retry repeats the message); without, it was lost on the
        way (answered 504, no effect)."""
        self._stalls[method.lower()].append(_Stall(seconds, deliver, skip))

    def limit_rate(self, overall: float = 30.0, per_chat: float = 1.0, per_chat_burst: float = 1.0) -> None:
        """Answer 429 with retry_after beyond ``overall`` messages/s and ``per_chat`` messages/s per chat."""
        self._overall = _Bucket(overall, overall)
        self._per_chat_rate = (per_chat, per_chat_burst)
        self._per_chat.clear()

    async def wait_sent(self, chat_id: int, count: int, within: float = 5.0) -> list[dict[str, Any]]:
        """The bot's messages in ``chat_id`` once there are at least ``count``."""
        await self._wait(lambda: len(self.sent[chat_id]) >= count, within,
                         lambda: f"{count} messages in chat {chat_id}, got {self.sent[chat_id]}")
        return list(self.sent[chat_id])

    async def wait_calls(self, method: str, count: int = 1, within: float = 5.0) -> list[Call]:
        await self._wait(lambda: len(self.calls_of(method)) >= count, within,
                         lambda: f"{count} calls of {method}, got {self.transcript()}")
        return self.calls_of(method)

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def transcript(self, skip: tuple[str, ...] = ("getUpdates",)) -> list[str]:
        """One line per request, for reading a test's conversation with Telegram."""
        lowered = {name.lower() for name in skip}
        return [describe(call) for call in self.calls if call.method.lower() not in lowered]

    def texts(self, chat_id: int) -> list[str]:
        """What the user sees in the chat now: texts of the bot's messages not deleted (files as "")."""
        return [m.get("text") or m.get("caption") or "" for m in self.sent[chat_id] if not m.get("deleted")]

    async def post_to_webhook(self, update: dict[str, Any], secret: str | bool | None = True) -> int:
        """Deliver ``update`` like Telegram: POST to the registered URL with the registered secret
        (``secret=True``), another secret, or none (``None``). Returns the HTTP status."""
        headers = {}
        token = self.webhook_secret if secret is True else secret
        if isinstance(token, str):
            headers[SECRET_HEADER] = token
        async with aiohttp.ClientSession() as session, session.post(
            self.webhook_url, json=update, headers=headers
        ) as response:
            return response.status

    # --- HTTP ---

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        call = Call(method, params)
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            name = method.lower()
            await self._stall(name)
            self._check_failures(name, params)
            self._check_rate(name, params)
            handler = self._methods.get(name, self._true)  # unknown methods: recorded, answered True
            result = await handler(params)
        except ApiError as exc:
            call.status = exc.status
            await self._notify()
            return _error(exc)
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        self.downloads.append(request.headers.get("Range", ""))
        content = self.files.get(request.match_info["path"].removeprefix("files/"), PDF_START)
        return ranged(request, content)

    def _check_failures(self, name: str, params: dict[str, Any]) -> None:
        queued = self._failures.get(name)
        failure = self._chat_failures.get(params.get("chat_id"))  # type: ignore[arg-type]
        if queued and queued[0].skip > 0:
            queued[0].skip -= 1
        elif queued:
            failure = queued.popleft()
        if failure is not None:
            raise ApiError(failure.status, failure.description, failure.retry_after)

    async def _stall(self, name: str) -> None:
        queued = self._stalls.get(name)
        if not queued:
            return
        if queued[0].skip > 0:
            queued[0].skip -= 1
            return
        stall = queued.popleft()
        await asyncio.sleep(stall.seconds)
        if not stall.deliver:
            raise ApiError(504, "Gateway Timeout")

    def _check_rate(self, name: str, params: dict[str, Any]) -> None:
        if self._overall is None or self._per_chat_rate is None or name not in SENDING:
            return
        cost = len(params.get("media") or []) or 1  # an album is as many messages as it has items
        chat_id = params.get("chat_id")
        rate, burst = self._per_chat_rate
        bucket = self._per_chat.setdefault(chat_id, _Bucket(rate, burst))  # type: ignore[arg-type]
        wait = max(bucket.delay(cost), self._overall.delay(cost))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        bucket.take(cost)
        self._overall.take(cost)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait(self, ready: Callable[[], bool], within: float, explain: Callable[[], str]) -> None:
        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(ready)
        except TimeoutError:
            raise AssertionError(f"timed out after {within} s waiting for {explain()}") from None

    # --- methods ---

    async def _true(self, _: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, _: dict[str, Any]) -> dict[str, Any]:
        return {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = params.get("offset")
        if offset is not None:  # "all updates with update_id below offset are confirmed" (getUpdates)
            self.confirmed_offset = max(self.confirmed_offset, offset)
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        wait = min(float(params.get("timeout") or 0), self.long_poll_cap)
        if not self._pending and wait > 0:
            try:
                async with asyncio.timeout(wait), self._changed:
                    await self._changed.wait_for(lambda: bool(self._pending))
            except TimeoutError:
                pass
        return list(itertools.islice(self._pending, int(params.get("limit") or 100)))

    def _new_message(self, params: dict[str, Any], method: str, **content: Any) -> dict[str, Any]:
        chat_id = params["chat_id"]
        message = {"message_id": self.make.next_message_id(chat_id), "chat_id": chat_id, "method": method,
                   "reply_markup": params.get("reply_markup"), "edited": 0, **content}
        self.sent[chat_id].append(message)
        return message

    def _public(self, message: dict[str, Any]) -> dict[str, Any]:
        """A sent message as the Bot API shows it (only inline keyboards come back in reply_markup)."""
        shown = {"message_id": message["message_id"], "date": int(time.time()),
                 "chat": self.make.chat(message["chat_id"]), "from": BOT_USER}
        for key in ("text", "caption", "media_group_id"):
            if message.get(key):
                shown[key] = message[key]
        if message.get("photo"):
            shown["photo"] = [{"file_id": message["photo"], "file_unique_id": f"u{message['photo']}",
                               "width": 1280, "height": 960}]
        if message.get("document"):
            shown["document"] = {"file_id": message["document"], "file_unique_id": f"u{message['document']}"}
            if message.get("file_name"):
                shown["document"]["file_name"] = message["file_name"]
        markup = message.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            shown["reply_markup"] = markup
        if message.get("edited"):
            shown["edit_date"] = int(time.time())
        return shown

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text", "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._public(self._new_message(params, "sendMessage", text=text))

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        photo, name = self._file(params, "sendPhoto", "photo", params.get("photo"))
        return self._public(self._new_message(params, "sendPhoto", photo=photo, file_name=name,
                                              caption=params.get("caption")))

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        document, name = self._file(params, "sendDocument", "document", params.get("document"))
        return self._public(self._new_message(params, "sendDocument", document=document, file_name=name,
                                              caption=params.get("caption")))

    async def _send_media_group(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        media = params.get("media") or []
        if not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the album (2-10)")
        group = f"sent-{self.make.file_id('group')}"
        sent = []
        for item in media:
            key = "photo" if item["type"] == "photo" else "document"
            ref, name = self._file(params, "sendMediaGroup", key, item.get("media"))
            message = self._new_message({**params, "reply_markup": None}, "sendMediaGroup",
                                        media_group_id=group, caption=item.get("caption"), file_name=name,
                                        **{key: ref})
            sent.append(self._public(message))
        return sent

    def _file(self, params: dict[str, Any], method: str, kind: str, value: Any) -> tuple[str, str | None]:
        """A file_id as given, or the upload an ``attach://<field>`` names: recorded, and given a file_id
        of its own as Telegram does (https://core.telegram.org/bots/api#sending-files)."""
        if not isinstance(value, str) or not value:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        if not value.startswith("attach://"):
            return value, None
        upload = params.get(value.removeprefix("attach://"))
        if not isinstance(upload, dict):
            raise ApiError(400, f"Bad Request: wrong file identifier/HTTP URL specified ({value})")
        if upload["size"] == 0:
            raise ApiError(400, "Bad Request: file must be non-empty")
        file_id = self.make.file_id(f"uploaded-{kind}")
        self.uploads.append(Upload(method, params["chat_id"], value.removeprefix("attach://"), upload["filename"],
                                   upload["size"], file_id))
        return file_id, upload["filename"]

    def _find(self, params: dict[str, Any], missing: str = NOT_FOUND_TO_EDIT) -> dict[str, Any]:
        message_id = params.get("message_id")
        for message in self.sent.get(params.get("chat_id"), []):  # type: ignore[arg-type]
            if message["message_id"] == message_id and not message.get("deleted"):
                return message
        raise ApiError(400, missing)

    async def _edit_text(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        if not message.get("text"):
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        markup = params.get("reply_markup")
        if message["text"] == params.get("text") and message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                "reply markup are exactly the same as a current content and reply markup "
                                "of the message")
        # An edit without reply_markup drops the inline keyboard, as Telegram does.
        message.update(text=params.get("text"), reply_markup=markup, edited=message["edited"] + 1)
        return self._public(message)

    async def _edit_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        markup = params.get("reply_markup")
        if message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.update(reply_markup=markup, edited=message["edited"] + 1)
        return self._public(message)

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        message = self._find(params, "Bad Request: message to delete not found")
        message["deleted"] = True
        return True

    async def _set_commands(self, params: dict[str, Any]) -> bool:
        self.commands[params.get("language_code")] = params.get("commands") or []
        return True

    async def _delete_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(params.get("language_code"), None)
        return True

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = params.get("url", "")
        self.webhook_secret = params.get("secret_token")
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url, self.webhook_secret = "", None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params.get("file_id", "")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": 1024,
                "file_path": f"files/{file_id}"}


async def _read_params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = {"filename": value.filename, "size": len(value.file.read())}
        else:
            params[key] = _decode(key, str(value))
    return params


def _decode(key: str, value: str) -> Any:
    if key in JSON_FIELDS:
        return json.loads(value)
    if key in INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value  # "@channelname"
    if key in BOOL_FIELDS:
        return value == "true"
    return value


def _default_description(status: int, retry_after: int | None) -> str:
    return {
        429: f"Too Many Requests: retry after {retry_after}",
        403: "Forbidden: bot was blocked by the user",
        400: "Bad Request: chat not found",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(status, f"Error {status}")


def _error(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.status, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": exc.retry_after}
    return web.json_response(body, status=exc.status)


def describe(call: Call) -> str:
    """``sendMessage chat=42 text='Hello' inline=[['yes:1', 'no:1']]`` and the like."""
    p = call.params
    parts = [call.method]
    for key, label in (("chat_id", "chat"), ("message_id", "msg"), ("callback_query_id", "query"),
                       ("offset", "offset"), ("language_code", "lang"), ("url", "url")):
        if key in p:
            parts.append(f"{label}={p[key]}")
    if "text" in p:
        text = p["text"]
        parts.append(f"text={text[:60]!r}{'…' if len(text) > 60 else ''}({len(text)})")
    for key in ("photo", "document"):
        if key in p:
            parts.append(f"{key}={_shown_file(p, p[key])}")
    if "media" in p:
        parts.append(f"media={[_shown_file(p, item['media']) for item in p['media']]}")
    if "commands" in p:
        parts.append(f"commands={[c['command'] for c in p['commands']]}")
    if "secret_token" in p:
        parts.append("secret=***")
    parts += _describe_markup(p.get("reply_markup"))
    if call.status != 200:
        parts.append(f"-> {call.status}")
    return " ".join(parts)


def _shown_file(params: dict[str, Any], value: Any) -> str:
    """A file_id as it is, an upload as ``upload:<file name>``."""
    if isinstance(value, str) and value.startswith("attach://"):
        upload = params.get(value.removeprefix("attach://"))
        if isinstance(upload, dict):
            return f"upload:{upload['filename']}"
    return str(value)


def _inline_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def _request_mark(button: dict[str, Any]) -> str:
    if button.get("request_contact"):
        return "contact:"
    return "location:" if button.get("request_location") else ""


def _describe_markup(markup: Any) -> list[str]:
    if not isinstance(markup, dict):
        return []
    if "inline_keyboard" in markup:
        return [f"inline={[[b.get('callback_data') for b in row] for row in markup['inline_keyboard']]}"]
    if "keyboard" in markup:
        labels = [[_request_mark(b) + b["text"] for b in row] for row in markup["keyboard"]]
        return [f"keyboard={labels}"]
    if markup.get("remove_keyboard"):
        return ["remove_keyboard"]
    return [f"markup={markup}"]
