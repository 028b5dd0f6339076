"""A fake MAX Bot API on 127.0.0.1 that the MAX channel talks to over real HTTP.

Shapes follow the official OpenAPI schema (dev.max.ru; /work/shared/LIBRARIES.md "MAX Bot API"):
the token in the ``Authorization`` header (401 otherwise), errors as JSON ``{code, message}``,
messages with a string ``mid`` and a numeric ``seq``. It enforces what MAX refuses: a text over
4,000 characters, more than 7 buttons in a row (3 for link / request_contact /
request_geo_location), more than 30 rows, a payload over 1,024 or a button text over 128
characters, an ``/answers`` call without a notification or message, more than 30 requests in a
second (429). Uploads: ``POST /uploads?type=image|file`` hands out a URL on this server; the
multipart POST there returns the token; the first message that uses a fresh token is refused
with ``attachment.not.ready``, as MAX does while it processes the file.

Test controls: inject updates (text, contact with a signed vCard, location, image, file, button
press, bot_started, bot_stopped), ``block`` a chat (403 "chat.denied"), ``fail_next``,
``throttle`` (a lower requests/s limit), recorded calls and uploads, ``wait_messages`` /
``wait_calls``; ``push_webhook`` POSTs the queued updates to a subscribed webhook with the
``X-Max-Bot-Api-Secret`` header.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import secrets
import time
import urllib.parse
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.files import PDF_START, ranged

TEXT_LIMIT = 4000
ROWS_LIMIT = 30
ROW_LIMIT = 7
WIDE_ROW_LIMIT = 3  # link, request_contact, request_geo_location
WIDE_BUTTONS = {"link", "request_contact", "request_geo_location"}
PAYLOAD_LIMIT = 1024
BUTTON_TEXT_LIMIT = 128
BUTTON_TYPES = {"callback", "link", "request_contact", "request_geo_location", "message", "open_app"}


class MaxFailure(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


@dataclass
class Upload:
    kind: str  # "image" or "file": the type /uploads was asked for
    filename: str
    size: int
    token: str
    used: bool = False  # the first message with a fresh token gets attachment.not.ready


@dataclass
class SentMessage:
    """A message the bot delivered (edits applied in place; earlier versions kept in ``edits``)."""

    chat_id: int
    mid: str
    seq: int
    text: str
    attachments: list[dict[str, Any]]
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def keyboard(self) -> list[list[dict[str, Any]]]:
        for attachment in self.attachments:
            if attachment.get("type") == "inline_keyboard":
                return list(attachment["payload"]["buttons"])
        return []

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [button for row in self.keyboard for button in row]

    @property
    def labels(self) -> list[str]:
        return [button["text"] for button in self.buttons]

    @property
    def files(self) -> list[dict[str, Any]]:
        return [a for a in self.attachments if a.get("type") in ("image", "file")]


class FakeMax:
    def __init__(self, token: str = "max-test-token", *, username: str = "appeals_region_bot",
                 user_id: int = 900_001, max_wait: float = 0.5, per_second: int = 30) -> None:
        self.token = token
        self.username = username
        self.bot_id = user_id
        self.max_wait = max_wait
        self.per_second = per_second
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.sent: list[SentMessage] = []
        self.answers: list[dict[str, Any]] = []
        self.uploads: list[Upload] = []
        self.files: dict[str, bytes] = {}  # the id of a file a user sent -> what its URL serves
        self.downloads: list[str] = []  # the Range header of each download of such a file ("" for all of it)
        self.subscriptions: list[dict[str, Any]] = []
        self.webhook_answers: list[int] = []  # HTTP statuses our webhook answered push_webhook with
        self.polls: list[dict[str, str]] = []  # the query of every GET /updates
        self.names: dict[int, tuple[str, str]] = {}
        self._blocked: dict[int, tuple[int, str]] = {}
        self._failures: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self._recent: deque[float] = deque()
        self._mids = itertools.count(1)
        self._seq = itertools.count(114_000_000_000)  # seq needs a bigint
        self._callbacks = itertools.count(1)
        self._changed = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    # server -----------------------------------------------------------------------------

    async def start(self) -> FakeMax:
        app = web.Application()
        app.router.add_get("/me", self._api("me"))
        app.router.add_get("/updates", self._api("updates"))
        app.router.add_route("*", "/subscriptions", self._api("subscriptions"))
        app.router.add_route("*", "/messages", self._api("messages"))
        app.router.add_post("/answers", self._api("answers"))
        app.router.add_post("/uploads", self._api("uploads"))
        app.router.add_post("/upload/{kind}", self._upload)
        app.router.add_get("/f/{file_id}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        self._closing = True
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeMax:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # test controls: failures ------------------------------------------------------------

    def block(self, chat_id: int) -> None:
        """The user stopped and blocked the bot: every send to the chat is refused."""
        self._blocked[chat_id] = (403, "chat.denied")

    def fail_next(self, method: str, status: int = 503, code: str = "service.unavailable", times: int = 1) -> None:
        """``method`` is e.g. "POST /messages"."""
        self._failures[method].extend([(status, code)] * times)

    # test controls: what the bot did ----------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def messages(self, chat_id: int) -> list[SentMessage]:
        return [message for message in self.sent if message.chat_id == chat_id]

    async def wait_messages(self, chat_id: int, count: int, within: float = 5.0) -> list[SentMessage]:
        await self._wait_for(lambda: len(self.messages(chat_id)) >= count, within,
                             lambda: f"{count} messages to {chat_id}, got {[m.text for m in self.messages(chat_id)]}")
        return self.messages(chat_id)

    async def wait_calls(self, method: str, count: int, within: float = 5.0) -> list[Call]:
        await self._wait_for(lambda: len(self.calls_to(method)) >= count, within,
                             lambda: f"{count} calls of {method}, got {len(self.calls_to(method))}")
        return self.calls_to(method)

    async def wait_polling(self, after: int = 0, within: float = 5.0) -> None:
        await self._wait_for(lambda: len(self.polls) > after, within, lambda: "a long-poll request")

    async def _wait_for(self, ready: Any, within: float, describe: Any) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), within)
            except TimeoutError:
                raise AssertionError(f"timed out waiting for {describe()}") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # test controls: updates -------------------------------------------------------------

    def user(self, user_id: int) -> dict[str, Any]:
        first, last = self.names.get(user_id, ("Пользователь", str(user_id)))
        return {"user_id": user_id, "first_name": first, "last_name": last, "name": f"{first} {last}",
                "is_bot": False, "last_activity_time": int(time.time() * 1000)}

    def queue(self, update: dict[str, Any]) -> dict[str, Any]:
        self.updates.append(update)
        asyncio.get_running_loop().create_task(self._notify())
        return update

    def message_created(self, chat_id: int, text: str = "", *, user_id: int | None = None,
                        attachments: list[dict[str, Any]] | None = None, chat_type: str | None = None,
                        locale: str = "ru") -> dict[str, Any]:
        user_id = user_id or chat_id
        chat_type = chat_type or ("chat" if chat_id < 0 else "dialog")  # group chats have negative ids
        body = {"mid": f"mid.{secrets.token_hex(8)}", "seq": next(self._seq), "text": text or None,
                "attachments": attachments or None}
        message = {"sender": self.user(user_id), "timestamp": int(time.time() * 1000),
                   "recipient": {"chat_id": chat_id, "chat_type": chat_type,
                                 "user_id": self.bot_id if chat_type == "dialog" else None},
                   "body": body}
        return self.queue({"update_type": "message_created", "timestamp": message["timestamp"],
                           "message": message, "user_locale": locale})

    def text(self, chat_id: int, text: str, **fields: Any) -> dict[str, Any]:
        return self.message_created(chat_id, text, **fields)

    def contact(self, chat_id: int, phone: str, *, user_id: int | None = None, signed_with: str | None = None,
                name: str = "Иван Петров") -> dict[str, Any]:
        """A shared contact: a vCard and its HMAC-SHA256 with the bot token (``signed_with`` forges it)."""
        vcf = f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{name}\r\nTEL;TYPE=cell:{phone}\r\nEND:VCARD\r\n"
        key = (signed_with if signed_with is not None else self.token).encode()
        digest = hmac.new(key, vcf.encode(), hashlib.sha256).hexdigest()
        owner = self.user(user_id or chat_id)
        attachment = {"type": "contact", "payload": {"vcf_info": vcf, "hash": digest, "max_info": owner}}
        return self.message_created(chat_id, attachments=[attachment], user_id=user_id)

    def location(self, chat_id: int, latitude: float, longitude: float) -> dict[str, Any]:
        return self.message_created(chat_id, attachments=[{"type": "location", "latitude": latitude,
                                                          "longitude": longitude}])

    def image(self, chat_id: int, caption: str = "", *, photo_id: int = 5_551_001) -> dict[str, Any]:
        payload = {"photo_id": photo_id, "token": f"img-{secrets.token_hex(6)}",
                   "url": f"https://i.oneme.ru/i?r={photo_id}"}
        # A received file's token can be sent on at once (it is processed already).
        self.uploads.append(Upload("image", f"{photo_id}.jpg", 0, payload["token"], used=True))
        return self.message_created(chat_id, caption, attachments=[{"type": "image", "payload": payload}])

    def file(self, chat_id: int, filename: str = "Заявление.pdf", size: int = 48_213,
             content: bytes = PDF_START) -> dict[str, Any]:
        file_id = f"{7_001 + len(self.files)}"
        self.files[file_id] = content
        payload = {"fileId": int(file_id), "token": f"file-{secrets.token_hex(6)}",
                   "url": f"{self.base_url}/f/{file_id}?sig=fake"}
        self.uploads.append(Upload("file", filename, size, payload["token"], used=True))
        return self.message_created(chat_id, attachments=[{"type": "file", "payload": payload,
                                                          "filename": filename, "size": size}])

    def sticker(self, chat_id: int) -> dict[str, Any]:
        return self.message_created(chat_id, attachments=[{"type": "sticker", "payload": {
            "url": "https://i.oneme.ru/s/1", "code": "s1"}, "width": 128, "height": 128}])

    def bot_started(self, chat_id: int, payload: str | None = None, *, user_id: int | None = None,
                    locale: str = "ru") -> dict[str, Any]:
        return self.queue({"update_type": "bot_started", "timestamp": int(time.time() * 1000), "chat_id": chat_id,
                           "user": self.user(user_id or chat_id), "payload": payload, "user_locale": locale})

    def bot_stopped(self, chat_id: int, *, user_id: int | None = None) -> dict[str, Any]:
        return self.queue({"update_type": "bot_stopped", "timestamp": int(time.time() * 1000), "chat_id": chat_id,
                           "user": self.user(user_id or chat_id)})

    def press(self, chat_id: int, label: str | None = None, *, payload: str | None = None,
              user_id: int | None = None) -> dict[str, Any]:
        """Press a callback button the bot showed in ``chat_id`` (the latest whose text contains ``label``)."""
        for message in reversed(self.messages(chat_id)):
            for button in message.buttons:
                if button["type"] != "callback":
                    continue
                if (label is not None and label.casefold() in button["text"].casefold()) or (
                        payload is not None and button.get("payload") == payload):
                    return self.press_raw(chat_id, button["payload"], message, user_id=user_id)
        shown = [m.labels for m in self.messages(chat_id)[-3:]]
        raise AssertionError(f"no button {label or payload!r} in {chat_id}; the latest keyboards: {shown}")

    def press_raw(self, chat_id: int, payload: str, message: SentMessage | None,
                  user_id: int | None = None) -> dict[str, Any]:
        presser = self.user(user_id or chat_id)
        callback_id = f"cb.{next(self._callbacks)}.{secrets.token_hex(4)}"
        callback = {"timestamp": int(time.time() * 1000), "callback_id": callback_id, "payload": payload,
                    "user": presser}
        shown = None
        if message is not None:
            shown = {"sender": {"user_id": self.bot_id, "name": "bot", "is_bot": True},
                     "recipient": {"chat_id": chat_id, "chat_type": "chat" if chat_id < 0 else "dialog"},
                     "timestamp": callback["timestamp"],
                     "body": {"mid": message.mid, "seq": message.seq, "text": message.text,
                              "attachments": message.attachments}}
        return self.queue({"update_type": "message_callback", "timestamp": callback["timestamp"],
                           "callback": callback, "message": shown, "user_locale": "ru"})

    async def push_webhook(self, url: str, secret: str | None = None) -> list[int]:
        """POST every queued update to ``url`` (where the TLS proxy would pass the subscribed address on)
        with the subscription's secret, as MAX does; ``secret`` sends another one instead."""
        statuses: list[int] = []
        async with aiohttp.ClientSession() as session:
            for subscription in self.subscriptions:
                sent_secret = subscription.get("secret") if secret is None else secret
                headers = {"X-Max-Bot-Api-Secret": sent_secret} if sent_secret else {}
                for update in self.updates:
                    async with session.post(url, json=update, headers=headers) as response:
                        statuses.append(response.status)
        self.updates.clear()
        self.webhook_answers.extend(statuses)
        return statuses

    # HTTP -------------------------------------------------------------------------------

    def _api(self, name: str) -> Any:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            method = f"{request.method} /{name}"
            body: Any = None
            if request.can_read_body:
                try:
                    body = await request.json()
                except ValueError:
                    body = None
            self.calls.append(Call(method, request.path, dict(request.query), body))
            await self._notify()
            try:
                if request.headers.get("Authorization") != self.token:
                    raise MaxFailure(401, "verify.token", "Invalid access_token")
                self._count_request()
                if self._failures[method]:
                    status, code = self._failures[method].pop(0)
                    raise MaxFailure(status, code, code)
                handler = getattr(self, "_" + name)
                result = await handler(request, body)
            except MaxFailure as failure:
                return web.json_response({"code": failure.code, "message": failure.message}, status=failure.status)
            await self._notify()
            return web.json_response(result)
        return endpoint

    def _count_request(self) -> None:
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.per_second:
            raise MaxFailure(429, "too.many.requests", "Too many requests")
        self._recent.append(now)

    async def _me(self, request: web.Request, body: Any) -> dict[str, Any]:
        return {"user_id": self.bot_id, "first_name": "Обращения", "name": "Обращения", "username": self.username,
                "is_bot": True, "last_activity_time": int(time.time() * 1000)}

    async def _updates(self, request: web.Request, body: Any) -> dict[str, Any]:
        query = dict(request.query)
        self.polls.append(query)
        limit = min(int(query.get("limit") or 100), 1000)
        timeout = min(float(query.get("timeout") or 30), 90)
        marker = int(query["marker"]) if query.get("marker") else len(self.updates)
        if marker > len(self.updates):
            marker = len(self.updates)
        if marker == len(self.updates):
            def arrived() -> bool:
                return len(self.updates) > marker or self._closing

            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait_for(arrived), min(timeout, self.max_wait))
                except TimeoutError:
                    pass
        batch = self.updates[marker:marker + limit]
        return {"updates": batch, "marker": marker + len(batch)}

    async def _subscriptions(self, request: web.Request, body: Any) -> dict[str, Any]:
        if request.method == "GET":
            return {"subscriptions": [{k: v for k, v in s.items() if k != "secret"} for s in self.subscriptions]}
        if request.method == "DELETE":
            url = request.query.get("url", "")
            self.subscriptions = [s for s in self.subscriptions if s["url"] != url]
            return {"success": True}
        if request.method != "POST" or not isinstance(body, dict) or not body.get("url"):
            raise MaxFailure(400, "proto.payload", "url is required")
        secret = body.get("secret")
        if secret is not None and not (5 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)):
            raise MaxFailure(400, "proto.payload", "secret: 5-256 of [A-Za-z0-9_-]")
        self.subscriptions = [s for s in self.subscriptions if s["url"] != body["url"]]
        self.subscriptions.append({"url": body["url"], "time": int(time.time() * 1000),
                                   "update_types": body.get("update_types"), "secret": secret})
        return {"success": True}

    async def _messages(self, request: web.Request, body: Any) -> dict[str, Any]:
        if request.method == "POST":
            return await self._send(request, body)
        if request.method == "PUT":
            return await self._edit(request, body)
        raise MaxFailure(405, "method.not.allowed", "Method not allowed")

    async def _send(self, request: web.Request, body: Any) -> dict[str, Any]:
        target = request.query.get("chat_id") or request.query.get("user_id")
        if not target or not isinstance(body, dict):
            raise MaxFailure(400, "proto.payload", "chat_id or user_id and a body are required")
        chat_id = int(target)
        if chat_id in self._blocked:
            status, code = self._blocked[chat_id]
            raise MaxFailure(status, code, "error.dialog.suspended: the user blocked the bot")
        text, attachments = self._checked(body)
        message = SentMessage(chat_id, f"mid.{next(self._mids):016x}", next(self._seq), text, attachments)
        self.sent.append(message)
        return {"message": {"sender": {"user_id": self.bot_id, "is_bot": True},
                            "recipient": {"chat_id": chat_id, "chat_type": "dialog"},
                            "timestamp": int(time.time() * 1000),
                            "body": {"mid": message.mid, "seq": message.seq, "text": text,
                                     "attachments": attachments}}}

    async def _edit(self, request: web.Request, body: Any) -> dict[str, Any]:
        mid = request.query.get("message_id", "")
        found = next((m for m in self.sent if m.mid == mid), None)
        if found is None:
            raise MaxFailure(404, "not.found", "Message not found")
        if found.chat_id in self._blocked:
            raise MaxFailure(*self._blocked[found.chat_id], "the user blocked the bot")
        if not isinstance(body, dict):
            raise MaxFailure(400, "proto.payload", "a body is required")
        text, attachments = self._checked(body)
        found.edits.append({"text": found.text, "attachments": found.attachments})
        found.text, found.attachments = text, attachments
        return {"success": True}

    def _checked(self, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = body.get("text") or ""
        attachments = list(body.get("attachments") or [])
        if not text and not attachments:
            raise MaxFailure(400, "proto.payload", "text or attachments are required")
        if len(text) > TEXT_LIMIT:
            raise MaxFailure(400, "proto.payload", f"text: must be less than {TEXT_LIMIT} characters")
        fresh: list[Upload] = []
        for attachment in attachments:
            kind = attachment.get("type")
            if kind == "inline_keyboard":
                _check_keyboard(attachment.get("payload", {}).get("buttons"))
            elif kind in ("image", "file"):
                token = (attachment.get("payload") or {}).get("token")
                upload = next((u for u in self.uploads if u.token == token), None)
                if upload is None:
                    raise MaxFailure(400, "proto.payload", "attachment token is unknown")
                fresh += [] if upload.used else [upload]
        if fresh:  # processed by the time the bot asks again
            for upload in fresh:
                upload.used = True
            raise MaxFailure(400, "attachment.not.ready", "Key: errors.process.attachment.file.not.processed")
        return text, attachments

    async def _answers(self, request: web.Request, body: Any) -> dict[str, Any]:
        callback_id = request.query.get("callback_id")
        if not callback_id:
            raise MaxFailure(400, "proto.payload", "callback_id is required")
        if not isinstance(body, dict) or not (body.get("notification") or body.get("message")):
            raise MaxFailure(400, "proto.payload", "notification or message is required")
        self.answers.append({"callback_id": callback_id, **body})
        return {"success": True}

    async def _uploads(self, request: web.Request, body: Any) -> dict[str, Any]:
        kind = request.query.get("type")
        if kind not in ("image", "video", "audio", "file"):
            raise MaxFailure(400, "proto.payload", "type: image, video, audio or file")
        return {"url": f"{self.base_url}/upload/{kind}?sig={secrets.token_hex(6)}"}

    async def _download(self, request: web.Request) -> web.Response:
        content = self.files.get(request.match_info["file_id"])
        if content is None:
            return web.Response(status=404)
        self.downloads.append(request.headers.get("Range", ""))
        return ranged(request, content)

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload server: the URL is the permission; the file comes as multipart field "data"."""
        kind = request.match_info["kind"]
        stored: list[Upload] = []
        async for part in await request.multipart():
            if isinstance(part, aiohttp.BodyPartReader) and part.filename is not None:
                size = len(await part.read())
                if size:
                    name = urllib.parse.unquote(part.filename)  # aiohttp sends filename*=utf-8''...
                    stored.append(Upload(kind, name, size, f"tok-{secrets.token_hex(8)}"))
        if len(stored) != 1:
            return web.json_response({"code": "upload.error", "message": "one file is expected"}, status=400)
        self.uploads.extend(stored)
        await self._notify()
        if kind == "image":
            return web.json_response({"photos": {secrets.token_hex(4): {"token": stored[0].token}}})
        return web.json_response({"fileId": len(self.uploads), "token": stored[0].token})


def _check_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not rows:
        raise MaxFailure(400, "proto.payload", "buttons: at least one row")
    if len(rows) > ROWS_LIMIT:
        raise MaxFailure(400, "proto.payload", f"buttons: at most {ROWS_LIMIT} rows")
    for row in rows:
        if not isinstance(row, list) or not row:
            raise MaxFailure(400, "proto.payload", "buttons: an empty row")
        wide = any(button.get("type") in WIDE_BUTTONS for button in row)
        if len(row) > (WIDE_ROW_LIMIT if wide else ROW_LIMIT):
            raise MaxFailure(400, "proto.payload", "buttons: too many in a row")
        for button in row:
            if button.get("type") not in BUTTON_TYPES:
                raise MaxFailure(400, "proto.payload", f"button type {button.get('type')!r}")
            if not button.get("text") or len(button["text"]) > BUTTON_TEXT_LIMIT:
                raise MaxFailure(400, "proto.payload", f"button text: 1 to {BUTTON_TEXT_LIMIT} characters")
            if button["type"] == "callback" and len(button.get("payload") or "") > PAYLOAD_LIMIT:
                raise MaxFailure(400, "proto.payload", f"button payload: at most {PAYLOAD_LIMIT} characters")


def signed(vcf: str, token: str) -> str:
    return hmac.new(token.encode(), vcf.encode(), hashlib.sha256).hexdigest()

