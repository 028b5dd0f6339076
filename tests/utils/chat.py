"""A person talking to the conversations directly: the CollectingOutputChannel of these tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.events import Attachment, Button, Incoming, Location, Reply
from handlers import Conversations

_keys = itertools.count(1)


@dataclass
class Chat:
    conversations: Conversations
    user_id: str = "1001"
    channel: str = "console"
    chat_id: str | None = None
    is_group: bool = False
    replies: list[Reply] = field(default_factory=list)
    transcript: list[Reply] = field(default_factory=list)

    def _event(self, **fields: object) -> Incoming:
        return Incoming(channel=self.channel, chat_id=self.chat_id or self.user_id, user_id=self.user_id,
                        update_key=f"test:{next(_keys)}", is_group=self.is_group, **fields)  # type: ignore[arg-type]

    async def feed(self, event: Incoming) -> list[Reply]:
        self.replies = await self.conversations.handle(event)
        self.transcript.extend(self.replies)
        return self.replies

    async def send(self, text: str = "", **fields: object) -> list[Reply]:
        return await self.feed(self._event(text=text, **fields))

    async def attach(self, *attachments: Attachment, caption: str = "") -> list[Reply]:
        return await self.feed(self._event(text=caption, attachments=tuple(attachments)))

    async def share_location(self, latitude: float, longitude: float) -> list[Reply]:
        return await self.feed(self._event(location=Location(latitude, longitude)))

    async def share_phone(self, phone: str) -> list[Reply]:
        return await self.feed(self._event(phone=phone))

    async def press_payload(self, payload: str) -> list[Reply]:
        return await self.feed(self._event(payload=payload, message_ref="1"))

    def find_button(self, label: str) -> Button:
        """The button whose label contains ``label`` in the latest replies."""
        for reply in reversed(self.replies):
            for row in reply.buttons:
                for button in row:
                    if label.casefold() in button.label.casefold():
                        return button
        shown = [b.label for r in self.replies for row in r.buttons for b in row]
        raise AssertionError(f"no button {label!r} among {shown}")

    async def press(self, label: str) -> list[Reply]:
        return await self.press_payload(self.find_button(label).payload)

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.replies)

    @property
    def toasts(self) -> list[str]:
        return [reply.toast for reply in self.replies if reply.toast]
