"""The VK channel: events in, immediate replies and outbox sends out; long poll and callback mixed in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import aiohttp
import requests
from aiohttp import web
from vk_api.exceptions import ApiError, ApiHttpError
from vk_api.keyboard import VkKeyboard

from bot.channels.base import Runtime
from bot.channels.kit import PEEK_TIMEOUT_S, ChatOrder, first_bytes, read_heads
from bot.channels.replying import (
    first_toast,
    has_local_files,
    mark_unreachable,
    replies_or_apology,
    reply_in_order,
    retrying,
    with_uploads,
)
from bot.channels.vk.client import build_api, build_uploader
from bot.channels.vk.common import CHANNEL, T
from bot.channels.vk.errors import classify
from bot.channels.vk.intake import ButtonPress, _media_ref, button_press, document_urls, incoming_from_event
from bot.channels.vk.plugin import Vk
from bot.channels.vk.polling import LongPollMixin
from bot.channels.vk.rendering import (
    EditedBy,
    OutgoingMessage,
    random_id_for,
    render_reply,
    snackbar,
    upload_kind,
    upload_name,
)
from bot.channels.vk.webhook import CallbackMixin
from bot.config import Settings
from bot.events import (
    Attachment,
    ConversationHandler,
    DeliveryError,
    HandlingDeferred,
    Incoming,
    Reply,
    RetryLater,
    Unreachable,
)

log = logging.getLogger(__name__)

# --- the channel ------------------------------------------------------------------------------


class VkChannel(LongPollMixin, CallbackMixin):
    """Bots Long Poll (default) or a Callback API server in; messages.send / messages.edit out."""

    channel = CHANNEL

    def __init__(self, settings: Settings | Vk, handler: ConversationHandler, *,
                 long_poll_wait: int = 25, retry_delays: Sequence[float] = (0.5, 1.0, 2.0),
                 reconnect_delays: Sequence[float] = (1.0, 2.0, 5.0, 10.0, 30.0),
                 max_in_flight: int = 64, request_timeout: float = 30.0, runtime: Runtime | None = None) -> None:
        self.vk = settings.vk if isinstance(settings, Settings) else settings
        self.handler = handler
        _check_settings(self.vk)
        self.api = build_api(self.vk, request_timeout)
        self.uploader = build_uploader(self.api)
        self.long_poll_wait = long_poll_wait
        self.retry_delays = tuple(retry_delays)
        self.reconnect_delays = tuple(reconnect_delays) or (1.0,)
        self._slots = asyncio.Semaphore(max_in_flight)
        self.runtime = runtime or Runtime()
        self._order = ChatOrder(max_in_flight)
        # How long a Callback API request waits for a database that is away before VK is asked to retry;
        # the long poll waits until recovery, its position held (None).
        self._patience: float | None = None
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
        if has_local_files(reply):
            return False  # a new file goes in a new message: uploaded once, by send
        messages = render_reply(reply)
        if len(messages) != 1 or not message_ref.isdigit():
            return False
        return await self._edit(int(chat_id), "message_id", int(message_ref), messages[0])

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
        """No new events; those in flight get the grace (``Runtime.shutdown_grace``)."""
        self._stopping.set()
        if self._running:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=self.runtime.shutdown_grace + 3)

    async def answer_press(self, press_ref: str, toast: str | None) -> None:
        """``press_ref``: "event_id:user_id:peer_id" of a message_event."""
        event_id, user_id, peer_id = press_ref.rsplit(":", 2)
        await self._answer(ButtonPress(event_id, int(user_id), int(peer_id)), toast)

    @property
    def callback_address(self) -> tuple[str, int] | None:
        """Where the Callback API server listens (host, port), once started."""
        if self._runner is None or not self._runner.addresses:
            return None
        host, port = self._runner.addresses[0][:2]
        return str(host), int(port)

    async def _finish(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.runtime.shutdown_grace)
        for task in set(self._tasks):
            task.cancel()  # past the grace: not confirmed, so fetched again after the restart
        if getattr(self, "_position", None) is not None:
            await self._keep_position()  # the long poll's position after what was handled
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.api.http.close()
        self._running = False
        self._stopped.set()


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
        if incoming.location is not None or (incoming.payload is not None and press is None):
            self._standard_keyboard.discard(int(incoming.chat_id))  # VK hid the one-time keyboard
        incoming = await self._named(incoming)
        incoming = await read_heads(incoming, partial(self.peek, document_urls(event)))
        await self._converse(incoming, press)

    async def peek(self, urls: Mapping[str, str], attachment: Attachment) -> bytes | None:
        """The first bytes of a document a user sent, from the URL its message carried."""
        url = urls.get(attachment.ref)
        if url is None:
            return None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PEEK_TIMEOUT_S)) as session:
            return await first_bytes(session, url)

    async def _converse(self, incoming: Incoming, press: ButtonPress | None) -> None:
        try:
            replies = await replies_or_apology(self.handler, incoming, budget=self._patience,
                                               stopping=self._stopping)
        except HandlingDeferred:
            if press is not None:
                await self._answer(press, None)  # the spinner stops; VK gives the event again
            raise
        if press is not None:
            # Always answered, even after a failure: otherwise the button spins for a minute.
            await self._answer(press, first_toast(replies))
        peer_id = int(incoming.chat_id)
        await reply_in_order(incoming, replies, incoming.message_ref if press is not None else None,
                             partial(self._deliver, peer_id),
                             partial(mark_unreachable, self.handler, CHANNEL, incoming.chat_id))

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
        reply = await with_uploads(reply, partial(self._uploaded, peer_id))
        messages = self._with_keyboard_cleared(peer_id, render_reply(reply))
        last: str | None = None
        for index, message in enumerate(messages):
            if index == 0 and edit_ref and await self._edit(peer_id, "conversation_message_id", int(edit_ref),
                                                            message):
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

    async def _edit(self, peer_id: int, id_kind: EditedBy, message_id: int, message: OutgoingMessage) -> bool:
        """messages.edit; False when it cannot be (the caller sends anew), Unreachable raised."""
        if message.standard_keyboard:
            return False  # messages.edit takes inline keyboards only
        try:
            await self._call("messages.edit", message.edit_params(peer_id, id_kind, message_id))
        except Unreachable:
            raise
        except DeliveryError as exc:
            # Too old (909), deleted, not ours: a new message says the same.
            log.info("VK edit of %s in %s failed (%s); sending anew", message_id, peer_id, exc)
            return False
        return True

    async def _uploaded(self, peer_id: int, file: Attachment) -> Attachment:
        kind = upload_kind(file)
        if kind is None:
            return file
        name = upload_name(file)
        if kind == "photo":
            upload = partial(self._upload_photo, peer_id, file.ref)
        else:
            upload = partial(self._upload_document, peer_id, file.ref, name)
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
        return await self._attempt(method, partial(self.api.method, method, params), retry=retry)

    async def _attempt(self, what: str, work: Callable[[], T], *, retry: bool = True) -> T:
        delays = iter(self.retry_delays if retry else ())
        return await retrying(what, partial(asyncio.to_thread, work), classify=classify,
                              errors=(ApiError, ApiHttpError, requests.RequestException),
                              next_delay=lambda _: next(delays, None))


def _check_settings(vk: Vk) -> None:
    if vk.mode != "callback":
        return
    if vk.callback_secret is None:
        raise ValueError("vk.mode = \"callback\" needs a secret key: set VK_CALLBACK_SECRET "
                         "(the community's Callback API settings, «Секретный ключ»)")
    if not vk.confirmation:
        raise ValueError("vk.confirmation: the string the Callback API server settings show "
                         "(or groups.getCallbackConfirmationCode) is required in callback mode")
