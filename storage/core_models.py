"""The core tables: people, dialogs, updates seen, appeals with their events and files, the outbox.

Times are stored in UTC; every change of an appeal is an event row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.domain.roles import Role
from storage.base import Base, FileColumns, utcnow


class User(Base):
    """A person on one messenger, identified by (channel, platform id)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "platform_id"), Index("ix_users_channel_chat", "channel", "chat_id"),
                      Index("ix_users_role_ministry", "role", "ministry_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    display_name: Mapped[str | None] = mapped_column(String(200))
    # Staff only: the full name given when joining (cards show "Иванов И. И."); personal data.
    full_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=Role.CITIZEN.value)
    ministry_id: Mapped[str | None] = mapped_column(String(64))
    consent_given: Mapped[bool] = mapped_column(Boolean, default=False)
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    """Each answer to the personal-data consent request (152-ФЗ art. 9): kept as evidence."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    accepted: Mapped[bool] = mapped_column(Boolean)
    operator_name: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """Where a dialog stands, per (channel, chat): survives restarts and is shared by instances."""

    __tablename__ = "conversations"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(32), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProcessedUpdate(Base):
    """Platform updates already handled: the key is written in the same transaction as the effect,
    with the replies it produced, so a redelivered update gets the same answer and nothing twice."""

    __tablename__ = "processed_updates"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    replies: Mapped[list[Any] | None] = mapped_column(JSON)
    # Whose update it was ("channel:platform user id"), so erasing a person clears their stored replies.
    user_ref: Mapped[str | None] = mapped_column(String(96))


class AppealCounter(Base):
    """The last number given per year: incremented inside the registering transaction, so gap-free."""

    __tablename__ = "appeal_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Appeal(Base):
    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        Index("ix_appeals_status_deadline", "status", "deadline_at"),
        Index("ix_appeals_ministry_status", "ministry_id", "status"),
        Index("ix_appeals_next_reminder", "next_reminder_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    citizen_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    sector_id: Mapped[str] = mapped_column(String(64))
    category_id: Mapped[str] = mapped_column(String(64))
    ministry_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    registered_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None]
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    redirect_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    clarification_since: Mapped[datetime | None]
    # When the responsible staff are next reminded of the deadline; NULL once answered. The
    # deadline scan reads only rows that are due (an index range), however many appeals exist.
    next_reminder_at: Mapped[datetime | None]
    suggested_sector_id: Mapped[str | None] = mapped_column(String(64))
    suggested_category_id: Mapped[str | None] = mapped_column(String(64))

    attachments: Mapped[list[AppealAttachment]] = relationship(
        back_populates="appeal", order_by="AppealAttachment.id", lazy="selectin"
    )


class AppealEvent(Base):
    """The audit log of an appeal: who, when, what, why. Statistics are computed from it."""

    __tablename__ = "appeal_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AppealAttachment(FileColumns, Base):
    __tablename__ = "appeal_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="appeal")

    appeal: Mapped[Appeal] = relationship(back_populates="attachments")


class OutboxMessage(Base):
    """A message the bot owes someone; written with the change that caused it, drained by the sender."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    reply: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # A message that is edited in place later (an appeal card): the key names it, sent_ref is
    # the platform's message id, so the next version of the card edits this message.
    card_key: Mapped[str | None] = mapped_column(String(64))
    sent_ref: Mapped[str | None] = mapped_column(String(64))
    # Whom a staff or group message is for ({"appeal", "ministry"}, {"role"}, {"group"}): the sender
    # re-checks the recipient against it when sending (bot/services/audience.py). NULL: anyone.
    audience: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A new message even when an earlier version of the card was sent (an appeal handed back).
    fresh: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class Invite(Base):
    """A one-time code that makes whoever redeems it staff (operator or supervisor) or a group member."""

    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    ministry_id: Mapped[str | None] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    used_at: Mapped[datetime | None]


class SentNotice(Base):
    """Reminders and digests already issued: recorded so a restart never sends one twice."""

    __tablename__ = "sent_notices"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportRequest(Base):
    """A supervisor's /stats, /ranking or /export, built away from the conversations (bot/services/report_jobs.py).

    The row lives while the report is built and delivered: its files are removed and the row deleted once
    the outbox has sent (or given up on) the message that carries them."""

    __tablename__ = "report_requests"
    __table_args__ = (Index("ix_report_requests_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    first: Mapped[date] = mapped_column(Date)
    last: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    files: Mapped[list[Any] | None] = mapped_column(JSON)
