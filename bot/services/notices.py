"""A message the bot owes someone on its own, before it is worded: a ``Notice``.

A service decides that a notice is owed (to whom, what kind, with which values, its de-duplication
key, when); a presenter (``bot.presenters``) words it in the recipient's language; ``queue`` puts the
worded reply in the outbox in the scan's transaction. No text here: ``params`` carry values (an
appeal, counts, days), never sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.events import Reply
from bot.services.outbox import notify
from bot.services.recipients import Recipient
from storage.repositories import Repositories


@dataclass(frozen=True)
class Notice:
    kind: str  # which wording the presenter picks
    to: Recipient
    key: str  # the outbox's de-duplication key: queued twice, sent once
    params: dict[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None  # None: at once; else held (quiet hours)
    audience: dict[str, Any] | None = None  # who may still read it when it is sent (bot/services/audience.py)


async def queue(repo: Repositories, notice: Notice, reply: Reply, now: datetime) -> None:
    await notify(repo, notice.to.channel, notice.to.chat_id, reply, dedup_key=notice.key, now=now,
                 due_at=notice.due_at, audience=notice.audience)
