"""Ratings of answers, and the indexes the reports read through.

One row per answer: a reopened appeal answered again is rated again (``answer_no`` 2, 3 ...),
so the ministry's first and repeat answers are judged separately.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint, cast, func
from sqlalchemy import literal_column as sql_literal
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow
from storage.core_models import Appeal, AppealEvent


class AppealRating(Base):
    """The citizen's satisfaction (1–5) with one answer and an optional comment.

    ``ministry_id``, ``sector_id`` and ``registered_at`` are the appeal's at the time of the
    rating: they say whose answer was rated (a reopened appeal may later go elsewhere) and let
    the ranking read ratings through one covering index instead of joining a million appeals.
    """

    __tablename__ = "appeal_ratings"
    __table_args__ = (
        UniqueConstraint("appeal_id", "answer_no"),
        Index("ix_appeal_ratings_at", "at"),
        Index("ix_appeal_ratings_report", "ministry_id", "sector_id", "score", "registered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    answer_no: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    ministry_id: Mapped[str] = mapped_column(String(64))
    sector_id: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime]
    # When it was first given: the change window counts from here, not from the last change.
    at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime | None]


def sqlite_answer_hours() -> Any:
    """Hours from registration to the answer, rounded, exactly as the SQLite report index spells it.

    SQLite has no hash aggregation: GROUP BY sorts every row unless an index already holds the
    rows in group order. Migration 0004 therefore creates, on SQLite only, ``ix_appeals_report``
    on (ministry_id, sector_id, <this expression>, status, registered_at, deadline_at,
    answered_at, extended, reopen_count): the statistics of a million appeals are then one
    sequential read of it (bench/report.py). SQLite uses an expression index only for the very
    same expression, so the 24.0 is a literal, not a bound parameter, and a test checks the
    query plan. The index is not part of the models: PostgreSQL aggregates with a hash table
    and does not need it, and the models describe what every database has.
    """
    span = func.julianday(Appeal.answered_at) - func.julianday(Appeal.registered_at)
    return cast(func.round(span * sql_literal("24.0")), Integer)


# Indexes on the lead's tables that only the reports need; declared here so the metadata and
# migration 0004 agree. The period of a report is a range of registration times; the rating
# reminder scan reads answered appeals by answer time; the digest reads events by kind and time.
Index("ix_appeals_registered_at", Appeal.registered_at)
Index("ix_appeals_status_answered", Appeal.status, Appeal.answered_at)
Index("ix_appeal_events_kind_at", AppealEvent.kind, AppealEvent.at)
