"""One update's bookkeeping: exactly-once keys with their replies, the dialog row, scan locks, notices claimed once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation, ProcessedUpdate, SentNotice, utcnow
from storage.repositories._sql import _dialect, _insert, _insert_for

# Statements of every update, built once with bound parameters: building a statement anew (columns
# compared, values coerced) cost more than running it (bench/load.py profile); SQLAlchemy caches the
# compiled form of a statement object it has seen.
_CONVERSATION = select(Conversation).where(Conversation.channel == bindparam("channel"),
                                           Conversation.chat_id == bindparam("chat_id"))
_LOCK_CONVERSATION = _CONVERSATION.with_for_update().execution_options(populate_existing=True)
_PROCESSED = ProcessedUpdate.__table__
_REMEMBER = {dialect: _insert_for(dialect, _PROCESSED).values(key=bindparam("key"), at=bindparam("at"))
             .on_conflict_do_nothing()
             .returning(_PROCESSED.c.key) for dialect in ("sqlite", "postgresql")}
_REPLIES_OF = select(_PROCESSED.c.replies).where(_PROCESSED.c.key == bindparam("update_key"))
_STORE_REPLIES = update(_PROCESSED).where(_PROCESSED.c.key == bindparam("update_key")).values(
    replies=bindparam("replies", type_=_PROCESSED.c.replies.type), user_ref=bindparam("user_ref"))


class LockRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def try_scan_lock(self, key: int) -> bool:
        """PostgreSQL: a transaction-scoped advisory lock, so one instance runs a scan at a time.
        SQLite has one writer anyway (BEGIN IMMEDIATE): always granted."""
        if _dialect(self.session) != "postgresql":
            return True
        return bool(await self.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))


class ConversationRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self, channel: str, chat_id: str) -> Conversation:
        """The dialog of a chat, held for this transaction on PostgreSQL.

        Two updates of one chat may be handled at once by two instances (or two webhook requests):
        each reads the state, changes it and writes it back, so without the row lock one change is
        lost (a text part, a file). SQLite needs no lock: BEGIN IMMEDIATE already admits one writer.
        """
        if _dialect(self.session) == "postgresql":
            return await self._load_locked(channel, chat_id)
        # A prepared select, not session.get(): get() builds its query anew each time (~0.1 ms more).
        conversation = await self.session.scalar(_CONVERSATION, {"channel": channel, "chat_id": chat_id})
        if conversation is None:
            conversation = Conversation(channel=channel, chat_id=chat_id, state="", data={})
            self.session.add(conversation)
        return conversation

    async def _load_locked(self, channel: str, chat_id: str) -> Conversation:
        key = {"channel": channel, "chat_id": chat_id}
        conversation = await self.session.scalar(_LOCK_CONVERSATION, key)
        if conversation is None:
            # A first update: create the row (or find the one another instance just created), then lock it.
            await self.session.execute(_insert(self.session, Conversation).values(
                channel=channel, chat_id=chat_id, state="", data={}).on_conflict_do_nothing())
            conversation = await self.session.scalar(_LOCK_CONVERSATION, key)
            assert conversation is not None
        return conversation


class UpdateRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replies_of(self, key: str) -> list[Any]:
        return list(await self.session.scalar(_REPLIES_OF, {"update_key": key}) or [])

    async def store_replies(self, key: str, replies: list[Any], user_ref: str | None = None) -> None:
        if replies:  # none: the column stays NULL, which replies_of reads as none
            await self.session.execute(_STORE_REPLIES, {"update_key": key, "replies": replies,
                                                        "user_ref": user_ref[:96] if user_ref else None})

    async def remember(self, key: str, at: datetime | None = None) -> bool:
        """True the first time a key is seen; False for a redelivered update."""
        result = await self.session.execute(_REMEMBER[_dialect(self.session)], {"key": key, "at": at or utcnow()})
        return result.scalar_one_or_none() is not None


class NoticeRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, key: str, at: datetime) -> bool:
        """True the first time a notice key is claimed: reminders and digests go out once."""
        statement = _insert(self.session, SentNotice).values(key=key[:160], at=at).on_conflict_do_nothing()
        result = await self.session.execute(statement.returning(SentNotice.__table__.c.key))
        return result.scalar_one_or_none() is not None

    async def claimed(self, keys: Sequence[str]) -> set[str]:
        """Which of these notice keys were claimed already (a read: nothing is claimed here)."""
        if not keys:
            return set()
        return set((await self.session.scalars(select(SentNotice.key).where(SentNotice.key.in_(list(keys))))).all())
