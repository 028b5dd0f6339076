"""Telegram sending: Reply -> Bot API calls, for immediate replies and for the outbox."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import bot.channels.lazy_aiogram  # noqa: F401  # isort: skip  (before aiogram: see that module)
from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramMigrateToChat,
)
from aiogram.methods import (
    DeleteMessage,
    SendMessage,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import (
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.channels.telegram.common import (
    KEYBOARD_REMOVAL_TEXT,
    NOT_MODIFIED_MARKER,
    PROGRESS_TRACKED,
    _chat,
)
from bot.channels.telegram.errors import (
    _says_unreachable,
    to_delivery_error,
)
from bot.channels.telegram.rendering import KeyboardState, render, render_edit
from bot.events import (
    Reply,
)

logger = logging.getLogger(__name__)


class SendingMixin:
    """Sending, shared by the immediate replies and the outbox (``send`` / ``edit``): keyboards tracked,
    a moved group followed, a long reply's parts remembered so a retry does not repeat them."""

    bot: Bot
    _keyboards: dict[str, KeyboardState]
    _sent_parts: OrderedDict[str, int]
    _call_patiently: Callable[[TelegramMethod[Any]], Awaitable[Any]]

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
