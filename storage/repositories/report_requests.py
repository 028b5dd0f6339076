"""Requested reports waiting for the worker (bot/services/report_jobs.py): the queries on ``report_requests``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, ReportRequest, User


class ReportRequestRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, request: ReportRequest) -> None:
        self.session.add(request)

    async def get(self, request_id: int) -> ReportRequest | None:
        return await self.session.get(ReportRequest, request_id)

    async def requester(self, request: ReportRequest) -> User | None:
        return await self.session.get(User, request.user_id)

    async def claim_next(self, stale_before: datetime) -> ReportRequest | None:
        """The oldest pending request, or one whose build began before ``stale_before`` (its process died);
        on PostgreSQL skipping rows another instance holds."""
        query = (select(ReportRequest)
                 .where(or_(ReportRequest.status == "pending",
                            (ReportRequest.status == "building") & (ReportRequest.started_at < stale_before)))
                 .order_by(ReportRequest.id).limit(1))
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return await self.session.scalar(query)

    async def drop(self, request: ReportRequest) -> None:
        await self.session.delete(request)

    async def queued(self) -> Sequence[ReportRequest]:
        """Requests whose report is in the outbox."""
        return (await self.session.scalars(select(ReportRequest).where(ReportRequest.status == "queued"))).all()

    async def pending_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these outbox keys are still waiting to be sent."""
        return set((await self.session.scalars(select(OutboxMessage.dedup_key).where(
            OutboxMessage.dedup_key.in_(list(keys)), OutboxMessage.status == "pending"))).all())

    async def delete(self, request_ids: Sequence[int]) -> None:
        await self.session.execute(delete(ReportRequest).where(ReportRequest.id.in_(list(request_ids))))
