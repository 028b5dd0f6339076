"""The Telegram channel: a thin translator between aiogram 3 and the neutral shapes of ``bot.events``.

Updates become ``Incoming`` events for the conversation handler; each ``Reply`` becomes Bot API
calls; platform errors become the delivery layer's ``RetryLater`` / ``Unreachable``. No dialog
logic lives here: what to say, and whether an update was already handled, is the handler's job.

Ordering and delivery guarantees (the part aiogram's Dispatcher does not give, see LIBRARIES.md):
- updates of one chat are handled one after another, in update_id order; chats run concurrently;
- polling confirms an update to Telegram (the getUpdates ``offset``) only once it has been handled,
  so a crash re-delivers the updates in flight (at least once); the handler de-duplicates on
  ``update_key`` inside its transaction, which makes the whole exactly-once;
- a webhook request is answered only after its update was handled, so Telegram re-sends it if we die.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import partial
from typing import Any, Final, Literal

import bot.channels.lazy_aiogram  # noqa: F401  # isort: skip  (before aiogram: see that module)
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageText,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeDefault,
    CallbackQuery,
    Chat,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from aiohttp import web
from pydantic import ValidationError

from bot.config import Settings, Telegram
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
from bot.i18n import LANGUAGES, translator

logger = logging.getLogger(__name__)

CHANNEL: Final = "telegram"
# Limits: https://core.telegram.org/bots/api#sendmessage (4096 after entity parsing, counted in
# UTF-16 code units like every Telegram offset), #inlinekeyboardbutton (callback_data 1-64 bytes),
# #sendmediagroup (2-10 items), #answercallbackquery (text 0-200 characters).
TEXT_LIMIT: Final = 4096
CALLBACK_DATA_LIMIT: Final = 64
MEDIA_GROUP_LIMIT: Final = 10
TOAST_LIMIT: Final = 200
# A file the bot made on this machine (a chart, an export, a protocol): its ref is an absolute path and it
# is uploaded. Uploads are limited to 10 MB for a photo and 50 MB for other files
# (https://core.telegram.org/bots/api#sending-files): a bigger photo goes as a document.
LOCAL: Final = "local"
PHOTO_UPLOAD_LIMIT: Final = 10 * 1024 * 1024
UPLOAD_LIMIT: Final = 50 * 1024 * 1024
# The last line of defence when the handler raises; the handler normally apologises itself.
APOLOGY: Final = "Извините, что-то пошло не так. Попробуйте ещё раз или /cancel."
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # https://core.telegram.org/bots/api#setwebhook
SECRET_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# my_chat_member tells us at once when a user blocks the bot; edited messages are not appeals.
ALLOWED_UPDATES: Final = ("message", "callback_query", "my_chat_member")
GROUP_TYPES: Final = frozenset({"group", "supergroup"})
ACCEPTED_CONTENT: Final = frozenset({"text", "photo", "document", "location", "venue", "contact"})
# Things a person sends that an appeal cannot carry: the handler is told the kind and explains.
# Everything else without a sender's content (joins, pins, title changes) is a service message: ignored.
UNSUPPORTED_CONTENT: Final = frozenset({
    "sticker", "voice", "video", "audio", "video_note", "animation", "poll", "dice", "game", "story",
    "live_photo", "paid_media", "checklist", "giveaway", "invoice", "web_app_data", "users_shared",
    "chat_shared", "rich_message",
})
# 400s that mean "this chat cannot be written to", not "this request was malformed".
UNREACHABLE_MARKERS: Final = (
    "chat not found", "user is deactivated", "not enough rights", "chat_write_forbidden",
    "have no rights to send", "peer_id_invalid", "bot was kicked",
)
NOT_MODIFIED_MARKER: Final = "message is not modified"
KEYBOARD_REMOVAL_TEXT: Final = "…"  # shown for a moment: the message is deleted right after it is sent
# An immediate reply waits out flood control, but not for long: the user is looking at the chat.
IMMEDIATE_ATTEMPTS: Final = 3
IMMEDIATE_MAX_WAIT: Final = 30.0
PROGRESS_TRACKED: Final = 10_000

# TODO(lead): move to the locale catalogues (locales/) and read them from there.
MENU_COMMANDS: Final = ("start", "new", "my", "help", "lang", "cancel")


def command_descriptions() -> dict[str, dict[str, str]]:
    """The command menu's texts come from the catalogues (keys cmd.*), like every user-visible string."""
    return {language: {name: translator(language)(f"cmd.{name}") for name in MENU_COMMANDS}
            for language in LANGUAGES}


# --- update -> Incoming -------------------------------------------------------------------------


def update_key(update_id: int) -> str:
    return f"{CHANNEL}:{update_id}"


def to_incoming(update: Update) -> Incoming | None:
    """The neutral event for an update, or None for what the conversations never see."""
    if update.message is not None:
        return message_incoming(update.message, update.update_id)
    if update.callback_query is not None:
        return callback_incoming(update.callback_query, update.update_id)
    return None


def message_incoming(message: Message, update_id: int) -> Incoming | None:
    user = message.from_user
    content_type = message.content_type  # a (str, Enum): hashes by name, so compare its value
    kind = content_type.value if isinstance(content_type, Enum) else str(content_type)
    if user is None or (kind not in ACCEPTED_CONTENT and kind not in UNSUPPORTED_CONTENT):
        return None
    return Incoming(
        **_who(message.chat, user, update_id),
        text=message.text or message.caption or "",
        attachments=_attachments(message),
        location=_location(message),
        phone=_own_phone(message, user),
        unsupported=_unsupported(message, user, kind),
    )


def callback_incoming(query: CallbackQuery, update_id: int) -> Incoming | None:
    # No message: a button of an inline-mode message, which this bot does not post.
    if query.message is None or query.data is None:
        return None
    return Incoming(
        **_who(query.message.chat, query.from_user, update_id),
        payload=query.data,
        message_ref=str(query.message.message_id),
    )


def _who(chat: Chat, user: User, update_id: int) -> dict[str, Any]:
    return {
        "channel": CHANNEL,
        "chat_id": str(chat.id),
        "user_id": str(user.id),
        "update_key": update_key(update_id),
        "is_group": chat.type in GROUP_TYPES,
        "user_name": user.full_name,
        "language": user.language_code,
    }


def _attachments(message: Message) -> tuple[Attachment, ...]:
    if message.photo:
        # Telegram sends several sizes of one photo; keep the largest (the list is usually ascending,
        # but the API does not promise an order).
        best = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        return (Attachment(kind="photo", ref=best.file_id, channel=CHANNEL, size=best.file_size),)
    if message.document is not None:
        doc = message.document
        return (Attachment(kind="document", ref=doc.file_id, channel=CHANNEL, name=doc.file_name or "",
                           size=doc.file_size, mime=doc.mime_type or ""),)
    return ()


def _location(message: Message) -> Location | None:
    # A venue also carries its location (https://core.telegram.org/bots/api#message: "venue ... location").
    if message.location is None:
        return None
    return Location(latitude=message.location.latitude, longitude=message.location.longitude)


def _own_phone(message: Message, user: User) -> str | None:
    # request_contact shares the user's own card; a forwarded card of someone else is not their phone.
    contact = message.contact
    if contact is None or contact.user_id != user.id:
        return None
    return contact.phone_number


def _unsupported(message: Message, user: User, kind: str) -> str | None:
    if kind in UNSUPPORTED_CONTENT:
        return kind
    if message.contact is not None and message.contact.user_id != user.id:
        return "contact"
    return None


def merge_album(parts: Sequence[Incoming], update_ids: Sequence[int]) -> Incoming:
    """One event for the photos of one album: attachments in order, captions joined."""
    first = parts[0]
    if len(parts) == 1:
        return first
    # The key names the whole range: a re-delivered album (after a crash) gets the same key.
    key = f"{update_key(update_ids[0])}-{update_ids[-1]}"
    return replace(
        first,
        update_key=key,
        text="\n".join(part.text for part in parts if part.text),
        attachments=tuple(item for part in parts for item in part.attachments),
    )


# --- Reply -> Bot API calls ---------------------------------------------------------------------


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a long text into messages at paragraph, then line, then word boundaries; nothing is lost."""
    chunks: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        cut = _cut_point(rest, limit)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return [chunk for chunk in chunks if chunk]


def _cut_point(text: str, limit: int) -> int:
    window = text[:limit]
    while utf16_len(window) > limit:  # astral characters (emoji) count twice in UTF-16
        window = window[: limit - (utf16_len(window) - len(window))]
    for separator in ("\n\n", "\n", " "):
        position = window.rfind(separator)
        if position > len(window) // 2:
            return position + len(separator)
    return len(window)


def inline_keyboard(rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    for button in (b for row in rows for b in row):
        if len(button.payload.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError(f"button payload over {CALLBACK_DATA_LIMIT} bytes: {button.payload!r}")
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.label, callback_data=b.payload) for b in row] for row in rows
    ])


def request_keyboard(rows: list[list[Button]]) -> ReplyKeyboardMarkup | None:
    if not rows:
        return None
    # one_time: the keyboard folds away once used, the user is back at the normal keyboard.
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=b.label, request_contact=b.request == "phone",
                                  request_location=b.request == "location") for b in row] for row in rows],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
KeyboardState = Literal["shown", "folded"]
MARKUP_CARRIERS: Final = (SendMessage, SendPhoto, SendDocument)  # sendMediaGroup takes no reply_markup


def render(chat_id: int | str, reply: Reply, *, remove_keyboard: bool = False) -> list[TelegramMethod[Any]]:
    """The Bot API calls that show ``reply`` as new messages, in order.

    Text first (split if long) with the inline buttons on its last part, then files. A message has
    one reply_markup, so a request keyboard next to inline buttons comes on a message of its own,
    captioned with the request buttons' labels. ``remove_keyboard`` takes a request keyboard shown
    earlier away, on the first message free to carry it (not one with inline buttons).
    """
    files = _files(reply.attachments)
    text_parts = split_text(_text_with_names(reply.text, files.named))
    methods: list[TelegramMethod[Any]] = [SendMessage(chat_id=chat_id, text=part) for part in text_parts]
    text_count = len(methods)
    methods += _file_methods(chat_id, files)
    inline = inline_keyboard(reply.inline_buttons)
    keyboard = request_keyboard(reply.request_buttons)
    if inline is not None:
        _attach(methods, inline, prefer=text_count - 1, chat_id=chat_id,
                fallback_text=_labels(reply.inline_buttons))
    if keyboard is not None:
        holder = text_count - 1 if inline is None else -1
        _attach(methods, keyboard, prefer=holder, chat_id=chat_id,
                fallback_text=_labels(reply.request_buttons))
    elif remove_keyboard:
        free = next((i for i, m in enumerate(methods)
                     if isinstance(m, MARKUP_CARRIERS) and m.reply_markup is None), None)
        if free is not None:
            methods[free].reply_markup = ReplyKeyboardRemove()
    return methods


def _attach(methods: list[TelegramMethod[Any]], markup: Markup, *, prefer: int, chat_id: int | str,
            fallback_text: str) -> None:
    if prefer >= 0:
        methods[prefer].reply_markup = markup
        return
    free = [m for m in methods if isinstance(m, MARKUP_CARRIERS) and m.reply_markup is None]
    if free and isinstance(markup, InlineKeyboardMarkup):
        free[-1].reply_markup = markup  # no text: the buttons go under the last file
        return
    methods.append(SendMessage(chat_id=chat_id, text=fallback_text or "…", reply_markup=markup))


def _labels(rows: list[list[Button]]) -> str:
    return "\n".join(b.label for row in rows for b in row)


@dataclass
class _Files:
    """A reply's files as Telegram takes them: file_ids and uploads, and the rest, named in the text."""

    photos: list[str | InputFile] = field(default_factory=list)
    documents: list[str | InputFile] = field(default_factory=list)
    named: list[Attachment] = field(default_factory=list)

    @property
    def sent(self) -> bool:
        return bool(self.photos or self.documents)


def _files(attachments: Sequence[Attachment]) -> _Files:
    files = _Files()
    for attachment in attachments:
        if attachment.channel == CHANNEL:
            (files.photos if attachment.kind == "photo" else files.documents).append(attachment.ref)
            continue
        size = _upload_size(attachment)
        if size is None:
            # A file_id of VK (or of another bot) means nothing to Telegram: the file is named instead.
            files.named.append(attachment)
            continue
        upload = FSInputFile(attachment.ref, filename=attachment.name or None)
        as_photo = attachment.kind == "photo" and size <= PHOTO_UPLOAD_LIMIT
        (files.photos if as_photo else files.documents).append(upload)
    return files


def _upload_size(attachment: Attachment) -> int | None:
    """The size of a local file Telegram would take, else None (not local, gone, empty or too big)."""
    if attachment.channel != LOCAL:
        return None
    try:
        size = os.path.getsize(attachment.ref)
    except OSError:
        logger.warning("local file %s is not there: named instead of sent", attachment.ref)
        return None
    if not 0 < size <= UPLOAD_LIMIT:
        logger.warning("local file %s has %d bytes, Telegram takes 1 B to 50 MB: named instead", attachment.ref, size)
        return None
    return size


def _text_with_names(text: str, named: Sequence[Attachment]) -> str:
    if not named:
        return text
    names = "\n".join(f"📎 {a.name or a.kind}" for a in named)
    return f"{text}\n\n{names}" if text else names


def _file_methods(chat_id: int | str, files: _Files) -> list[TelegramMethod[Any]]:
    methods: list[TelegramMethod[Any]] = []
    for start in range(0, len(files.photos), MEDIA_GROUP_LIMIT):
        group = files.photos[start:start + MEDIA_GROUP_LIMIT]
        if len(group) == 1:
            methods.append(SendPhoto(chat_id=chat_id, photo=group[0]))
        else:
            media = [InputMediaPhoto(media=ref) for ref in group]
            methods.append(SendMediaGroup(chat_id=chat_id, media=media))
    methods += [SendDocument(chat_id=chat_id, document=ref) for ref in files.documents]
    return methods


def render_edit(chat_id: int | str, message_id: int, reply: Reply) -> EditMessageText | None:
    """The edit that shows ``reply`` in place of the pressed message, or None when it cannot be an edit.

    Only text with inline buttons can replace a message: an edit takes no reply keyboard and no files
    (https://core.telegram.org/bots/api#updating-messages), and one message holds one text part.
    """
    files = _files(reply.attachments)
    parts = split_text(_text_with_names(reply.text, files.named))
    if len(parts) != 1 or reply.request_buttons or files.sent:
        return None
    return EditMessageText(chat_id=chat_id, message_id=message_id, text=parts[0],
                           reply_markup=inline_keyboard(reply.inline_buttons))


def first_toast(replies: Sequence[Reply]) -> str | None:
    toast = next((r.toast for r in replies if r.toast), None)
    return toast[:TOAST_LIMIT] if toast else None


# --- errors -------------------------------------------------------------------------------------


def to_delivery_error(exc: AiogramError) -> DeliveryError:
    """The delivery layer's decision for a Bot API failure."""
    if isinstance(exc, TelegramRetryAfter):
        return RetryLater(exc.message, retry_after=float(exc.retry_after))
    if isinstance(exc, TelegramForbiddenError):  # blocked by the user, kicked from the group
        return Unreachable(exc.message)
    if isinstance(exc, TelegramBadRequest) and _says_unreachable(exc):
        return Unreachable(exc.message)
    if isinstance(exc, TelegramAPIError) and not isinstance(
        exc, TelegramNetworkError | TelegramServerError | TelegramUnauthorizedError
    ):
        return DeliveryError(exc.message)  # a malformed request: retrying sends the same mistake
    # Network, 5xx, a bad answer, or a revoked token: nothing is lost by trying again later.
    return RetryLater(str(exc))


def _says_unreachable(exc: TelegramAPIError) -> bool:
    text = exc.message.lower()
    return any(marker in text for marker in UNREACHABLE_MARKERS)


def _is_transient(exc: AiogramError) -> bool:
    return isinstance(to_delivery_error(exc), RetryLater)


# --- building the bot ---------------------------------------------------------------------------


def telegram_section(settings: Settings | Telegram) -> Telegram:
    return settings.telegram if isinstance(settings, Settings) else settings


def build_bot(settings: Settings | Telegram) -> Bot:
    """An aiogram Bot for the token, talking to ``api_base`` when set (a local Bot API server, a fake)."""
    config = telegram_section(settings)
    if config.token is None:
        raise ValueError("telegram.token: set TELEGRAM_BOT_TOKEN in the environment")
    token = config.token.get_secret_value()
    if config.api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(config.api_base.rstrip("/")))
        return Bot(token, session=session)
    return Bot(token)  # no default parse_mode: texts go as plain text, a citizen's "<" stays a "<"


# --- ordering -----------------------------------------------------------------------------------


class ChatSequencer:
    """Runs jobs of one chat one after another, jobs of different chats side by side (up to a limit)."""

    def __init__(self, concurrency: int) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(concurrency)

    def submit(self, chat_key: str, job: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run(self._tails.get(chat_key), job))
        self._tails[chat_key] = task
        task.add_done_callback(partial(self._forget, chat_key))
        return task

    async def _run(self, previous: asyncio.Task[None] | None, job: Callable[[], Awaitable[None]]) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its outcome is its own; only its end matters here
        async with self._slots:
            await job()

    def _forget(self, chat_key: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(chat_key) is task:
            del self._tails[chat_key]


@dataclass
class _UpdateBook:
    """Which updates are in flight, hence which offset confirms only handled ones."""

    in_flight: set[int] = field(default_factory=set)
    highest: int | None = None
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def offset(self) -> int | None:
        if self.in_flight:
            return min(self.in_flight)
        return None if self.highest is None else self.highest + 1

    def take_new(self, updates: Sequence[Update]) -> list[Update]:
        fresh = [u for u in updates if self.highest is None or u.update_id > self.highest]
        for update in fresh:
            self.in_flight.add(update.update_id)
            self.highest = update.update_id
        return fresh

    def finish(self, update_id: int, _: object = None) -> None:
        self.in_flight.discard(update_id)
        self.progress.set()


@dataclass
class _Album:
    updates: list[Update]
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    closed: bool = False


def _chat_key(update: Update) -> str:
    if update.message is not None:
        return str(update.message.chat.id)
    query = update.callback_query
    if query is not None:
        return str(query.message.chat.id) if query.message is not None else f"user:{query.from_user.id}"
    if update.my_chat_member is not None:
        return str(update.my_chat_member.chat.id)
    return "other"


# --- the channel --------------------------------------------------------------------------------


class TelegramChannel:
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
    ) -> None:
        self._config = telegram_section(settings)
        self._handler = handler
        self._owns_bot = bot is None
        self.bot = bot if bot is not None else build_bot(self._config)
        self._polling_timeout = polling_timeout
        self._album_window = album_window
        self._shutdown_grace = shutdown_grace
        self._sequencer = ChatSequencer(concurrency)
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
            parts = [incoming for u in album.updates if (incoming := to_incoming(u)) is not None]
            if parts:
                incoming = merge_album(parts, [u.update_id for u in album.updates])
                await self._converse(incoming, album.updates[0])
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
                await self.bot(SendMessage(chat_id=_chat(chat), text=APOLOGY))

    async def _converse(self, incoming: Incoming, update: Update) -> None:
        if incoming.phone is not None or incoming.location is not None:
            self._keyboards[incoming.chat_id] = "folded"  # a one_time keyboard hides itself once used
        replies = await self._ask(incoming, update)
        if update.callback_query is not None:
            # Always, even after a failure: otherwise the button spins for the user for seconds.
            await self._answer(update.callback_query.id, first_toast(replies))
        await self._reply_now(incoming, replies)

    async def _ask(self, incoming: Incoming, update: Update) -> list[Reply]:
        try:
            return await self._handler.handle(incoming)
        except Exception:
            logger.exception("handler failed on %s (chat %s)", incoming.update_key, incoming.chat_id)
            # The full update holds personal data (names, phones): only at debug level.
            logger.debug("failed update: %s", update.model_dump_json(exclude_none=True))
            return [Reply(text=APOLOGY)]

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
        try:
            await self._handler.mark_unreachable(CHANNEL, chat_id, reason)
        except Exception:
            logger.exception("mark_unreachable failed for telegram chat %s", chat_id)

    # --- sending (shared by immediate replies and the outbox) ---

    def _render(self, chat_id: str, reply: Reply) -> list[TelegramMethod[Any]]:
        return render(_chat(chat_id), reply, remove_keyboard=chat_id in self._keyboards)

    async def _clear_keyboard(self, chat_id: str, reply: Reply,
                              methods: Sequence[TelegramMethod[Any]]) -> None:
        """Take a request keyboard the user did not use off the screen before a step that has no use for it.

        A message carries one reply_markup, so a reply with inline buttons cannot also remove the
        keyboard, and an edit cannot remove it at all. Otherwise the big "share phone" keyboard would
        cover the sector buttons. The usual remedy: a silent message that removes it, deleted at once.
        A folded keyboard (already used) is left for the next message free to carry the removal.
        """
        if self._keyboards.get(chat_id) != "shown" or reply.request_buttons:
            return
        if any(isinstance(getattr(m, "reply_markup", None), ReplyKeyboardRemove) for m in methods):
            return
        note = await self._call_patiently(SendMessage(
            chat_id=_chat(chat_id), text=KEYBOARD_REMOVAL_TEXT, reply_markup=ReplyKeyboardRemove(),
            disable_notification=True))
        try:
            await self.bot(DeleteMessage(chat_id=_chat(chat_id), message_id=note.message_id))
        except AiogramError as exc:
            logger.info("keyboard note %s/%s not deleted: %s", chat_id, note.message_id, exc)

    async def _call(self, method: TelegramMethod[Any]) -> Any:
        try:
            result = await self.bot(method)
        except TelegramMigrateToChat as exc:
            # A group became a supergroup and got a new id; the staff_chat in config.toml needs it.
            logger.warning("telegram chat %s moved to %s: update the configuration",
                           getattr(method, "chat_id", "?"), exc.migrate_to_chat_id)
            method = method.model_copy(update={"chat_id": exc.migrate_to_chat_id})
            result = await self.bot(method)
        self._note_keyboard(method)
        return result

    def _note_keyboard(self, method: TelegramMethod[Any]) -> None:
        markup = getattr(method, "reply_markup", None)
        chat_id = str(getattr(method, "chat_id", ""))
        if isinstance(markup, ReplyKeyboardMarkup):
            self._keyboards[chat_id] = "shown"
        elif isinstance(markup, ReplyKeyboardRemove):
            self._keyboards.pop(chat_id, None)

    async def send(self, chat_id: str, reply: Reply, *, dedup_key: str) -> str | None:
        """The Sender protocol, for the outbox: one attempt, failures mapped for the delivery layer.

        Telegram has no idempotency key, so ``dedup_key`` only remembers which parts of a long reply
        went out already: a retry continues where the failure stopped instead of repeating them.
        Returns the id of the last text message sent (an appeal card is edited through it later).
        """
        # Keyboards are left alone: a notice must not take away the keyboard of a step in progress.
        methods = render(_chat(chat_id), reply)
        done = self._sent_parts.pop(dedup_key, 0)
        last: str | None = None
        for index in range(done, len(methods)):
            try:
                result = await self._call(methods[index])
            except AiogramError as exc:
                self._remember_progress(dedup_key, index)
                raise to_delivery_error(exc) from exc
            if isinstance(methods[index], SendMessage) and getattr(result, "message_id", None) is not None:
                last = str(result.message_id)
        return last

    async def edit(self, chat_id: str, message_ref: str, reply: Reply) -> bool:
        """Sender: show a new version of an appeal card in place; False sends it anew instead."""
        if not message_ref.isdigit():
            return False
        method = render_edit(_chat(chat_id), int(message_ref), reply)
        if method is None:
            return False
        try:
            await self._call(method)
        except TelegramBadRequest as exc:
            if NOT_MODIFIED_MARKER in exc.message.lower():
                return True
            if _says_unreachable(exc):
                raise to_delivery_error(exc) from exc
            return False
        except AiogramError as exc:
            raise to_delivery_error(exc) from exc
        return True

    def _remember_progress(self, dedup_key: str, parts_done: int) -> None:
        if parts_done == 0:
            return
        self._sent_parts[dedup_key] = parts_done
        while len(self._sent_parts) > PROGRESS_TRACKED:
            self._sent_parts.popitem(last=False)

    # --- commands ---

    async def set_commands(self) -> None:
        """The command menu: Russian for everyone, English for clients set to English."""
        for language, descriptions in command_descriptions().items():
            commands = [BotCommand(command=name, description=text) for name, text in descriptions.items()]
            # No language_code = the default for every language without its own list.
            code = None if language == "ru" else language
            await self.bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)

    # --- polling ---

    async def run_polling(self) -> None:
        """Long-poll getUpdates until cancelled; network failures back off and recover by themselves."""
        await self._introduce()
        # getUpdates answers 409 while a webhook is set (https://core.telegram.org/bots/api#getupdates).
        await self._retrying(partial(self.bot.delete_webhook, drop_pending_updates=False))
        book = _UpdateBook()
        tasks: set[asyncio.Task[None]] = set()
        try:
            await self._poll(book, tasks)
        finally:
            await self._drain(tasks)

    async def _poll(self, book: _UpdateBook, tasks: set[asyncio.Task[None]]) -> None:
        backoff = _Backoff()
        while True:
            book.progress.clear()
            try:
                updates = await self.bot.get_updates(
                    offset=book.offset(), timeout=self._polling_timeout,
                    allowed_updates=list(ALLOWED_UPDATES), request_timeout=self._polling_timeout + 10,
                )
            except AiogramError as exc:
                delay = backoff.next()
                logger.warning("telegram getUpdates failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            fresh = book.take_new(updates)
            for update in fresh:
                task = self._intake(update)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(partial(book.finish, update.update_id))
            if not fresh and book.in_flight:
                # The offset holds the unfinished ones, so Telegram returns them again at once:
                # wait for one to finish instead of asking in a tight loop.
                await _arrives_within(book.progress, 1.0)

    async def _drain(self, tasks: set[asyncio.Task[None]]) -> None:
        pending = set(tasks)
        if pending and self._shutdown_grace > 0:
            _, pending = await asyncio.wait(pending, timeout=self._shutdown_grace)
        for task in pending:
            task.cancel()  # not confirmed to Telegram: the next start gets these updates again

    async def _introduce(self) -> None:
        me = await self._retrying(self.bot.get_me, fatal=(TelegramUnauthorizedError,))
        logger.info("telegram bot @%s (id %s) started", me.username, me.id)

    async def _retrying(self, call: Callable[[], Awaitable[Any]],
                        fatal: tuple[type[Exception], ...] = ()) -> Any:
        backoff = _Backoff()
        while True:
            try:
                return await call()
            except AiogramError as exc:
                if isinstance(exc, fatal):
                    raise
                delay = backoff.next()
                logger.warning("telegram start-up call failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    # --- webhook ---

    def webhook_app(self) -> web.Application:
        """An aiohttp app that takes Telegram's webhook POSTs at ``webhook_path``, secret checked on each."""
        self._secret = self._webhook_secret()
        app = web.Application()
        app.router.add_post(self._config.webhook_path, self._on_webhook)
        app.on_startup.append(self._register_webhook)
        return app

    async def run_webhook(self) -> None:
        # No access log: updates are counted in /metrics and logged with their update id and user where
        # something happens (bot/observability.py); aiohttp's line per POST cost ~3% of the CPU under
        # load (bench/load.py) and told nothing more.
        runner = web.AppRunner(self.webhook_app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._config.webhook_host, self._config.webhook_port).start()
            logger.info("telegram webhook listening on %s:%s%s", self._config.webhook_host,
                        self._config.webhook_port, self._config.webhook_path)
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    def _webhook_secret(self) -> str:
        secret = self._config.webhook_secret
        if secret is None or not SECRET_RE.match(secret.get_secret_value()):
            # Without it anyone who finds the URL can post fake updates in a citizen's name.
            raise ValueError("telegram.webhook_secret: set TELEGRAM_WEBHOOK_SECRET (1-256 of A-Za-z0-9_-)")
        return secret.get_secret_value()

    async def _register_webhook(self, _: web.Application) -> None:
        await self._introduce()
        if self._config.webhook_url:
            await self._retrying(partial(
                self.bot.set_webhook, url=self._config.webhook_url, secret_token=self._webhook_secret(),
                allowed_updates=list(ALLOWED_UPDATES), drop_pending_updates=False,
            ))

    async def _on_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.Response(status=401)
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            return web.Response(status=403)
        try:
            update = Update.model_validate(await request.json(), context={"bot": self.bot})
        except (ValueError, ValidationError):
            return web.Response(status=400)
        # Answer only once handled (Telegram re-sends otherwise); shielded so a dropped connection
        # cannot cut the handling in the middle.
        await asyncio.shield(self._intake(update))
        return web.Response()


class _Backoff:
    """0.5, 1, 2 ... up to 30 s between failed attempts."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self._first, self._cap, self._delay = first, cap, first

    def next(self) -> float:
        delay, self._delay = self._delay, min(self._delay * 2, self._cap)
        return delay

    def reset(self) -> None:
        self._delay = self._first


async def _arrives_within(event: asyncio.Event, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


def _chat(chat_id: str) -> int | str:
    """Bot API chat ids are integers; ``@channelname`` strings pass through."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id
