"""The outbox: messages queued in the transaction that owes them, claimed and delivered in order per chat."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import OutboxMessage
from storage.repositories._sql import _insert


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, message: OutboxMessage) -> None:
        statement = _insert(self.session, OutboxMessage).values(
            channel=message.channel,
            chat_id=message.chat_id,
            dedup_key=message.dedup_key,
            reply=message.reply,
            status="pending",
            attempts=0,
            due_at=message.due_at,
            created_at=message.created_at,
            card_key=message.card_key,
            audience=message.audience,
            fresh=bool(message.fresh),
        )
        await self.session.execute(statement.on_conflict_do_nothing(index_elements=["dedup_key"]))

    async def claim_due(self, now: datetime, limit: int, channels: Sequence[str]) -> Sequence[OutboxMessage]:
        """Due rows, oldest first, and of each chat only its first: a message never overtakes an earlier one.

        A row waits while an earlier row of its chat is pending and either due (it goes first, in this
        pass or in the other instance's, which may hold it locked right now: SKIP LOCKED passes over it,
        and its lease is not yet visible) or tried already (being sent under a lease, or waiting out a
        retry). An earlier row never tried and due later (a notice held for working hours, a rating
        reminder) holds nothing up: it was meant for later. Several messages to one chat thus go one per
        pass, which the per-chat pacing (1 message/s on Telegram) asks for anyway.
        """
        earlier = aliased(OutboxMessage)
        in_flight_before = (
            select(earlier.id)
            .where(earlier.status == "pending", or_(earlier.attempts > 0, earlier.due_at <= now),
                   earlier.channel == OutboxMessage.channel, earlier.chat_id == OutboxMessage.chat_id,
                   earlier.id < OutboxMessage.id)
            .exists()
        )
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.due_at <= now,
                   OutboxMessage.channel.in_(channels), ~in_flight_before)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
        )
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()

    async def pending_for_chat(self, channel: str, chat_id: str) -> Sequence[OutboxMessage]:
        result = await self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id,
                   OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
        )
        return result.all()

    async def pending_for_audience(self, channel: str, chat_id: str) -> Sequence[OutboxMessage]:
        """A chat's queued messages that are meant for a role, a ministry or a group (re-checked on a change)."""
        result = await self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id,
                   OutboxMessage.status == "pending", OutboxMessage.audience.is_not(None))
            .order_by(OutboxMessage.id))
        return result.all()

    async def set_state(self, message_ids: Sequence[int], **values: Any) -> None:
        """Record an outcome of delivery (sent, failed, next due time) for the given rows."""
        await self.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(list(message_ids)))
                                   .values(**values))

    async def last_card_ref(self, card_key: str, channel: str, chat_id: str) -> str | None:
        return await self.session.scalar(
            select(OutboxMessage.sent_ref)
            .where(OutboxMessage.card_key == card_key, OutboxMessage.channel == channel,
                   OutboxMessage.chat_id == chat_id, OutboxMessage.status == "sent",
                   OutboxMessage.sent_ref.is_not(None))
            .order_by(OutboxMessage.id.desc()).limit(1))

    async def newer_card_pending(self, message: OutboxMessage) -> bool:
        newer = await self.session.scalar(
            select(OutboxMessage.id)
            .where(OutboxMessage.card_key == message.card_key, OutboxMessage.channel == message.channel,
                   OutboxMessage.chat_id == message.chat_id, OutboxMessage.id > message.id,
                   OutboxMessage.status == "pending").limit(1))
        return newer is not None

    async def fail_unknown_channels(self, known: Sequence[str]) -> int:
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.channel.not_in(list(known)))
            .values(status="failed", last_error="unknown channel")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def pass_freshness(self, message: OutboxMessage) -> None:
        """A fresh card superseded before it went out: its later versions come as a new message instead."""
        await self.session.execute(update(OutboxMessage).where(
            OutboxMessage.card_key == message.card_key, OutboxMessage.channel == message.channel,
            OutboxMessage.chat_id == message.chat_id, OutboxMessage.id > message.id,
            OutboxMessage.status == "pending").values(fresh=True))

    async def pending_stats(self) -> tuple[int, datetime | None]:
        row = (await self.session.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending"))).one()
        return int(row[0]), row[1]

    async def failures(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(OutboxMessage.last_error, func.count()).where(OutboxMessage.status == "failed")
            .group_by(OutboxMessage.last_error))
        return {str(reason or "unknown"): count for reason, count in rows.all()}

    async def depth(self) -> int:
        return await self.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        ) or 0

    async def unsent_with_prefix(self, key_prefix: str) -> Sequence[OutboxMessage]:
        """Rows never tried whose de-duplication key begins with ``key_prefix``."""
        return (await self.session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedup_key.startswith(key_prefix, autoescape=True),
                                        OutboxMessage.status == "pending", OutboxMessage.attempts == 0))).all()

    async def drop(self, message: OutboxMessage) -> None:
        await self.session.delete(message)
