"""A neutral ``Reply`` -> the Bot API calls that show it (text split, keyboards, files)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import bot.channels.lazy_aiogram  # noqa: F401  # isort: skip  (before aiogram: see that module)
from aiogram.methods import (
    EditMessageText,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import (
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.channels import kit, replying
from bot.channels.telegram.common import (
    CALLBACK_DATA_LIMIT,
    CHANNEL,
    LOCAL,
    MEDIA_GROUP_LIMIT,
    PHOTO_UPLOAD_LIMIT,
    TEXT_LIMIT,
    TOAST_LIMIT,
    UPLOAD_LIMIT,
)
from bot.events import (
    Attachment,
    Button,
    Reply,
)

logger = logging.getLogger(__name__)

# --- Reply -> Bot API calls ---------------------------------------------------------------------


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a long text into messages; Telegram counts in UTF-16 code units."""
    return kit.split_text(text, limit, utf16_len)


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
    text_parts = split_text(kit.with_file_names(reply.text, files.named))
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
    parts = split_text(kit.with_file_names(reply.text, files.named))
    if len(parts) != 1 or reply.request_buttons or files.sent:
        return None
    return EditMessageText(chat_id=chat_id, message_id=message_id, text=parts[0],
                           reply_markup=inline_keyboard(reply.inline_buttons))


def first_toast(replies: Sequence[Reply]) -> str | None:
    toast = replying.first_toast(replies)
    return toast[:TOAST_LIMIT] if toast else None
