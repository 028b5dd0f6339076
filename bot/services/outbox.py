"""Writing to the outbox: messages owed to people, committed with the change that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.events import Reply
from storage.models import OutboxMessage, User
from storage.repositories import Repositories


async def notify(repo: Repositories, channel: str, chat_id: str, reply: Reply, *, dedup_key: str,
                 now: datetime, due_at: datetime | None = None, card_key: str | None = None,
                 audience: dict[str, Any] | None = None, fresh: bool = False) -> None:
    """Queue one message. ``dedup_key`` makes the same notice idempotent: queued twice, sent once.

    ``audience`` (bot/services/audience.py) names whom a staff or group message is for: the sender
    re-checks the reader against it when sending. ``fresh`` sends a card anew instead of editing it.
    """
    await repo.outbox.enqueue(OutboxMessage(channel=channel, chat_id=chat_id, dedup_key=dedup_key[:128],
                                            reply=reply.to_dict(), due_at=due_at or now, created_at=now,
                                            card_key=card_key, audience=audience, fresh=fresh))


async def notify_user(repo: Repositories, user: User, reply: Reply, *, dedup_key: str, now: datetime,
                      due_at: datetime | None = None, card_key: str | None = None,
                      audience: dict[str, Any] | None = None) -> None:
    await notify(repo, user.channel, user.chat_id, reply, dedup_key=dedup_key, now=now, due_at=due_at,
                 card_key=card_key, audience=audience)
