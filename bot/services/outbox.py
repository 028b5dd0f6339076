"""Writing to the outbox: messages owed to people, committed with the change that caused them."""

from __future__ import annotations

from datetime import datetime

from bot.events import Reply
from storage.models import OutboxMessage, User
from storage.repositories import Repositories


async def notify(repo: Repositories, channel: str, chat_id: str, reply: Reply, *, dedup_key: str,
                 now: datetime, due_at: datetime | None = None, card_key: str | None = None) -> None:
    """Queue one message. ``dedup_key`` makes the same notice idempotent: queued twice, sent once."""
    await repo.outbox.enqueue(OutboxMessage(channel=channel, chat_id=chat_id, dedup_key=dedup_key[:128],
                                            reply=reply.to_dict(), due_at=due_at or now, created_at=now,
                                            card_key=card_key))


async def notify_user(repo: Repositories, user: User, reply: Reply, *, dedup_key: str, now: datetime,
                      due_at: datetime | None = None, card_key: str | None = None) -> None:
    await notify(repo, user.channel, user.chat_id, reply, dedup_key=dedup_key, now=now, due_at=due_at,
                 card_key=card_key)
