"""The MAX channel: updates in (long poll or webhook), replies out through POST/PUT /messages.

A thin translator: ``intake`` makes neutral events, ``rendering`` makes message bodies, ``errors``
makes the outbox's decisions; no dialog logic lives here.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bot.channels.base import Runtime
from bot.channels.kit import ChatOrder, read_heads
from bot.channels.max.client import MaxClient
from bot.channels.max.errors import MaxApiError, classify
from bot.channels.max.intake import (
    CHANNEL,
    callback_id,
    document_urls,
    incoming_from_update,
    language,
    stopped_chat,
)
from bot.channels.max.rendering import OutgoingMessage, render_reply
from bot.channels.max.settings import MaxSettings
from bot.channels.replying import (
    first_toast,
    has_local_files,
    mark_unreachable,
    replies_or_apology,
    reply_in_order,
    retrying,
    with_uploads,
)
from bot.events import (
    Attachment,
    ConversationHandler,
    DeliveryError,
    Incoming,
    Reply,
    RetryLater,
    Unreachable,
)
from bot.i18n import translator

log = logging.getLogger(__name__)

T = TypeVar("T")

IMAGE_FORMATS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp"})


def _usable(path: Path) -> bool:
    return path.is_file() and os.path.getsize(path) > 0


def chat_key(update: Mapping[str, Any]) -> str:
    """The chat an update belongs to, so one chat's updates are handled in order."""
    message = update.get("message") or {}
    chat = (message.get("recipient") or {}).get("chat_id") or update.get("chat_id")
    return str(chat if chat is not None else "")


class MaxChannel:
    channel = CHANNEL

    def __init__(self, settings: MaxSettings, handler: ConversationHandler, runtime: Runtime | None = None, *,
                 retry_delays: Sequence[float] = (0.5, 1.0, 2.0),
                 ready_delays: Sequence[float] = (0.3, 0.6, 1.2, 2.4, 4.8),
                 reconnect_delays: Sequence[float] = (1.0, 2.0, 5.0, 10.0, 30.0),
                 poll_timeout: int = 30, request_timeout: float = 30.0, webhook_budget: float = 25.0,
                 poll_interval: float = 0.5) -> None:
        problem = settings.problem()
        if problem is not None:
            raise ValueError(f"[max] {problem}")
        assert settings.token is not None
        self.settings = settings
        self.handler = handler
        self.runtime = runtime or Runtime()
        self._token = settings.token.get_secret_value()
        self.client = MaxClient(settings.api_base, self._token, timeout=request_timeout,
                                ca_bundle=settings.ca_bundle)
        self.retry_delays = tuple(retry_delays)
        self.ready_delays = tuple(ready_delays)
        self.reconnect_delays = tuple(reconnect_delays) or (1.0,)
        self.poll_timeout = poll_timeout
        self.poll_interval = poll_interval  # MAX allows 2 long-poll requests a second
        self.webhook_budget = webhook_budget  # MAX waits 30 s for the answer, then sends the update again
        self.order = ChatOrder()
        self.stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._running = False
        self.username = settings.bot_username
        self.processed = 0  # updates fully handled, replies sent: for health checks and tests
        self.webhook_address: tuple[str, int] | None = None

    # running ----------------------------------------------------------------------------------

    async def run(self) -> None:
        from bot.channels.max.longpoll import poll
        from bot.channels.max.webhook import serve

        self._running = True
        try:
            await self._identify()
            await (serve(self) if self.settings.mode == "webhook" else poll(self))
        finally:
            await self.client.close()
            self._running = False
            self._stopped.set()

    async def stop(self) -> None:
        self.stopping.set()
        if self._running:
            try:
                await asyncio.wait_for(self._stopped.wait(), timeout=self.runtime.shutdown_grace + 5)
            except TimeoutError:
                log.warning("MAX channel did not stop in time")
        else:
            await self.client.close()

    async def _identify(self) -> None:
        me = await self.request_api("GET /me", "GET", "/me")
        found = str(me.get("username") or "")
        if self.username and found and found != self.username:
            log.warning("[max] bot_username is %s but MAX says %s: invite links use the setting", self.username, found)
        self.username = self.username or found
        log.info("MAX bot %s (id %s) in %s mode", self.username, me.get("user_id"), self.settings.mode)

    # one update -------------------------------------------------------------------------------

    async def take(self, update: Mapping[str, Any], budget: float | None = None) -> None:
        """Handle one update: the conversations, the press answered, the replies sent.

        Raises HandlingDeferred when the database stayed away: the update must not be confirmed."""
        try:
            incoming = incoming_from_update(update, self._token)
            press = callback_id(update)
            if incoming is None:
                if press is not None:
                    await self.answer_press(press, None, language(update))
                if (chat := stopped_chat(update)) is not None:
                    await self._mark_unreachable(chat, "bot stopped by the user")
                return
            incoming = await read_heads(incoming, partial(self.peek, document_urls(update)))
            replies = await self._ask(incoming, budget)
            if press is not None:
                # Always, even after a failure: MAX refuses an empty answer, so a notice goes with it.
                await self.answer_press(press, first_toast(replies), incoming.language)
            await reply_in_order(incoming, replies, incoming.message_ref if incoming.is_button else None,
                                 partial(self._reply, incoming.chat_id),
                                 partial(self._mark_unreachable, incoming.chat_id))
        finally:
            self.processed += 1

    async def peek(self, urls: Mapping[str, str], attachment: Attachment) -> bytes | None:
        """The first bytes of a file a user sent, from the URL its message carried."""
        url = urls.get(attachment.ref)
        return await self.client.first_bytes(url) if url is not None else None

    async def _ask(self, incoming: Incoming, budget: float | None) -> list[Reply]:
        return await replies_or_apology(self.handler, incoming, budget=budget, stopping=self.stopping,
                                        default_language=self.runtime.default_language)

    async def _reply(self, chat_id: str, reply: Reply, dedup_key: str, edit_ref: str | None) -> None:
        if edit_ref is None or not await self.edit(chat_id, edit_ref, reply):
            await self.send(chat_id, reply, dedup_key=dedup_key)

    async def _mark_unreachable(self, chat_id: str, reason: str) -> None:
        await mark_unreachable(self.handler, CHANNEL, chat_id, reason)

    async def answer_press(self, press_ref: str, toast: str | None, language: str | None = None) -> None:
        notice = toast or translator(language or self.runtime.default_language)("max.pressed")
        try:
            await self.request_api("POST /answers", "POST", "/answers", params={"callback_id": press_ref},
                                body={"notification": notice})
        except DeliveryError as exc:
            log.warning("button press %s not answered: %s", press_ref, exc)

    # out --------------------------------------------------------------------------------------

    async def send(self, chat_id: str, reply: Reply, *, dedup_key: str) -> str | None:
        """Deliver one reply; raises RetryLater or Unreachable (DeliveryError for a bad request).

        Returns the mid of the last message sent, so the outbox can edit an appeal card later."""
        messages = self._rendered(await with_uploads(reply, self._uploaded))
        last: str | None = None
        for message in messages:
            sent = await self.request_api("POST /messages", "POST", "/messages", params={"chat_id": chat_id},
                                       body=message.body(), files=bool(message.files))
            last = str(((sent.get("message") or {}).get("body") or {}).get("mid") or "") or last
        return last

    async def edit(self, chat_id: str, message_ref: str, reply: Reply) -> bool:
        """Edit a message by its mid; False when MAX refuses or it cannot be one message (send anew)."""
        if has_local_files(reply):
            return False  # a new file goes in a new message: uploaded once, by send
        messages = self._rendered(reply)
        if len(messages) != 1:
            return False
        try:
            await self.request_api("PUT /messages", "PUT", "/messages", params={"message_id": message_ref},
                                body=messages[0].body(), retry=False)
        except Unreachable:
            raise
        except DeliveryError as exc:
            log.info("MAX edit of %s in %s failed (%s); sending anew", message_ref, chat_id, exc)
            return False
        return True

    @staticmethod
    def _rendered(reply: Reply) -> list[OutgoingMessage]:
        try:
            return render_reply(reply)
        except ValueError as exc:
            raise DeliveryError(str(exc)) from exc

    async def request_api(self, what: str, method: str, path: str, *, params: dict[str, Any] | None = None,
                       body: dict[str, Any] | None = None, retry: bool = True, files: bool = False) -> dict[str, Any]:
        """One call; 429, 5xx and the network retried with backoff, a fresh upload waited for."""
        return await self._attempt(what, partial(self.client.call, method, path, params=params, body=body),
                                   retry=retry, files=files)

    async def _attempt(self, what: str, work: Callable[[], Awaitable[T]], *, retry: bool = True,
                       files: bool = False) -> T:
        delays = iter(self.retry_delays if retry else ())
        ready = iter(self.ready_delays if files else ())

        def next_delay(exc: Exception) -> float | None:
            not_ready = isinstance(exc, MaxApiError) and exc.not_ready  # a fresh upload still processed
            return next(ready if not_ready else delays, None)

        # classify re-raises what is not MAX's or the network's
        return await retrying(what, work, errors=(Exception,), classify=classify, next_delay=next_delay)

    async def _uploaded(self, file: Attachment) -> Attachment:
        path = Path(file.ref)
        if not await asyncio.to_thread(_usable, path):
            log.warning("local file %s is not there: named instead of sent", file.ref)
            return file
        kind = "image" if file.kind == "photo" and path.suffix.lower() in IMAGE_FORMATS else "file"
        name = file.name if file.name.lower().endswith(path.suffix.lower()) else (file.name or path.stem) + path.suffix
        try:
            token = await self._attempt(f"upload of {file.ref}", partial(self.client.upload, kind, file.ref, name))
        except (RetryLater, Unreachable):
            raise  # the outbox tries the whole message again later
        except (DeliveryError, LookupError, TypeError) as exc:
            log.warning("upload of %s to MAX failed (%r); named instead of sent", file.ref, exc)
            return file
        return Attachment(kind="photo" if kind == "image" else "document", ref=token, channel=CHANNEL, name=name,
                          size=file.size, mime=file.mime)
