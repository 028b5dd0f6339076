"""Appeals: numbering, registration, files, events, and the queries of the queues and reminders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Appeal, AppealAttachment, AppealCounter, AppealEvent
from storage.repositories._sql import _insert


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

    async def event(self, event_id: int) -> AppealEvent | None:
        return await self.session.get(AppealEvent, event_id)

    async def of_citizen_in(self, citizen_id: int, statuses: Iterable[str]) -> Sequence[Appeal]:
        """The citizen's appeals in these statuses, oldest registered first."""
        return (await self.session.scalars(
            select(Appeal).where(Appeal.citizen_id == citizen_id, Appeal.status.in_(list(statuses)))
            .order_by(Appeal.registered_at, Appeal.id))).all()

    async def answered_since(self, citizen_id: int, statuses: Iterable[str], since: datetime,
                             limit: int) -> Sequence[Appeal]:
        """The citizen's appeals answered since ``since``, newest answer first."""
        return (await self.session.scalars(
            select(Appeal).where(Appeal.citizen_id == citizen_id, Appeal.status.in_(list(statuses)),
                                 Appeal.answered_at >= since)
            .order_by(Appeal.answered_at.desc(), Appeal.id.desc()).limit(limit))).all()

    async def last_attachments(self, appeal_id: int, source: str, count: int) -> Sequence[AppealAttachment]:
        """The appeal's last ``count`` files of one source, oldest first."""
        rows = (await self.session.scalars(
            select(AppealAttachment).where(AppealAttachment.appeal_id == appeal_id, AppealAttachment.source == source)
            .order_by(AppealAttachment.id.desc()).limit(count))).all()
        return list(reversed(rows))
