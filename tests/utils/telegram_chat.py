"""Telegram users talking to the real TelegramChannel through the fake Bot API: the ``Chat`` of Telegram tests.

The channel runs as in production behind a webhook on 127.0.0.1; the fake server posts each update
to it and the channel answers only once the update is handled, so when an action of a
``TelegramUser`` returns, the bot's immediate answer is already on the fake server.

    async with telegram_webhook(server, app.conversations) as channel:
        anna = TelegramUser(server, 5005, "Анна", "Петрова")
        await anna.send("/start")
        await anna.press("Согласен")
        assert "согласие получено" in anna.text
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web
from pydantic import SecretStr

from bot.channels.telegram import TelegramChannel
from bot.config import Telegram
from bot.events import ConversationHandler
from tests.fakes.telegram_server import FakeTelegramServer, UpdateFactory

WEBHOOK_SECRET = "webhook-Secret_1"
Message = dict[str, Any]


class QuickSession(AiohttpSession):
    """aiogram's session, minus the 0.25 s it sleeps on close for TLS connections that 127.0.0.1 has not."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@contextlib.asynccontextmanager
async def telegram_webhook(server: FakeTelegramServer, handler: ConversationHandler,
                           **options: Any) -> AsyncIterator[TelegramChannel]:
    """The channel behind its webhook (registered with the fake through setWebhook, secret checked)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # bound before the URL is registered: no race for a free port
    port = listener.getsockname()[1]
    settings = Telegram(api_base=server.api_base, token=SecretStr(server.token), mode="webhook",
                        webhook_url=f"http://127.0.0.1:{port}/telegram", webhook_secret=SecretStr(WEBHOOK_SECRET))
    bot = Bot(server.token, session=QuickSession(api=TelegramAPIServer.from_base(server.api_base)))
    channel = TelegramChannel(settings, handler, bot, **options)
    runner = web.AppRunner(channel.webhook_app(), shutdown_timeout=0.1)
    try:
        await runner.setup()  # getMe and setWebhook, as at start-up
        await web.SockSite(runner, listener).start()
        yield channel
    finally:
        await runner.cleanup()
        listener.close()
        await bot.session.close()


@dataclass
class TelegramUser:
    """A person in one chat with the bot: their private chat (its id is theirs) unless ``chat_id`` says a group.

    Actions: ``send`` a text, ``send_photo``, ``press`` a button by (part of) its label on the newest
    message that has it, ``press_payload`` for a callback the bot never offered (a forged one, or a
    button an old client still shows). After each action ``seen`` holds the messages that appeared or
    changed in the chat, ``text`` their text and ``toast`` the answer to the press.
    """

    server: FakeTelegramServer
    user_id: int
    first_name: str = "Иван"
    last_name: str | None = None
    chat_id: int = 0
    language: str = "ru"
    seen: list[Message] = field(default_factory=list)
    toast: str | None = None

    def __post_init__(self) -> None:
        self.chat_id = self.chat_id or self.user_id

    @property
    def profile(self) -> dict[str, Any]:
        return UpdateFactory.user(self.user_id, self.first_name, self.last_name, self.language)

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def in_chat(self, chat_id: int) -> TelegramUser:
        """The same person in another chat, e.g. the ministry's staff group."""
        return TelegramUser(self.server, self.user_id, self.first_name, self.last_name, chat_id, self.language)

    # --- doing ---

    async def step(self, *updates: dict[str, Any]) -> None:
        """Deliver updates as Telegram does (several at once travel side by side) and collect what changed."""
        before = {m["message_id"]: m["edited"] for m in self.server.sent[self.chat_id]}
        for status in await asyncio.gather(*(self.server.post_to_webhook(update) for update in updates)):
            assert status == 200, f"the webhook answered {status}"
        self.seen = [m for m in self.messages if before.get(m["message_id"]) != m["edited"]]
        queries = {u["callback_query"]["id"] for u in updates if "callback_query" in u}
        answers = [c.params.get("text") for c in self.server.calls_of("answerCallbackQuery")
                   if c.params.get("callback_query_id") in queries]
        self.toast = answers[-1] if answers else None

    async def send(self, text: str) -> None:
        await self.step(self.server.make.text(self.chat_id, text, user=self.profile))

    async def send_photo(self, caption: str | None = None) -> str:
        """A photo from the phone's gallery; returns the file_id of its largest size."""
        update = self.server.make.photo(self.chat_id, caption=caption, user=self.profile)
        await self.step(update)
        return str(update["message"]["photo"][-1]["file_id"])

    async def press(self, label: str) -> str:
        """Press the button whose label contains ``label`` on the newest message that has it; its payload."""
        update = self.server.button_update(self.chat_id, label=label, user=self.profile)
        await self.step(update)
        return str(update["callback_query"]["data"])

    async def press_payload(self, payload: str, *, message_id: int | None = None) -> None:
        """A callback with ``payload`` on one of the bot's messages here (the newest by default)."""
        await self.step(self.server.callback_on(self.chat_id, payload, message_id=message_id, user=self.profile))

    # --- seeing ---

    @property
    def messages(self) -> list[Message]:
        """The bot's messages in this chat as they look now (edits applied, deleted ones gone)."""
        return [m for m in self.server.sent[self.chat_id] if not m.get("deleted")]

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or m.get("caption") or "" for m in self.seen)

    @property
    def buttons(self) -> list[str]:
        """Labels of the inline buttons on the messages seen in the last step."""
        return [label for message in self.seen for label in self.labels(message)]

    def last(self, containing: str = "") -> Message:
        """The newest message whose text contains ``containing``."""
        for message in reversed(self.messages):
            if containing in (message.get("text") or message.get("caption") or ""):
                return message
        raise AssertionError(f"no message with {containing!r} in chat {self.chat_id}: {self.texts()}")

    def message(self, message_id: int) -> Message:
        (found,) = [m for m in self.server.sent[self.chat_id] if m["message_id"] == message_id]
        return found

    def texts(self) -> list[str]:
        return self.server.texts(self.chat_id)

    @staticmethod
    def labels(message: Message) -> list[str]:
        return [b["text"] for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]

    @staticmethod
    def payloads(message: Message) -> list[str]:
        markup = message.get("reply_markup") or {}
        return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]
