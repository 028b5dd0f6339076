"""A fake VK API on 127.0.0.1 that the real vk-api client talks to over HTTP.

It answers ``/method/{name}`` in VK's envelope ({"response": ...} or {"error": {...}}), hands out
its own Bots Long Poll server from ``groups.getLongPollServer`` and serves queued events there
in the API 5.199 shapes. ``messages.send`` de-duplicates on ``random_id`` per peer like VK: a
second send with the same id is not delivered again and returns the same message id. Keyboards
are checked against VK's limits (error 911), texts against 4096 characters (error 914).
Files go up the way https://dev.vk.com/ru/api/upload/overview describes: ``photos.getMessagesUploadServer``
/ ``docs.getMessagesUploadServer`` hand out an upload URL on this server, a multipart POST there is
recorded in ``uploads`` (field, file name, size), and ``photos.saveMessagesPhoto`` / ``docs.save`` turn it
into a photo / doc of the community (``saved`` maps the attachment ref back to its upload).

Test controls: queue events (text, button press, photo, document, location, forwarded-only,
sticker), ``fail_next``, ``fail_http`` (``"upload"`` for the upload URL), ``fail_peer``, ``stall_next``,
``break_longpoll``, ``expire_key``; recorded calls and uploads; ``wait_messages`` / ``wait_calls``.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.files import PDF_START, ranged

ERROR_MESSAGES = {
    5: "User authorization failed: invalid access_token",
    6: "Too many requests per second",
    7: "Permission to perform this action is denied",
    9: "Flood control",
    10: "Internal server error",
    29: "Rate limit reached",
    100: "One of the parameters specified was missing or invalid",
    901: "Can't send messages for users without permission",
    902: "Can't send messages to this user due to their privacy settings",
    909: "Can't edit this message, because it's too old",
    118: "Invalid server",
    121: "Invalid hash",
    911: "Keyboard format is invalid",
    914: "Message is too long",
}
UPLOAD_SERVER = 852_321  # the "server" an upload answers and photos.saveMessagesPhoto checks
CLIENT_INFO = {
    "button_actions": ["text", "vkpay", "open_app", "location", "open_link", "callback"],
    "keyboard": True, "inline_keyboard": True, "carousel": True, "lang_id": 0,
}


class VkFailure(Exception):
    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code, "Unknown error")


@dataclass
class Call:
    method: str
    params: dict[str, str]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Upload:
    """A file posted to an upload URL (multipart/form-data), as the upload server stored it."""

    kind: str  # "photo" or "doc": which getMessagesUploadServer gave the URL
    peer_id: int
    field: str
    filename: str
    size: int
    token: str


@dataclass
class SentMessage:
    """A message the bot delivered (edits applied in place, the history kept in ``edits``)."""

    peer_id: int
    message_id: int
    conversation_message_id: int
    random_id: int
    text: str
    keyboard: dict[str, Any] | None
    attachment: str
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.keyboard or {}).get("buttons", [])
        return [button["action"] for row in rows for button in row]

    @property
    def labels(self) -> list[str]:
        return [action.get("label", action["type"]) for action in self.buttons]

    @property
    def payloads(self) -> list[str]:
        return [json.loads(a["payload"])["p"] for a in self.buttons if a.get("payload")]

    @property
    def inline(self) -> bool:
        return bool((self.keyboard or {}).get("inline"))


class FakeVk:
    def __init__(self, group_id: int = 77, token: str = "vk-test-token", max_wait: float = 0.5) -> None:
        self.group_id = group_id
        self.token = token
        self.max_wait = max_wait
        self.calls: list[Call] = []
        self.events: list[dict[str, Any]] = []
        self.sent: list[SentMessage] = []
        self.duplicates = 0
        self.answers: list[dict[str, str]] = []
        self.users: dict[int, tuple[str, str]] = {}
        self.uploads: list[Upload] = []
        self.saved: dict[str, Upload] = {}  # "photo-77_1_key" / "doc-77_2" -> what was uploaded for it
        self.files: dict[str, bytes] = {}  # "<owner>_<id>" of a doc a user sent -> what its URL serves
        self.downloads: list[str] = []  # the Range header of each download of such a doc ("" for all of it)
        self.longpoll_key = secrets.token_hex(8)
        self.longpoll_checks = 0
        self._failures: dict[str, list[int]] = defaultdict(list)
        self._http_failures: dict[str, list[int]] = defaultdict(list)
        self._peer_failures: dict[int, int] = {}
        self._stalls: dict[str, list[float]] = defaultdict(list)
        self._broken_polls = 0
        self._oldest = 0  # long-poll history before this index is gone (forget_history)
        self._by_random_id: dict[tuple[int, int], SentMessage] = {}
        self._message_ids = itertools.count(1)
        self._media_ids = itertools.count(456_239_001)
        self._cmids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._changed = asyncio.Condition()
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # server -----------------------------------------------------------------------------

    async def start(self) -> FakeVk:
        app = web.Application()
        app.router.add_route("*", "/method/{name}", self._method)
        app.router.add_get("/longpoll", self._longpoll)
        app.router.add_post("/upload/{kind}", self._upload)
        app.router.add_get("/doc{doc}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        self._closing = True  # long-poll requests in flight return at once
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeVk:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # test controls: failures ------------------------------------------------------------

    def fail_next(self, method: str, code: int = 6, times: int = 1) -> None:
        self._failures[method].extend([code] * times)

    def fail_http(self, method: str, status: int = 502, times: int = 1) -> None:
        self._http_failures[method].extend([status] * times)

    def fail_peer(self, peer_id: int, code: int = 901) -> None:
        self._peer_failures[peer_id] = code

    def stall_next(self, method: str, seconds: float, times: int = 1, *, skip: int = 0) -> None:
        """The next ``times`` calls of ``method`` (after ``skip`` that pass) are answered only after ``seconds``
        and then take effect: a client with a shorter timeout gives up and retries (a send with the same
        random_id is a duplicate, counted in ``duplicates``, not delivered again)."""
        self._stalls[method].extend([0.0] * skip + [seconds] * times)

    def break_longpoll(self, times: int = 1) -> None:
        """The next ``times`` long-poll requests get an HTTP 500 page instead of JSON."""
        self._broken_polls += times

    def forget_history(self) -> None:
        """VK keeps long-poll events for a while only: a position before now gets {"failed": 1}."""
        self._oldest = len(self.events)

    def expire_key(self) -> None:
        """VK's {"failed": 2}: the client must ask groups.getLongPollServer for a new key."""
        self.longpoll_key = secrets.token_hex(8)

    # test controls: what the bot did ----------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def messages(self, peer_id: int) -> list[SentMessage]:
        return [message for message in self.sent if message.peer_id == peer_id]

    async def wait_messages(self, peer_id: int, count: int, within: float = 5.0) -> list[SentMessage]:
        def describe() -> str:
            return f"{count} messages to {peer_id}, got {[m.text for m in self.messages(peer_id)]}"

        await self._wait_for(lambda: len(self.messages(peer_id)) >= count, within, describe)
        return self.messages(peer_id)

    async def wait_calls(self, method: str, count: int, within: float = 5.0) -> list[Call]:
        await self._wait_for(lambda: len(self.calls_to(method)) >= count, within,
                             lambda: f"{count} calls of {method}, got {len(self.calls_to(method))}")
        return self.calls_to(method)

    async def wait_polling(self, after: int = 0, within: float = 5.0) -> None:
        """Until a long-poll request beyond the first ``after``: events queued before the bot asked
        for its server would be missed, as in VK."""
        await self._wait_for(lambda: self.longpoll_checks > after, within, lambda: "a long-poll request")

    async def _wait_for(self, ready: Any, within: float, describe: Any) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), within)
            except TimeoutError:
                raise AssertionError(f"timed out waiting for {describe()}") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # test controls: events --------------------------------------------------------------

    def queue(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        # Since API 5.103 every event carries event_id; a redelivery repeats it.
        event = {"group_id": self.group_id, "type": event_type, "event_id": secrets.token_hex(20),
                 "v": "5.199", "object": obj}
        return self.redeliver(event)

    def redeliver(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        task = asyncio.get_running_loop().create_task(self._notify())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return event

    def message_new(self, peer_id: int, text: str = "", *, from_id: int | None = None,
                    attachments: list[dict[str, Any]] | None = None, geo: dict[str, Any] | None = None,
                    fwd_messages: list[dict[str, Any]] | None = None, payload: str | None = None,
                    lang_id: int = 0) -> dict[str, Any]:
        message: dict[str, Any] = {
            "date": int(time.time()), "from_id": from_id or peer_id, "id": next(self._message_ids),
            "out": 0, "attachments": attachments or [], "conversation_message_id": next(self._cmids[peer_id]),
            "fwd_messages": fwd_messages or [], "important": False, "is_hidden": False, "peer_id": peer_id,
            "random_id": 0, "text": text,
        }
        if geo is not None:
            message["geo"] = geo
        if payload is not None:
            message["payload"] = payload
        client_info = {**CLIENT_INFO, "lang_id": lang_id}
        return self.queue("message_new", {"message": message, "client_info": client_info})

    def text(self, peer_id: int, text: str, **fields: Any) -> dict[str, Any]:
        return self.message_new(peer_id, text, **fields)

    def photo(self, peer_id: int, caption: str = "", *, photo_id: int = 457239017,
              access_key: str = "a1b2c3") -> dict[str, Any]:
        sizes = [{"height": 75, "width": 56, "type": "s"}, {"height": 1280, "width": 960, "type": "w"},
                 {"height": 604, "width": 453, "type": "x"}]
        for size in sizes:
            size["url"] = f"https://sun9-1.userapi.com/{photo_id}_{size['type']}.jpg"
        photo = {"album_id": -3, "date": int(time.time()), "id": photo_id, "owner_id": peer_id,
                 "access_key": access_key, "sizes": sizes, "text": "", "has_tags": False}
        return self.message_new(peer_id, caption, attachments=[{"type": "photo", "photo": photo}])

    def doc(self, peer_id: int, title: str = "Заявление", ext: str = "pdf", size: int = 48_213,
            doc_id: int = 654321, content: bytes = PDF_START) -> dict[str, Any]:
        self.files[f"{peer_id}_{doc_id}"] = content
        doc = {"id": doc_id, "owner_id": peer_id, "title": title, "size": size, "ext": ext, "type": 1,
               "date": int(time.time()), "url": f"{self.base_url}/doc{peer_id}_{doc_id}?hash=fake"}
        return self.message_new(peer_id, attachments=[{"type": "doc", "doc": doc}])

    def geo(self, peer_id: int, latitude: float, longitude: float) -> dict[str, Any]:
        geo = {"type": "point", "coordinates": {"latitude": latitude, "longitude": longitude},
               "place": {"country": "Россия", "city": "Энск", "title": "Энск, Россия"}}
        return self.message_new(peer_id, geo=geo)

    def forwarded_only(self, peer_id: int, text: str = "пересланное") -> dict[str, Any]:
        forwarded = {"date": int(time.time()), "from_id": 5, "text": text, "attachments": [],
                     "conversation_message_id": 10, "peer_id": 5, "id": 99}
        return self.message_new(peer_id, fwd_messages=[forwarded])

    def sticker(self, peer_id: int) -> dict[str, Any]:
        sticker = {"product_id": 1, "sticker_id": 9, "images": []}
        return self.message_new(peer_id, attachments=[{"type": "sticker", "sticker": sticker}])

    def press(self, peer_id: int, label: str | None = None, *, payload: str | None = None,
              user_id: int | None = None) -> dict[str, Any]:
        """Press a button the bot showed in ``peer_id`` (the latest one whose label contains ``label``):
        a callback button makes a message_event, a text button a message_new with its payload."""
        for message in reversed(self.messages(peer_id)):
            for action in message.buttons:
                if not _matches(action, label, payload):
                    continue
                raw = action.get("payload")
                if action["type"] == "callback":
                    return self.press_raw(peer_id, json.loads(raw or "{}"), message.conversation_message_id,
                                          user_id=user_id)
                return self.message_new(peer_id, action.get("label", ""), from_id=user_id, payload=raw)
        shown = [m.labels for m in self.messages(peer_id)[-3:]]
        raise AssertionError(f"no button {label or payload!r} in {peer_id}; the latest keyboards: {shown}")

    def press_raw(self, peer_id: int, payload: Any, conversation_message_id: int,
                  user_id: int | None = None) -> dict[str, Any]:
        return self.queue("message_event", {
            "user_id": user_id or peer_id, "peer_id": peer_id, "event_id": secrets.token_hex(6),
            "payload": payload, "conversation_message_id": conversation_message_id})

    # Callback API bodies ----------------------------------------------------------------

    def callback_body(self, event: dict[str, Any], secret: str) -> dict[str, Any]:
        return {**event, "secret": secret}

    def confirmation_body(self, secret: str) -> dict[str, Any]:
        return {"type": "confirmation", "group_id": self.group_id, "secret": secret}

    # HTTP: long poll --------------------------------------------------------------------

    async def _longpoll(self, request: web.Request) -> web.Response:
        self.longpoll_checks += 1
        await self._notify()
        if self._broken_polls:
            self._broken_polls -= 1
            return web.Response(status=500, text="<html>502 Bad Gateway</html>")
        query = request.query
        if query.get("act") != "a_check" or query.get("key") != self.longpoll_key:
            return web.json_response({"failed": 2})
        try:
            ts = int(query.get("ts", ""))
        except ValueError:
            return web.json_response({"failed": 1, "ts": str(len(self.events))})
        if ts > len(self.events) or ts < self._oldest:
            return web.json_response({"failed": 1, "ts": str(len(self.events))})
        if ts == len(self.events):
            wait = min(float(query.get("wait", "0") or 0), self.max_wait)
            def arrived() -> bool:
                return len(self.events) > ts or self._closing

            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait_for(arrived), wait)
                except TimeoutError:
                    pass
        return web.json_response({"ts": str(len(self.events)), "updates": self.events[ts:]})

    # HTTP: uploads ----------------------------------------------------------------------

    async def _download(self, request: web.Request) -> web.Response:
        content = self.files.get(request.match_info["doc"])
        if content is None:
            return web.Response(status=404)
        self.downloads.append(request.headers.get("Range", ""))
        return ranged(request, content)

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload server: no access token here, the URL itself is the permission (as in VK)."""
        kind, peer_id = request.match_info["kind"], int(request.query.get("peer_id") or 0)
        if self._http_failures["upload"]:
            return web.Response(status=self._http_failures["upload"].pop(0), text="<html>Bad Gateway</html>")
        stored: list[Upload] = []
        async for part in await request.multipart():
            if not isinstance(part, aiohttp.BodyPartReader) or part.filename is None:
                continue
            size = len(await part.read())
            if size:
                stored.append(Upload(kind, peer_id, part.name or "", part.filename, size, secrets.token_hex(6)))
        self.uploads.extend(stored)
        await self._notify()
        if kind == "doc":
            if len(stored) != 1:
                return web.json_response({"error": "ERR_UPLOAD_FILE_NOT_UPLOADED: file not uploaded"})
            return web.json_response({"file": stored[0].token})
        photos = json.dumps([{"photo": f"{upload.token}:x", "sizes": []} for upload in stored])
        return web.json_response({"server": UPLOAD_SERVER, "photo": photos, "hash": _upload_hash(photos)})

    # HTTP: methods ----------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        params = {**request.query, **{k: str(v) for k, v in (await request.post()).items()}}
        self.calls.append(Call(name, params))
        await self._notify()
        if self._stalls[name] and (stall := self._stalls[name].pop(0)):
            await asyncio.sleep(stall)
        if self._http_failures[name]:
            return web.Response(status=self._http_failures[name].pop(0), text="<html>Bad Gateway</html>")
        try:
            if params.get("access_token") != self.token:
                raise VkFailure(5)
            if self._failures[name]:
                raise VkFailure(self._failures[name].pop(0))
            handler = getattr(self, "_api_" + name.replace(".", "_"), None)
            response = handler(params) if handler is not None else 1
        except VkFailure as failure:
            echoed = [{"key": "method", "value": name},
                      *({"key": k, "value": v} for k, v in params.items() if k != "access_token")]
            return web.json_response({"error": {"error_code": failure.code, "error_msg": failure.message,
                                                "request_params": echoed}})
        await self._notify()
        return web.json_response({"response": response})

    def _api_groups_getLongPollServer(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("group_id") != str(self.group_id):
            raise VkFailure(100, f"{ERROR_MESSAGES[100]}: group_id")
        return {"key": self.longpoll_key, "server": f"{self.base_url}/longpoll", "ts": str(len(self.events))}

    def _api_messages_send(self, params: dict[str, str]) -> int:
        peer_id = int(params.get("peer_id") or params.get("user_id") or 0)
        random_id = int(params.get("random_id") or 0)
        if "random_id" not in params:
            raise VkFailure(100, f"{ERROR_MESSAGES[100]}: random_id is required")
        if peer_id in self._peer_failures:
            raise VkFailure(self._peer_failures[peer_id])
        if random_id and (peer_id, random_id) in self._by_random_id:
            self.duplicates += 1
            return self._by_random_id[(peer_id, random_id)].message_id
        text, attachment = params.get("message", ""), params.get("attachment", "")
        if not text and not attachment:
            raise VkFailure(100, f"{ERROR_MESSAGES[100]}: message is empty")
        if len(text) > 4096:
            raise VkFailure(914)
        keyboard = _checked_keyboard(params.get("keyboard"))
        message = SentMessage(peer_id, next(self._message_ids), next(self._cmids[peer_id]), random_id, text,
                              keyboard, attachment)
        self.sent.append(message)
        if random_id:
            self._by_random_id[(peer_id, random_id)] = message
        return message.message_id

    def _api_messages_edit(self, params: dict[str, str]) -> int:
        peer_id = int(params.get("peer_id") or 0)
        if peer_id in self._peer_failures:
            raise VkFailure(self._peer_failures[peer_id])
        cmid = int(params.get("conversation_message_id") or 0)
        message_id = int(params.get("message_id") or 0)
        found = next((m for m in self.messages(peer_id)
                      if (cmid and m.conversation_message_id == cmid) or (message_id and m.message_id == message_id)),
                     None)
        if found is None:
            raise VkFailure(100, f"{ERROR_MESSAGES[100]}: message not found")
        found.edits.append({"text": found.text, "keyboard": found.keyboard})
        found.text = params.get("message", found.text)
        found.keyboard = _checked_keyboard(params.get("keyboard"))
        found.attachment = params.get("attachment", "")
        return 1

    def _api_messages_sendMessageEventAnswer(self, params: dict[str, str]) -> int:
        self.answers.append(params)
        return 1

    def _api_photos_getMessagesUploadServer(self, params: dict[str, str]) -> dict[str, Any]:
        peer_id = params.get("peer_id", "0")
        return {"upload_url": f"{self.base_url}/upload/photo?peer_id={peer_id}", "album_id": -3,
                "group_id": self.group_id}

    def _api_docs_getMessagesUploadServer(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("type", "doc") not in ("doc", "audio_message", "graffiti"):
            raise VkFailure(100, f"{ERROR_MESSAGES[100]}: type")
        if not params.get("peer_id"):
            raise VkFailure(100, f"{ERROR_MESSAGES[100]}: peer_id is undefined")
        return {"upload_url": f"{self.base_url}/upload/doc?peer_id={params['peer_id']}"}

    def _api_photos_saveMessagesPhoto(self, params: dict[str, str]) -> list[dict[str, Any]]:
        if params.get("server") != str(UPLOAD_SERVER):
            raise VkFailure(118)
        photos = params.get("photo", "")
        if params.get("hash") != _upload_hash(photos):
            raise VkFailure(121)
        tokens = [entry["photo"].split(":")[0] for entry in json.loads(photos or "[]")]
        uploads = [upload for upload in self.uploads if upload.kind == "photo" and upload.token in tokens]
        if not uploads:
            raise VkFailure(100, f"{ERROR_MESSAGES[100]}: photos_list is invalid")
        saved = []
        for upload in uploads:
            photo = {"album_id": -3, "date": int(time.time()), "id": next(self._media_ids), "owner_id": -self.group_id,
                     "access_key": secrets.token_hex(9), "text": "",
                     "sizes": [{"type": "x", "width": 604, "height": 453,
                                "url": f"https://sun9-2.userapi.com/{upload.token}_x.jpg"}]}
            self.saved[f"photo{photo['owner_id']}_{photo['id']}_{photo['access_key']}"] = upload
            saved.append(photo)
        return saved

    def _api_docs_save(self, params: dict[str, str]) -> dict[str, Any]:
        upload = next((u for u in self.uploads if u.kind == "doc" and u.token == params.get("file")), None)
        if upload is None:
            raise VkFailure(100, f"{ERROR_MESSAGES[100]}: file is undefined")
        ext = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else ""
        doc = {"id": next(self._media_ids), "owner_id": -self.group_id, "title": params.get("title") or upload.filename,
               "size": upload.size, "ext": ext, "date": int(time.time()), "type": 1,
               "url": f"https://vk.com/doc-{self.group_id}_{upload.token}"}
        self.saved[f"doc{doc['owner_id']}_{doc['id']}"] = upload
        return {"type": "doc", "doc": doc}

    def _api_users_get(self, params: dict[str, str]) -> list[dict[str, Any]]:
        ids = [int(i) for i in params.get("user_ids", "").split(",") if i.strip().lstrip("-").isdigit()]
        names = {i: self.users.get(i, ("Пользователь", str(i))) for i in ids}
        return [{"id": i, "first_name": names[i][0], "last_name": names[i][1], "can_access_closed": True,
                 "is_closed": False} for i in ids]


def _upload_hash(photos: str) -> str:
    return hashlib.sha256(photos.encode()).hexdigest()[:16]


def _matches(action: dict[str, Any], label: str | None, payload: str | None) -> bool:
    if label is not None and label.casefold() in action.get("label", "").casefold():
        return True
    raw = action.get("payload")
    return payload is not None and raw is not None and json.loads(raw).get("p") == payload


def _checked_keyboard(raw: str | None) -> dict[str, Any] | None:
    """VK's keyboard limits (dev.vk.com/ru/api/bots/development/keyboard); a breach is error 911."""
    if raw is None:
        return None
    try:
        keyboard = json.loads(raw)
        rows = keyboard["buttons"]
    except (ValueError, KeyError, TypeError):
        raise VkFailure(911) from None
    inline = bool(keyboard.get("inline"))
    count = sum(len(row) for row in rows)
    max_rows, max_buttons = (6, 10) if inline else (10, 40)
    if len(rows) > max_rows or count > max_buttons or any(len(row) > 5 for row in rows):
        raise VkFailure(911, "Keyboard format is invalid: too many buttons")
    for row in rows:
        for button in row:
            action = button.get("action", {})
            if len(action.get("label", "")) > 40 or len(action.get("payload") or "") > 255:
                raise VkFailure(911, "Keyboard format is invalid: label or payload too long")
            if action.get("type") == "callback" and not action.get("label"):
                raise VkFailure(911, "Keyboard format is invalid: no label")
    return keyboard
