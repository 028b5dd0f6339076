"""Telegram constants (the Bot API's limits) and small helpers shared by the modules of the channel."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Final

import bot.channels.lazy_aiogram  # noqa: F401  # isort: skip  (before aiogram: see that module)

from bot.channels.replying import LOCAL as _LOCAL
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
LOCAL: Final = _LOCAL
PHOTO_UPLOAD_LIMIT: Final = 10 * 1024 * 1024
UPLOAD_LIMIT: Final = 50 * 1024 * 1024
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
