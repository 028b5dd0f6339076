"""The aggregate queries behind statistics, the ranking, exports and the rating reminder.

A report is three GROUP BY queries over the period's appeals, returning "cells": counts per
(ministry, sector, hours to answer, status), ratings per (ministry, sector, score), redirects
per (ministry that redirected, sector). The service folds cells into per-ministry and
per-sector figures, so the database does one pass over the rows and Python sees a few thousand
cells however many appeals there are. Hours are rounded to the hour, which gives exact
percentiles from the histogram (and exact totals: histograms add up).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, cast, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.appeals import AppealStatus
from storage.models import Appeal, AppealEvent, User
from storage.rating_models import AppealRating, sqlite_answer_hours

EXPORT_BATCH = 2000


@dataclass(frozen=True)
class Cell:
    """Appeals registered in the period with one (ministry, sector, hours to answer, status)."""

    ministry_id: str
    sector_id: str
    hours: int | None  # None when never answered
    status: str
    appeals: int
    on_time: int  # answered_at <= deadline_at: meaningful for answered statuses
    past_deadline: int  # deadline_at < now: meaningful for open statuses
    extended: int
    ever_answered: int
    reopened: int


@dataclass(frozen=True)
class RatingCell:
    ministry_id: str
    sector_id: str
    score: int
    ratings: int


@dataclass(frozen=True)
class RedirectCell:
    from_ministry: str
    sector_id: str
    redirects: int
    late: int  # later than 7 days after registration (59-ФЗ art. 8 p. 3)


@dataclass(frozen=True)
class AppealRow:
    number: str
    registered_at: datetime
    sector_id: str
    category_id: str
    ministry_id: str
    status: str
    deadline_at: datetime
    answered_at: datetime | None
    redirect_count: int
    extended: bool
    reopen_count: int
    score: int | None
    citizen_name: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class RatingRow:
    number: str
    ministry_id: str
    sector_id: str
    answer_no: int
    score: int
    comment: str | None
    at: datetime
    changed_at: datetime | None


@dataclass(frozen=True)
class OverdueRow:
    number: str
    ministry_id: str
    deadline_at: datetime
    at: datetime


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    # SUM(CAST(condition AS INTEGER)) rather than SUM(CASE ...): fewer steps per row in SQLite's
    # VM, the same on PostgreSQL; a NULL condition (no answer yet) counts as no.
    return func.coalesce(func.sum(cast(condition, Integer)), 0)


class ReportRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def sqlite(self) -> bool:
        return self.session.bind is None or self.session.bind.dialect.name == "sqlite"

    def _answer_hours(self) -> ColumnElement[Any]:
        if self.sqlite:
            return sqlite_answer_hours()
        span = func.extract("epoch", Appeal.answered_at - Appeal.registered_at) / 3600
        return cast(func.round(span), Integer)

    def _cohort(self, start: datetime, end: datetime) -> ColumnElement[bool]:
        registered: Any = Appeal.registered_at
        if self.sqlite:
            # SQLite's unary "+" keeps the planner off the registered_at index
            # (https://sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_):
            # without statistics it would take it and sort every row for the GROUP BY, while the
            # report index delivers the rows already grouped (0.6 s instead of 2.5 s a million).
            registered = literal_column("+appeals.registered_at", type_=Appeal.registered_at.type)
        return and_(registered >= start, registered < end)

    def cells_query(self, start: datetime, end: datetime, now: datetime) -> Select[Any]:
        hours = self._answer_hours()
        return (
            select(Appeal.ministry_id, Appeal.sector_id, hours, Appeal.status, func.count(),
                   _count_if(Appeal.answered_at <= Appeal.deadline_at),
                   _count_if(Appeal.deadline_at < now),
                   _count_if(Appeal.extended.is_(True)),
                   _count_if(Appeal.answered_at.is_not(None)),
                   _count_if(Appeal.reopen_count > 0))
            .where(self._cohort(start, end))
            # The order of the report index: SQLite then groups without sorting.
            .group_by(Appeal.ministry_id, Appeal.sector_id, hours, Appeal.status)
        )

    async def cells(self, start: datetime, end: datetime, now: datetime) -> list[Cell]:
        rows = (await self.session.execute(self.cells_query(start, end, now))).all()
        return [Cell(m, s, None if h is None else int(h), status, *(int(v) for v in rest))
                for m, s, h, status, *rest in rows]

    async def rating_cells(self, start: datetime, end: datetime) -> list[RatingCell]:
        query = (select(AppealRating.ministry_id, AppealRating.sector_id, AppealRating.score, func.count())
                 .where(AppealRating.registered_at >= start, AppealRating.registered_at < end)
                 .group_by(AppealRating.ministry_id, AppealRating.sector_id, AppealRating.score))
        return [RatingCell(m, s, int(score), int(n)) for m, s, score, n in (await self.session.execute(query)).all()]

    async def redirect_cells(self, start: datetime, end: datetime) -> list[RedirectCell]:
        """Redirects of the period's appeals by the ministry that sent each away (the event's "from")."""
        source = AppealEvent.details["from"].as_string()
        late = AppealEvent.details["late"].as_boolean()
        query = (select(source, Appeal.sector_id, func.count(), _count_if(late))
                 .join(Appeal, Appeal.id == AppealEvent.appeal_id)
                 .where(AppealEvent.kind == "redirected", Appeal.registered_at >= start, Appeal.registered_at < end)
                 .group_by(source, Appeal.sector_id))
        return [RedirectCell(m or "", s, int(n), int(k)) for m, s, n, k in (await self.session.execute(query)).all()]

    async def appeal_rows(self, start: datetime, end: datetime, limit: int) -> AsyncIterator[AppealRow]:
        """The period's appeals for the workbook, streamed, with the applicant and the text (marked there as
        personal data: the workbook is for the ЦУР's staff, who see appeals anyway); never phones or addresses."""
        rating = AppealRating.__table__.alias("current_rating")
        query = (
            select(Appeal.number, Appeal.registered_at, Appeal.sector_id, Appeal.category_id, Appeal.ministry_id,
                   Appeal.status, Appeal.deadline_at, Appeal.answered_at, Appeal.redirect_count, Appeal.extended,
                   Appeal.reopen_count, rating.c.score, Appeal.citizen_name, Appeal.text)
            .outerjoin(rating, and_(rating.c.appeal_id == Appeal.id, rating.c.answer_no == Appeal.reopen_count + 1))
            .where(Appeal.registered_at >= start, Appeal.registered_at < end)
            .order_by(Appeal.registered_at, Appeal.id)
            .limit(limit)
            .execution_options(yield_per=EXPORT_BATCH)
        )
        result = await self.session.stream(query)
        async for row in result:
            yield AppealRow(*row)

    async def rating_rows(self, start: datetime, end: datetime, limit: int) -> AsyncIterator[RatingRow]:
        query = (
            select(Appeal.number, AppealRating.ministry_id, AppealRating.sector_id, AppealRating.answer_no,
                   AppealRating.score, AppealRating.comment, AppealRating.at, AppealRating.changed_at)
            .join(Appeal, Appeal.id == AppealRating.appeal_id)
            .where(AppealRating.registered_at >= start, AppealRating.registered_at < end)
            .order_by(AppealRating.at, AppealRating.id)
            .limit(limit)
            .execution_options(yield_per=EXPORT_BATCH)
        )
        result = await self.session.stream(query)
        async for row in result:
            yield RatingRow(*row)

    async def became_overdue(self, start: datetime, end: datetime, limit: int) -> tuple[int, list[OverdueRow]]:
        """Appeals first seen past their deadline in the span (the deadline scan's "overdue" events)."""
        where = (AppealEvent.kind == "overdue", AppealEvent.at >= start, AppealEvent.at < end)
        total = await self.session.scalar(select(func.count()).select_from(AppealEvent).where(*where)) or 0
        query = (select(Appeal.number, Appeal.ministry_id, Appeal.deadline_at, AppealEvent.at)
                 .join(Appeal, Appeal.id == AppealEvent.appeal_id)
                 .where(*where).order_by(AppealEvent.at, AppealEvent.id).limit(limit))
        return int(total), [OverdueRow(*row) for row in (await self.session.execute(query)).all()]

    async def unrated_answers(self, answered_from: datetime, answered_to: datetime, limit: int) -> Sequence[Appeal]:
        """Appeals answered in the span and still not rated (status "answered"): the reminder's candidates."""
        query = (select(Appeal)
                 .where(Appeal.status == AppealStatus.ANSWERED, Appeal.answered_at > answered_from,
                        Appeal.answered_at <= answered_to)
                 .order_by(Appeal.answered_at, Appeal.id)
                 .limit(limit))
        return (await self.session.scalars(query)).all()

    async def users(self, ids: Iterable[int]) -> dict[int, User]:
        wanted = set(ids)
        if not wanted:
            return {}
        return {u.id: u for u in (await self.session.scalars(select(User).where(User.id.in_(wanted)))).all()}


class RatingRepo:
    """Ratings of answers; flushes, never commits (the per-update unit of work does)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, appeal_id: int, answer_no: int) -> AppealRating | None:
        return await self.session.scalar(select(AppealRating).where(AppealRating.appeal_id == appeal_id,
                                                                    AppealRating.answer_no == answer_no))

    async def add(self, rating: AppealRating) -> AppealRating:
        self.session.add(rating)
        await self.session.flush()
        return rating

    async def erase_comments(self, appeal_id: int) -> None:
        await self.session.execute(update(AppealRating).where(AppealRating.appeal_id == appeal_id)
                                   .values(comment=None))
