"""The Telegram channel: intake, immediate replies, outbox sends; polling and webhook mixed in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any

import bot.channels.lazy_aiogram  # noqa: F401  # isort: skip  (before aiogram: see that module)
from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramRetryAfter,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    SendMessage,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeDefault,
    Update,
)

from bot.channels.base import Runtime
from bot.channels.kit import PEEK_TIMEOUT_S, ChatOrder, apology, handle_patiently, read_heads
from bot.channels.replying import mark_unreachable
from bot.channels.telegram.common import (
    CHANNEL,
    IMMEDIATE_ATTEMPTS,
    IMMEDIATE_MAX_WAIT,
    NOT_MODIFIED_MARKER,
    _arrives_within,
    _chat,
    command_descriptions,
)
from bot.channels.telegram.errors import (
    _is_transient,
    _says_unreachable,
    build_bot,
    telegram_section,
    to_delivery_error,
)
from bot.channels.telegram.intake import _Album, _chat_key, merge_album, to_incoming
from bot.channels.telegram.plugin import Telegram
from bot.channels.telegram.polling import PollingMixin
from bot.channels.telegram.rendering import KeyboardState, first_toast, render_edit
from bot.channels.telegram.sending import SendingMixin
from bot.channels.telegram.webhook import WebhookMixin
from bot.config import Settings
from bot.events import (
    FILE_HEAD_BYTES,
    Attachment,
    ConversationHandler,
    HandlingDeferred,
    Incoming,
    Reply,
    RetryLater,
    Unreachable,
)

logger = logging.getLogger(__name__)

# --- the channel --------------------------------------------------------------------------------


class TelegramChannel(SendingMixin, PollingMixin, WebhookMixin):
    """Telegram for the conversations: polling or webhook in, immediate replies and outbox sends out."""

    channel: str = CHANNEL

    def __init__(
        self,
        settings: Settings | Telegram,
        handler: ConversationHandler,
        bot: Bot | None = None,
        *,
        polling_timeout: int = 25,
        album_window: float = 0.5,
        concurrency: int = 32,
        shutdown_grace: float = 5.0,
        runtime: Runtime | None = None,
    ) -> None:
        self._config = telegram_section(settings)
        self._handler = handler
        self._owns_bot = bot is None
        self.bot = bot if bot is not None else build_bot(self._config)
        self._polling_timeout = polling_timeout
        self._album_window = album_window
        self._shutdown_grace = shutdown_grace
        self._runtime = runtime or Runtime(shutdown_grace=shutdown_grace)
        self._sequencer = ChatOrder(concurrency)
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._running = False
        # How long a webhook request waits for a database that is away before it is refused (and re-sent
        # by Telegram); polling waits until recovery, holding the offset (None).
        self._patience: float | None = None
        self._albums: dict[tuple[str, str], _Album] = {}
        # Request keyboards still on screen ("shown") or folded after use ("folded"; one_time leaves a
        # button to reopen it). In memory: after a restart the next keyboard replaces a stale one anyway.
        self._keyboards: dict[str, KeyboardState] = {}
        # Parts of a multi-message reply already delivered, so a retried outbox send does not repeat them.
        self._sent_parts: OrderedDict[str, int] = OrderedDict()
        self._secret = ""

    async def close(self) -> None:
        if self._owns_bot:
            await self.bot.session.close()

    # --- the Channel contract ---

    async def run(self) -> None:
        """Polling or the webhook, as configured, until ``stop()``."""
        await self._retrying(self.set_commands)
        await (self.run_webhook() if self._config.mode == "webhook" else self.run_polling())

    @contextlib.asynccontextmanager
    async def _serving(self) -> AsyncIterator[None]:
        """While polling or the webhook runs: ``stop()`` waits for it to finish."""
        self._running = True
        self._stopped.clear()
        try:
            yield
        finally:
            self._running = False
            self._stopped.set()

    async def stop(self) -> None:
        """No new updates; those in flight get the grace; then the connection to Telegram is closed."""
        self._stopping.set()
        if self._running:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=self._shutdown_grace + 3)
        await self.close()

    async def answer_press(self, press_ref: str, toast: str | None) -> None:
        await self._answer(press_ref, toast)

    # --- intake ---

    async def feed(self, update: Update | dict[str, Any]) -> None:
        """Handle one update (as from a webhook) and return when it has been answered."""
        if not isinstance(update, Update):
            update = Update.model_validate(update, context={"bot": self.bot})
        await self._intake(update)

    def _intake(self, update: Update) -> asyncio.Task[None]:
        message = update.message
        if message is not None and message.media_group_id and self._album_window > 0:
            return self._intake_album(update, (str(message.chat.id), message.media_group_id))
        return self._sequencer.submit(_chat_key(update), partial(self._serve, update))

    def _intake_album(self, update: Update, key: tuple[str, str]) -> asyncio.Task[None]:
        # Each photo of an album is its own update with the same media_group_id, sent at once by the
        # client (https://core.telegram.org/bots/api#message media_group_id); gather them into one event.
        album = self._albums.get(key)
        if album is not None and not album.closed and album.task is not None:
            album.updates.append(update)
            album.arrived.set()
            return album.task
        album = _Album(updates=[update])
        self._albums[key] = album
        album.task = self._sequencer.submit(key[0], partial(self._serve_album, key, album))
        return album.task

    async def _serve_album(self, key: tuple[str, str], album: _Album) -> None:
        while await _arrives_within(album.arrived, self._album_window):
            album.arrived.clear()
        album.closed = True
        if self._albums.get(key) is album:
            del self._albums[key]
        album.updates.sort(key=lambda u: u.update_id)  # webhook requests may overtake each other
        try:
            taken = [(u, incoming) for u in album.updates if (incoming := to_incoming(u)) is not None]
            if taken:
                incoming = merge_album([part for _, part in taken], [u.update_id for u in album.updates],
                                       [u.message.message_id for u, _ in taken if u.message is not None])
                await self._converse(incoming, album.updates[0])
        except HandlingDeferred:
            raise  # not handled: not confirmed either (polling offset, webhook status)
        except Exception:
            logger.exception("telegram album of updates %s failed in the channel", album.updates[0].update_id)
            await self._last_resort(album.updates[0])

    async def _serve(self, update: Update) -> None:
        try:
            incoming = to_incoming(update)
            if incoming is not None:
                await self._converse(incoming, update)
                return
            if update.callback_query is not None:
                await self._answer(update.callback_query.id, None)
            await self._on_membership(update)
        except HandlingDeferred:
            raise  # not handled: not confirmed either (polling offset, webhook status)
        except Exception:  # a bug here (say, a 65-byte payload) must not stop the other updates
            logger.exception("telegram update %s failed in the channel", update.update_id)
            await self._last_resort(update)

    async def _last_resort(self, update: Update) -> None:
        query = update.callback_query
        if query is not None:
            await self._answer(query.id, None)  # harmless if it was answered already
        chat = _chat_key(update)
        if update.message is not None or (query is not None and query.message is not None):
            with contextlib.suppress(AiogramError):
                await self.bot(SendMessage(chat_id=_chat(chat), text=apology(_language(update)).text))

    async def _converse(self, incoming: Incoming, update: Update) -> None:
        if incoming.phone is not None or incoming.location is not None:
            self._keyboards[incoming.chat_id] = "folded"  # a one_time keyboard hides itself once used
        replies = await self._ask(await read_heads(incoming, self.peek), update)
        if update.callback_query is not None:
            # Always, even after a failure: otherwise the button spins for the user for seconds.
            await self._answer(update.callback_query.id, first_toast(replies))
        await self._reply_now(incoming, replies)

    async def _ask(self, incoming: Incoming, update: Update) -> list[Reply]:
        try:
            return await handle_patiently(self._handler, incoming, budget=self._patience, stopping=self._stopping)
        except HandlingDeferred:
            if update.callback_query is not None:
                await self._answer(update.callback_query.id, None)  # the spinner stops; the press comes again
            raise
        except Exception:
            logger.exception("handler failed on %s (chat %s)", incoming.update_key, incoming.chat_id)
            # The full update holds personal data (names, phones): only at debug level.
            logger.debug("failed update: %s", update.model_dump_json(exclude_none=True))
            return [apology(incoming.language)]

    async def peek(self, attachment: Attachment) -> bytes | None:
        """The first bytes of a file a user sent: getFile, then a range of the file's URL
        (https://core.telegram.org/bots/api#getfile; files over 20 MB are refused there: not read)."""
        found = await self.bot.get_file(attachment.ref)
        api = self.bot.session.api
        if found.file_path is None or api.is_local:
            return None  # a local Bot API server gives a path on its own disk, not a URL
        head = b""
        # The URL holds the token: it goes in no log line (kit.read_heads logs the error's kind only).
        chunks = self.bot.session.stream_content(api.file_url(self.bot.token, found.file_path),
                                                 headers={"Range": f"bytes=0-{FILE_HEAD_BYTES - 1}"},
                                                 timeout=int(PEEK_TIMEOUT_S), chunk_size=FILE_HEAD_BYTES)
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                head += chunk
                if len(head) >= FILE_HEAD_BYTES:
                    break
        return head

    async def _on_membership(self, update: Update) -> None:
        change = update.my_chat_member
        if change is not None and change.new_chat_member.status in ("kicked", "left"):
            await self._mark_unreachable(str(change.chat.id), f"bot {change.new_chat_member.status}")

    # --- immediate replies ---

    async def _reply_now(self, incoming: Incoming, replies: Sequence[Reply]) -> None:
        chat_id = incoming.chat_id
        edit_ref = incoming.message_ref if incoming.is_button else None
        for reply in replies:
            try:
                if reply.replace and edit_ref is not None and await self._edit(chat_id, int(edit_ref), reply):
                    edit_ref = None
                    await self._clear_keyboard(chat_id, reply, [])
                    continue
                methods = self._render(chat_id, reply)
                if methods:
                    await self._clear_keyboard(chat_id, reply, methods)
                for method in methods:
                    await self._call_patiently(method)
            except AiogramError as exc:
                error = to_delivery_error(exc)
                if isinstance(error, Unreachable):
                    await self._mark_unreachable(chat_id, error.reason)
                    return
                logger.warning("reply to telegram chat %s not delivered: %s", chat_id, exc)
                if isinstance(error, RetryLater):
                    return  # the next replies would fail alike, and must not arrive out of order

    async def _edit(self, chat_id: str, message_id: int, reply: Reply) -> bool:
        method = render_edit(_chat(chat_id), message_id, reply)
        if method is None:
            return False
        try:
            await self._call_patiently(method)
        except TelegramBadRequest as exc:
            if NOT_MODIFIED_MARKER in exc.message.lower():
                return True  # it already shows exactly this
            if _says_unreachable(exc):
                raise
            # Too old, deleted, or a photo message (no text to edit): say it in a new message.
            logger.info("edit of %s/%s failed (%s); sending anew", chat_id, message_id, exc.message)
            return False
        return True

    async def _call_patiently(self, method: TelegramMethod[Any]) -> Any:
        """Call for a user's own action: waits out a short flood control or a network blip."""
        waited = 0.0
        for attempt in range(1, IMMEDIATE_ATTEMPTS + 1):
            try:
                return await self._call(method)
            except AiogramError as exc:
                if not _is_transient(exc) or attempt == IMMEDIATE_ATTEMPTS:
                    raise
                pause = float(exc.retry_after) if isinstance(exc, TelegramRetryAfter) else 0.5 * attempt
                if waited + pause > IMMEDIATE_MAX_WAIT:
                    raise
                logger.info("telegram %s: %s; retrying in %.1f s", type(method).__name__, exc, pause)
                await asyncio.sleep(pause)
                waited += pause
        raise AssertionError("unreachable")  # pragma: no cover

    async def _answer(self, query_id: str, toast: str | None) -> None:
        try:
            await self.bot(AnswerCallbackQuery(callback_query_id=query_id, text=toast))
        except AiogramError as exc:  # e.g. "query is too old": answering later is pointless
            logger.info("callback %s not answered: %s", query_id, exc)

    async def _mark_unreachable(self, chat_id: str, reason: str) -> None:
        await mark_unreachable(self._handler, CHANNEL, chat_id, reason)

    # --- commands ---

    async def set_commands(self) -> None:
        """The command menu: Russian for everyone, English for clients set to English."""
        for language, descriptions in command_descriptions().items():
            commands = [BotCommand(command=name, description=text) for name, text in descriptions.items()]
            # No language_code = the default for every language without its own list.
            code = None if language == "ru" else language
            await self.bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)


def _language(update: Update) -> str | None:
    user = update.message.from_user if update.message is not None else (
        update.callback_query.from_user if update.callback_query is not None else None)
    return user.language_code if user is not None else None
