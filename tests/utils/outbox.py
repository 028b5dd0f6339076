"""A sender that collects what the outbox would deliver: each chat's inbox, edits included."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

from bot.events import Reply


@dataclass
class CollectingSender:
    channel: str = "console"
    inbox: dict[str, list[Reply]] = field(default_factory=lambda: defaultdict(list))
    edits: list[tuple[str, str, Reply]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _by_ref: dict[str, tuple[str, int]] = field(default_factory=dict)

    async def send(self, chat_id: str, reply: Reply, *, dedup_key: str) -> str | None:
        self.inbox[chat_id].append(reply)
        ref = str(next(self._ids))
        self._by_ref[ref] = (chat_id, len(self.inbox[chat_id]) - 1)
        return ref

    async def edit(self, chat_id: str, message_ref: str, reply: Reply) -> bool:
        where = self._by_ref.get(message_ref)
        if where is None or where[0] != chat_id:
            return False
        self.inbox[chat_id][where[1]] = reply
        self.edits.append((chat_id, message_ref, reply))
        return True

    def last(self, chat_id: str) -> Reply:
        assert self.inbox[chat_id], f"nothing was delivered to {chat_id}"
        return self.inbox[chat_id][-1]

    def texts(self, chat_id: str) -> str:
        return "\n---\n".join(reply.text for reply in self.inbox[chat_id])
