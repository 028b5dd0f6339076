"""People: users found by their channel id, their consents, and the staff with their invites."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.roles import SUPERVISING, Role
from storage.models import Appeal, Consent, Invite, User
from storage.repositories._sql import _dialect

# Statements of every update, built once with bound parameters: building a statement anew (columns
# compared, values coerced) cost more than running it (bench/load.py profile); SQLAlchemy caches the
# compiled form of a statement object it has seen.
_FIND_USER = select(User).where(User.channel == bindparam("channel"), User.platform_id == bindparam("platform_id"))


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
            select(User).where(User.role != Role.CITIZEN).order_by(User.role, User.ministry_id, User.id))
        return result.all()

    async def operators_of(self, ministry_id: str) -> Sequence[User]:
        result = await self.session.scalars(
            select(User).where(User.role == Role.OPERATOR, User.ministry_id == ministry_id).order_by(User.id))
        return result.all()

    async def supervisors(self) -> Sequence[User]:
        """Everyone who sees every ministry (supervisors and admins): the ЦУР's cards, escalations, digests."""
        result = await self.session.scalars(
            select(User).where(User.role.in_(sorted(SUPERVISING))).order_by(User.id))
        return result.all()

    async def staffed_ministries(self) -> set[str]:
        """Ministries with at least one operator the bot can reach."""
        rows = await self.session.scalars(
            select(User.ministry_id).where(User.role == Role.OPERATOR, User.unreachable_reason.is_(None),
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
