"""The expert group's tables: membership, meetings, agenda, materials, attendance, votes, protocols.

Groups themselves live in config.toml (`[groups.<id>]`); rows refer to them by ``group_id``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, FileColumns, utcnow
from storage.core_models import User

MEMBER_ROLES = ("chair", "deputy", "secretary", "member")


class GroupMember(Base):
    """A person in a group with a role; one row per (group, user), ``active`` false once they left."""

    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"), Index("ix_group_members_group_active", "group_id",
                                                                       "active"))

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Meeting(Base):
    """A meeting (in person or video) or an absentee vote; ``starts_at`` is the ballots' deadline for the latter."""

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_status_starts", "status", "starts_at"),
                      Index("ix_meetings_group_starts", "group_id", "starts_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64))
    # proposed (agenda awaiting the chair's approval), scheduled, in_progress, finished, cancelled
    status: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(16))  # in_person, video, absentee
    starts_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last time everyone was told the date (publication or rescheduling): reminders due before it are skipped.
    notified_at: Mapped[datetime]
    materials_sent_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    presiding_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    secretary_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The working group's rule: the chair approves the agenda before it goes out.
    agenda_approved_at: Mapped[datetime | None]
    agenda_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    items: Mapped[list[AgendaItem]] = relationship(order_by="AgendaItem.position", lazy="selectin",
                                                   cascade="all, delete-orphan")


class AgendaItem(Base):
    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    # The draft decision members vote on; editable until the item's vote opens.
    decision: Mapped[str] = mapped_column(Text, default="")
    speaker: Mapped[str] = mapped_column(String(200), default="")


class MeetingMaterial(FileColumns, Base):
    """A document for an agenda item: a platform file reference, as users send them."""

    __tablename__ = "meeting_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Materials added after the automatic sending go out on their own; this marks that they did.
    sent_at: Mapped[datetime | None]


class Attendance(Base):
    """A member's answer to the notice (yes / no / maybe) and, at the meeting, whether they are present."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    answer: Mapped[str | None] = mapped_column(String(8))
    answered_at: Mapped[datetime | None]
    present: Mapped[bool] = mapped_column(Boolean, default=False)
    present_at: Mapped[datetime | None]
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PresenceMark(Base):
    """An arrival (``present`` true) or a departure at a meeting, with its time: attendance as it happened."""

    __tablename__ = "meeting_presence_marks"
    __table_args__ = (Index("ix_meeting_presence_marks_meeting", "meeting_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    present: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime]
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class MeetingGuest(Base):
    """A person invited to a meeting who is not a member: notice, materials and the protocol copy, no vote.
    ``user_id`` is set once they open their invite link (``invite_code``)."""

    __tablename__ = "meeting_guests"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(300), default="")
    invite_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Vote(Base):
    """An open vote on one agenda item; the counts and the result are fixed when it closes."""

    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # open, closed
    absentee: Mapped[bool] = mapped_column(Boolean, default=False)
    presiding_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    members: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime]
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    votes_for: Mapped[int] = mapped_column(Integer, default=0)
    votes_against: Mapped[int] = mapped_column(Integer, default=0)
    votes_abstain: Mapped[int] = mapped_column(Integer, default=0)
    counted: Mapped[int] = mapped_column(Integer, default=0)  # the members present (or ballots cast, absentee)
    result: Mapped[str | None] = mapped_column(String(16))  # adopted, rejected, no_quorum
    by_casting_vote: Mapped[bool] = mapped_column(Boolean, default=False)


class Ballot(Base):
    """Who may vote (a row per eligible member when the vote opens) and their current choice."""

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("vote_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    choice: Mapped[str | None] = mapped_column(String(8))  # for, against, abstain; None: not yet
    cast_at: Mapped[datetime | None]


class Dissent(Base):
    """A dissenting opinion in writing: it goes into the protocol (Положение о межведомственной рабочей группе)."""

    __tablename__ = "dissents"
    __table_args__ = (UniqueConstraint("vote_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # "Без особого мнения": answered, so the protocol does not wait for this member.
    declined: Mapped[bool] = mapped_column(Boolean, default=False)


class Protocol(Base):
    """The minutes of a meeting: drafted, signed by the presiding member and the secretary, sent to members."""

    __tablename__ = "protocols"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # waiting (for dissent), drafted, sent
    number: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    drafted_at: Mapped[datetime | None]
    presiding_approved_at: Mapped[datetime | None]
    secretary_approved_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # Sent back by the presiding member or the secretary; the secretary corrects it and it is drafted again.
    returned_at: Mapped[datetime | None]
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    return_comment: Mapped[str] = mapped_column(Text, default="")
