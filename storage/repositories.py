"""Repositories: the only place with queries. They flush, never commit: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.expert_models import Dissent, GroupMember
from storage.models import (
    Appeal,
    AppealAttachment,
    AppealCounter,
    AppealEvent,
    Consent,
    Conversation,
    Invite,
    OutboxMessage,
    ProcessedUpdate,
    SentNotice,
    User,
    utcnow,
)
from storage.rating_models import AppealRating


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _insert(session: AsyncSession, table: Any) -> Any:
    return _insert_for(_dialect(session), table)


def _insert_for(dialect: str, table: Any) -> Any:
    """An INSERT ... ON CONFLICT of the dialect on the Table of ``table`` (a mapped class or a Table):
    a Core insert skips the ORM's bulk-insert machinery, which cost a tenth of an update's database time."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(getattr(table, "__table__", table))


# Statements of every update, built once with bound parameters: building a statement anew (columns
# compared, values coerced) cost more than running it (bench/load.py profile); SQLAlchemy caches the
# compiled form of a statement object it has seen.
_FIND_USER = select(User).where(User.channel == bindparam("channel"), User.platform_id == bindparam("platform_id"))
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


class UserRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, channel: str, platform_id: str) -> User | None:
        return await self.session.scalar(_FIND_USER, {"channel": channel, "platform_id": platform_id})

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def add(self, user: User) -> User:
        """The new user; on PostgreSQL, the one another instance created a moment ago, if it did.

        A person's first two updates can be handled at once by two instances: both find nobody and
        both insert. The second insert waits for the first commit and then violates the unique key;
        under a savepoint that costs nothing but a retry of the lookup, instead of a failed update.
        """
        if _dialect(self.session) != "postgresql":
            self.session.add(user)
            await self.session.flush()
            return user
        try:
            async with self.session.begin_nested():
                self.session.add(user)
        except IntegrityError:
            existing = await self.find(user.channel, user.platform_id)
            if existing is None:
                raise
            return existing
        return user

    async def at_chat(self, channel: str, chat_id: str) -> Sequence[User]:
        """Whoever reads this chat (served by ix_users_channel_chat); none for a staff group chat."""
        return (await self.session.scalars(
            select(User).where(User.channel == channel, User.chat_id == chat_id).order_by(User.id))).all()

    async def add_consent(self, consent: Consent) -> None:
        self.session.add(consent)
        await self.session.flush()

    async def mark_unreachable(self, channel: str, chat_id: str, reason: str, at: datetime) -> None:
        await self.session.execute(
            update(User)
            .where(User.channel == channel, User.chat_id == chat_id)
            .values(unreachable_reason=reason[:200], unreachable_at=at)
        )


class StaffRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_invite(self, invite: Invite) -> Invite:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def invite_for_update(self, code: str) -> Invite | None:
        return await self.session.scalar(select(Invite).where(Invite.code == code).with_for_update())

    async def staff(self) -> Sequence[User]:
        result = await self.session.scalars(
            select(User).where(User.role != "citizen").order_by(User.role, User.ministry_id, User.id))
        return result.all()

    async def operators_of(self, ministry_id: str) -> Sequence[User]:
        result = await self.session.scalars(
            select(User).where(User.role == "operator", User.ministry_id == ministry_id).order_by(User.id))
        return result.all()

    async def supervisors(self) -> Sequence[User]:
        result = await self.session.scalars(select(User).where(User.role == "supervisor").order_by(User.id))
        return result.all()

    async def staffed_ministries(self) -> set[str]:
        """Ministries with at least one operator the bot can reach."""
        rows = await self.session.scalars(
            select(User.ministry_id).where(User.role == "operator", User.unreachable_reason.is_(None),
                                           User.ministry_id.is_not(None)).distinct())
        return {m for m in rows.all() if m}

    async def assigned_open(self, user_id: int, statuses: Iterable[str],
                            ministry_id: str | None = None) -> Sequence[Appeal]:
        query = select(Appeal).where(Appeal.assignee_id == user_id, Appeal.status.in_(list(statuses)))
        if ministry_id is not None:
            query = query.where(Appeal.ministry_id == ministry_id)
        return (await self.session.scalars(query.order_by(Appeal.id).with_for_update())).all()

    async def open_count_by_ministry(self, statuses: Iterable[str]) -> dict[str, int]:
        rows = await self.session.execute(
            select(Appeal.ministry_id, func.count()).where(Appeal.status.in_(list(statuses)))
            .group_by(Appeal.ministry_id))
        return {ministry: count for ministry, count in rows.all()}


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


class PrivacyRepo:
    """Everything stored about one person, and its erasure."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def consents(self, user_id: int) -> Sequence[Consent]:
        query = select(Consent).where(Consent.user_id == user_id).order_by(Consent.id)
        return (await self.session.scalars(query)).all()

    async def appeals(self, user_id: int) -> Sequence[Appeal]:
        return (await self.session.scalars(
            select(Appeal).where(Appeal.citizen_id == user_id).order_by(Appeal.id))).all()

    async def conversations(self, channel: str, chat_id: str) -> Sequence[Conversation]:
        # autoescape: a chat id with "%" or "_" (a forged one) must not match other people's dialogs.
        return (await self.session.scalars(select(Conversation).where(
            Conversation.channel == channel,
            (Conversation.chat_id == chat_id) | Conversation.chat_id.endswith(f"/{chat_id}", autoescape=True)))).all()

    async def active_conversations(self) -> Sequence[Conversation]:
        """Dialogs under way (a staff member's answer being written may quote an appeal)."""
        return (await self.session.scalars(select(Conversation).where(Conversation.state != ""))).all()

    async def stale_conversations(self, before: datetime, limit: int) -> Sequence[Conversation]:
        return (await self.session.scalars(select(Conversation).where(
            Conversation.updated_at < before, Conversation.state != "").limit(limit))).all()

    async def drop_conversations(self, conversations: Sequence[Conversation]) -> None:
        for conversation in conversations:
            await self.session.delete(conversation)

    async def drop_files(self, appeal_id: int, sources: Sequence[str] | None = None) -> None:
        query = delete(AppealAttachment).where(AppealAttachment.appeal_id == appeal_id)
        if sources is not None:
            query = query.where(AppealAttachment.source.in_(list(sources)))
        await self.session.execute(query)

    async def messages_to(self, channel: str, chat_id: str) -> Sequence[OutboxMessage]:
        return (await self.session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id))).all()

    async def scrub_messages(self, needles: Sequence[str], since: datetime | None = None) -> None:
        """Messages about a person to anyone (a needle in the text): the text goes, unsent ones are not sent.
        ``needles`` are spelt as the JSON column stores them."""
        if not needles:
            return
        target = or_(*[cast(OutboxMessage.reply, Text).contains(n, autoescape=True) for n in needles])
        if since is not None:
            target = target & (OutboxMessage.created_at >= since)
        await self.session.execute(update(OutboxMessage).where(target, OutboxMessage.status == "pending")
                                   .values(status="failed", last_error="erased"))
        await self.session.execute(update(OutboxMessage).where(target).values(reply={"text": ""}))

    async def messages_mentioning(self, needles: Sequence[str]) -> Sequence[OutboxMessage]:
        if not needles:
            return []
        return (await self.session.scalars(select(OutboxMessage).where(
            or_(*[cast(OutboxMessage.reply, Text).contains(n, autoescape=True) for n in needles]))
            .execution_options(populate_existing=True))).all()

    async def stored_replies_mentioning(self, needles: Sequence[str]) -> Sequence[ProcessedUpdate]:
        if not needles:
            return []
        return (await self.session.scalars(select(ProcessedUpdate).where(
            or_(*[cast(ProcessedUpdate.replies, Text).contains(n, autoescape=True) for n in needles]))
            .execution_options(populate_existing=True))).all()

    async def erase_chat(self, channel: str, chat_id: str, erased_chat: str) -> None:
        """Messages to the person: none is sent any more, none keeps its text or the chat id."""
        to_person = (OutboxMessage.channel == channel) & (OutboxMessage.chat_id == chat_id)
        await self.session.execute(update(OutboxMessage).where(to_person, OutboxMessage.status == "pending")
                                   .values(status="failed", last_error="erased"))
        await self.session.execute(update(OutboxMessage).where(to_person)
                                   .values(reply={"text": ""}, chat_id=erased_chat))

    async def forget_delivered(self, before: datetime) -> None:
        """Messages delivered (or given up) long ago keep no text; the platform's message id stays for edits."""
        await self.session.execute(update(OutboxMessage).where(
            OutboxMessage.status != "pending", OutboxMessage.created_at < before,
            cast(OutboxMessage.reply, Text) != '{"text": ""}').values(reply={"text": ""}))

    async def scrub_stored_replies(self, user_ref: str | None, needles: Sequence[str]) -> None:
        """Replies kept for a repeated update: the person's own, and anyone's that mention them."""
        conditions = [cast(ProcessedUpdate.replies, Text).contains(n, autoescape=True) for n in needles]
        if user_ref is not None:
            conditions.append(ProcessedUpdate.user_ref == user_ref)
        if conditions:
            await self.session.execute(update(ProcessedUpdate).where(or_(*conditions))
                                       .values(replies=None, user_ref=None))

    async def prune_updates(self, before: datetime) -> int:
        result = await self.session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < before))
        return int(getattr(result, "rowcount", 0) or 0)

    async def ratings(self, appeal_id: int) -> Sequence[AppealRating]:
        return (await self.session.scalars(select(AppealRating).where(AppealRating.appeal_id == appeal_id)
                                           .order_by(AppealRating.answer_no))).all()

    async def memberships(self, user_id: int) -> Sequence[GroupMember]:
        return (await self.session.scalars(select(GroupMember).where(GroupMember.user_id == user_id)
                                           .order_by(GroupMember.id))).all()

    async def dissents(self, user_id: int) -> Sequence[Dissent]:
        return (await self.session.scalars(select(Dissent).where(Dissent.user_id == user_id)
                                           .order_by(Dissent.id))).all()

    async def expired_closed(self, statuses: Sequence[str], before: datetime, limit: int) -> Sequence[Appeal]:
        return (await self.session.scalars(
            select(Appeal).where(Appeal.status.in_(list(statuses)), Appeal.answered_at < before,
                                 Appeal.citizen_name.is_not(None)).order_by(Appeal.id).limit(limit))).all()


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


class AppealRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_seq(self, year: int) -> int:
        """The next number of the year, taken under the row lock of the counter: unique and gap-free."""
        statement = _insert(self.session, AppealCounter).values(year=year, last=1)
        statement = statement.on_conflict_do_update(
            index_elements=["year"], set_={"last": AppealCounter.__table__.c.last + 1}
        ).returning(AppealCounter.__table__.c.last)
        return (await self.session.execute(statement)).scalar_one()

    async def add(self, appeal: Appeal) -> Appeal:
        self.session.add(appeal)
        await self.session.flush()
        return appeal

    async def add_attachment(self, attachment: AppealAttachment) -> None:
        self.session.add(attachment)

    async def load_attachments(self, appeal: Appeal) -> None:
        """Refresh the files of an appeal changed in this transaction (no lazy IO under asyncio)."""
        await self.session.flush()
        await self.session.refresh(appeal, attribute_names=["attachments"])

    async def add_event(self, event: AppealEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def get(self, appeal_id: int) -> Appeal | None:
        return await self.session.get(Appeal, appeal_id)

    async def get_for_update(self, appeal_id: int) -> Appeal | None:
        return await self.session.scalar(
            select(Appeal).where(Appeal.id == appeal_id).with_for_update().execution_options(populate_existing=True)
        )

    async def by_number(self, number: str) -> Appeal | None:
        return await self.session.scalar(select(Appeal).where(Appeal.number == number))

    async def by_seq(self, seq: int, year: int | None = None) -> Appeal | None:
        """The appeal with this sequence number in ``year`` (unique), or in the latest year that has one."""
        query = select(Appeal).where(Appeal.seq == seq)
        if year is not None:
            query = query.where(Appeal.year == year)
        return await self.session.scalar(query.order_by(Appeal.year.desc()).limit(1))

    async def of_citizen(self, citizen_id: int, limit: int, offset: int = 0) -> Sequence[Appeal]:
        result = await self.session.scalars(
            select(Appeal)
            .where(Appeal.citizen_id == citizen_id)
            .order_by(Appeal.registered_at.desc(), Appeal.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return result.all()

    async def count_of_citizen(self, citizen_id: int) -> int:
        return await self.session.scalar(select(func.count()).where(Appeal.citizen_id == citizen_id)) or 0

    async def open_by_deadline(self, statuses: Iterable[str], ministry_id: str | None,
                               limit: int, sector_id: str | None = None) -> Sequence[Appeal]:
        """Served by ix_appeals_ministry_status / ix_appeals_status_deadline."""
        query = select(Appeal).where(Appeal.status.in_(list(statuses)))
        if ministry_id is not None:
            query = query.where(Appeal.ministry_id == ministry_id)
        if sector_id is not None:
            query = query.where(Appeal.sector_id == sector_id)
        return (await self.session.scalars(query.order_by(Appeal.deadline_at, Appeal.id).limit(limit))).all()

    async def overdue(self, statuses: Iterable[str], now: datetime, limit: int) -> Sequence[Appeal]:
        result = await self.session.scalars(
            select(Appeal).where(Appeal.status.in_(list(statuses)), Appeal.deadline_at < now)
            .order_by(Appeal.deadline_at, Appeal.id).limit(limit))
        return result.all()

    async def due_reminders(self, now: datetime, limit: int) -> Sequence[Appeal]:
        """Appeals whose reminder moment has come: an index range scan on next_reminder_at."""
        query = (select(Appeal).where(Appeal.next_reminder_at <= now)
                 .order_by(Appeal.next_reminder_at, Appeal.id).limit(limit))
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()

    async def overdue_count_by_ministry(self, statuses: Iterable[str], now: datetime) -> dict[str, int]:
        rows = await self.session.execute(
            select(Appeal.ministry_id, func.count()).where(Appeal.status.in_(list(statuses)), Appeal.deadline_at < now)
            .group_by(Appeal.ministry_id))
        return {ministry: count for ministry, count in rows.all()}

    async def registered_since(self, citizen_id: int, since: datetime) -> int:
        return await self.session.scalar(
            select(func.count()).where(Appeal.citizen_id == citizen_id, Appeal.registered_at >= since)) or 0

    async def routing_pairs(self) -> Sequence[tuple[str, str | None, str, str, int]]:
        """(suggested sector, suggested category, final sector, final category, count) for suggested appeals."""
        rows = await self.session.execute(
            select(Appeal.suggested_sector_id, Appeal.suggested_category_id, Appeal.sector_id, Appeal.category_id,
                   func.count())
            .where(Appeal.suggested_sector_id.is_not(None))
            .group_by(Appeal.suggested_sector_id, Appeal.suggested_category_id, Appeal.sector_id, Appeal.category_id))
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]

    async def events(self, appeal_id: int) -> Sequence[AppealEvent]:
        result = await self.session.scalars(
            select(AppealEvent).where(AppealEvent.appeal_id == appeal_id).order_by(AppealEvent.at, AppealEvent.id)
        )
        return result.all()


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


class Repositories:
    """The repositories over one session: what a service receives."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepo(session)
        self.conversations = ConversationRepo(session)
        self.updates = UpdateRepo(session)
        self.appeals = AppealRepo(session)
        self.outbox = OutboxRepo(session)
        self.staff = StaffRepo(session)
        self.notices = NoticeRepo(session)
        self.privacy = PrivacyRepo(session)
        self.locks = LockRepo(session)

    async def flush(self) -> None:
        await self.session.flush()
