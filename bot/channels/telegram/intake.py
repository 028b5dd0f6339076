"""Telegram updates -> the neutral ``Incoming`` events (albums merged into one)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import bot.channels.lazy_aiogram  # noqa: F401  # isort: skip  (before aiogram: see that module)
from aiogram.types import (
    CallbackQuery,
    Chat,
    Message,
    Update,
    User,
)

from bot.channels.telegram.common import ACCEPTED_CONTENT, CHANNEL, GROUP_TYPES, UNSUPPORTED_CONTENT
from bot.events import (
    Attachment,
    Incoming,
    Location,
)

logger = logging.getLogger(__name__)

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


def message_key(chat_id: str, message_id: int) -> str:
    return f"{CHANNEL}:{chat_id}:m{message_id}"


def merge_album(parts: Sequence[Incoming], update_ids: Sequence[int], message_ids: Sequence[int] = ()) -> Incoming:
    """One event for the photos of one album: attachments in order, captions joined.

    ``message_ids`` (one per part) become ``part_keys``: the handler takes each message once, however
    the album is grouped when it comes again (split after a crash, or joined differently).
    """
    first = parts[0]
    keys = tuple(message_key(part.chat_id, message_id) for part, message_id in zip(parts, message_ids, strict=True)
                 ) if message_ids else ()
    if len(parts) == 1:
        return replace(first, part_keys=keys)
    # The key names the whole range: a re-delivered album (after a crash) gets the same key.
    key = f"{update_key(update_ids[0])}-{update_ids[-1]}"
    return replace(
        first,
        update_key=key,
        text="\n".join(part.text for part in parts if part.text),
        attachments=tuple(item for part in parts for item in part.attachments),
        part_keys=keys,
    )


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
