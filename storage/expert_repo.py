"""Queries of the expert group's tables. Like every repository: flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.expert_models import (
    AgendaItem,
    Attendance,
    Ballot,
    Dissent,
    GroupMember,
    Meeting,
    MeetingGuest,
    MeetingMaterial,
    PresenceMark,
    Protocol,
    Vote,
)
from storage.models import Base


class ExpertRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Base) -> None:
        self.session.add(row)
        await self.session.flush()

    # --- membership ---------------------------------------------------------------------------

    async def members(self, group_id: str) -> Sequence[GroupMember]:
        result = await self.session.scalars(
            select(GroupMember).where(GroupMember.group_id == group_id, GroupMember.active.is_(True))
            .order_by(GroupMember.id))
        return result.all()

    async def membership(self, group_id: str, user_id: int, *, active_only: bool = True) -> GroupMember | None:
        query = select(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id)
        if active_only:
            query = query.where(GroupMember.active.is_(True))
        return await self.session.scalar(query)

    async def memberships_of(self, user_id: int) -> Sequence[GroupMember]:
        result = await self.session.scalars(
            select(GroupMember).where(GroupMember.user_id == user_id, GroupMember.active.is_(True))
            .order_by(GroupMember.group_id))
        return result.all()

    async def holders(self, group_id: str, role: str) -> Sequence[GroupMember]:
        result = await self.session.scalars(
            select(GroupMember).where(GroupMember.group_id == group_id, GroupMember.role == role,
                                      GroupMember.active.is_(True)).order_by(GroupMember.id))
        return result.all()

    # --- meetings -----------------------------------------------------------------------------

    async def meeting(self, meeting_id: int) -> Meeting | None:
        return await self.session.get(Meeting, meeting_id)

    async def meeting_for_update(self, meeting_id: int) -> Meeting | None:
        return await self.session.scalar(
            select(Meeting).where(Meeting.id == meeting_id).with_for_update()
            .execution_options(populate_existing=True))

    async def meetings_of(self, group_ids: Iterable[str], statuses: Iterable[str], limit: int = 20
                          ) -> Sequence[Meeting]:
        result = await self.session.scalars(
            select(Meeting).where(Meeting.group_id.in_(list(group_ids)), Meeting.status.in_(list(statuses)))
            .order_by(Meeting.starts_at.desc(), Meeting.id.desc()).limit(limit))
        return result.all()

    async def meetings_by_status(self, statuses: Iterable[str], starts_before: datetime | None = None
                                 ) -> Sequence[Meeting]:
        """Served by ix_meetings_status_starts."""
        query = select(Meeting).where(Meeting.status.in_(list(statuses)))
        if starts_before is not None:
            query = query.where(Meeting.starts_at < starts_before)
        return (await self.session.scalars(query.order_by(Meeting.starts_at, Meeting.id))).all()

    async def count_meetings(self, group_id: str, start: datetime, end: datetime) -> int:
        """Meetings that are, or will be, held in [start, end): scheduled, under way or finished."""
        return await self.session.scalar(
            select(func.count()).select_from(Meeting)
            .where(Meeting.group_id == group_id, Meeting.status != "cancelled",
                   Meeting.starts_at >= start, Meeting.starts_at < end)) or 0

    async def finished_before(self, group_id: str, start: datetime, meeting: Meeting) -> int:
        """How many of the group's meetings since ``start`` finished before this one: the protocol's number."""
        return await self.session.scalar(
            select(func.count()).select_from(Meeting)
            .where(Meeting.group_id == group_id, Meeting.status == "finished", Meeting.starts_at >= start,
                   Meeting.id != meeting.id,
                   (Meeting.starts_at < meeting.starts_at)
                   | ((Meeting.starts_at == meeting.starts_at) & (Meeting.id < meeting.id)))) or 0

    async def item(self, item_id: int) -> AgendaItem | None:
        return await self.session.get(AgendaItem, item_id)

    # --- materials ----------------------------------------------------------------------------

    async def materials(self, meeting_id: int) -> Sequence[MeetingMaterial]:
        result = await self.session.scalars(
            select(MeetingMaterial).where(MeetingMaterial.meeting_id == meeting_id).order_by(MeetingMaterial.id))
        return result.all()

    # --- attendance ---------------------------------------------------------------------------

    async def attendance(self, meeting_id: int) -> Sequence[Attendance]:
        result = await self.session.scalars(
            select(Attendance).where(Attendance.meeting_id == meeting_id).order_by(Attendance.id))
        return result.all()

    async def attendance_of(self, meeting_id: int, user_id: int) -> Attendance:
        """The member's row, created on first use."""
        row = await self.session.scalar(
            select(Attendance).where(Attendance.meeting_id == meeting_id, Attendance.user_id == user_id))
        if row is None:
            row = Attendance(meeting_id=meeting_id, user_id=user_id, present=False)
            await self.add(row)
        return row

    async def presence_marks(self, meeting_id: int) -> Sequence[PresenceMark]:
        result = await self.session.scalars(
            select(PresenceMark).where(PresenceMark.meeting_id == meeting_id).order_by(PresenceMark.at,
                                                                                     PresenceMark.id))
        return result.all()

    # --- invited persons ----------------------------------------------------------------------

    async def guests(self, meeting_id: int) -> Sequence[MeetingGuest]:
        result = await self.session.scalars(
            select(MeetingGuest).where(MeetingGuest.meeting_id == meeting_id).order_by(MeetingGuest.id))
        return result.all()

    async def guest_by_code(self, code: str) -> MeetingGuest | None:
        return await self.session.scalar(select(MeetingGuest).where(MeetingGuest.invite_code == code))

    async def guest_meetings(self, user_id: int) -> Sequence[MeetingGuest]:
        result = await self.session.scalars(
            select(MeetingGuest).where(MeetingGuest.user_id == user_id).order_by(MeetingGuest.id))
        return result.all()

    # --- votes --------------------------------------------------------------------------------

    async def vote(self, vote_id: int) -> Vote | None:
        return await self.session.get(Vote, vote_id)

    async def vote_for_update(self, vote_id: int) -> Vote | None:
        return await self.session.scalar(
            select(Vote).where(Vote.id == vote_id).with_for_update().execution_options(populate_existing=True))

    async def votes(self, meeting_id: int) -> Sequence[Vote]:
        result = await self.session.scalars(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.id))
        return result.all()

    async def votes_due(self, now: datetime) -> Sequence[Vote]:
        """Open votes whose closing time has come."""
        result = await self.session.scalars(
            select(Vote).where(Vote.status == "open", Vote.closes_at.is_not(None), Vote.closes_at <= now)
            .order_by(Vote.closes_at, Vote.id))
        return result.all()

    async def ballots(self, vote_id: int) -> Sequence[Ballot]:
        result = await self.session.scalars(select(Ballot).where(Ballot.vote_id == vote_id).order_by(Ballot.id))
        return result.all()

    async def ballot(self, vote_id: int, user_id: int) -> Ballot | None:
        return await self.session.scalar(select(Ballot).where(Ballot.vote_id == vote_id, Ballot.user_id == user_id))

    async def dissents(self, vote_ids: Iterable[int]) -> Sequence[Dissent]:
        result = await self.session.scalars(
            select(Dissent).where(Dissent.vote_id.in_(list(vote_ids))).order_by(Dissent.at, Dissent.id))
        return result.all()

    async def dissent(self, vote_id: int, user_id: int) -> Dissent | None:
        return await self.session.scalar(select(Dissent).where(Dissent.vote_id == vote_id, Dissent.user_id == user_id))

    # --- protocols ----------------------------------------------------------------------------

    async def protocol(self, protocol_id: int) -> Protocol | None:
        return await self.session.get(Protocol, protocol_id)

    async def protocol_for_update(self, protocol_id: int) -> Protocol | None:
        return await self.session.scalar(
            select(Protocol).where(Protocol.id == protocol_id).with_for_update()
            .execution_options(populate_existing=True))

    async def protocol_of(self, meeting_id: int) -> Protocol | None:
        return await self.session.scalar(select(Protocol).where(Protocol.meeting_id == meeting_id))

    async def protocols_by_status(self, statuses: Iterable[str]) -> Sequence[Protocol]:
        result = await self.session.scalars(
            select(Protocol).where(Protocol.status.in_(list(statuses))).order_by(Protocol.id))
        return result.all()

    async def participation(self, user_id: int) -> dict[str, list[Any]]:
        """A person's part in meetings, for ``privacy export``: answers to notices, arrivals and departures,
        ballots (the choice is theirs: the protocol names them under it)."""
        answers = (await self.session.scalars(select(Attendance).where(Attendance.user_id == user_id)
                                              .order_by(Attendance.id))).all()
        marks = (await self.session.scalars(select(PresenceMark).where(PresenceMark.user_id == user_id)
                                            .order_by(PresenceMark.id))).all()
        ballots = (await self.session.scalars(select(Ballot).where(Ballot.user_id == user_id)
                                              .order_by(Ballot.id))).all()
        return {"attendance": list(answers), "presence": list(marks), "ballots": list(ballots)}
