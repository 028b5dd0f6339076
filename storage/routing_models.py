"""What the region teaches the classifier: each registered appeal's final sector and category.

One row per appeal, beside it: written at registration with the citizen's choice and rewritten
when an operator redirects the appeal or a supervisor triages it. Rows without an appeal are a
region's archive imported with `appeals-bot routing import`. The text is the appeal's own words,
personal data: the row goes when the appeal's personal data are erased (bot/services/privacy.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow
from storage.core_models import Appeal


class RoutingExample(Base):
    __tablename__ = "routing_examples"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    sector_id: Mapped[str] = mapped_column(String(64))
    category_id: Mapped[str] = mapped_column(String(64))
    # "citizen" (their choice), "redirect" (an operator's correction), "triage" (a supervisor's),
    # "answered" (the catch-all answered by the ЦУР itself), "import" (a region's archive).
    source: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RoutingExamples:
    """The learned examples over one session; the caller's service owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_appeal(self, appeal_id: int) -> RoutingExample | None:
        return await self.session.scalar(select(RoutingExample).where(RoutingExample.appeal_id == appeal_id))

    async def add(self, example: RoutingExample) -> None:
        self.session.add(example)
        await self.session.flush()

    async def all(self) -> Sequence[RoutingExample]:
        return (await self.session.scalars(select(RoutingExample).order_by(RoutingExample.id))).all()

    async def imported_keys(self) -> set[tuple[str, str, str]]:
        rows = await self.session.execute(select(RoutingExample.text, RoutingExample.sector_id,
                                                 RoutingExample.category_id).where(RoutingExample.appeal_id.is_(None)))
        return {tuple(row) for row in rows.all()}  # type: ignore[misc]

    async def drop_of_appeal(self, appeal_id: int) -> int:
        result = await self.session.execute(delete(RoutingExample).where(RoutingExample.appeal_id == appeal_id))
        return result.rowcount or 0  # type: ignore[attr-defined]

    async def with_suggestions(self) -> Sequence[tuple[datetime, str | None, str | None, str, str]]:
        """(registered at, suggested sector, suggested category, final sector, final category) per appeal."""
        rows = await self.session.execute(
            select(Appeal.registered_at, Appeal.suggested_sector_id, Appeal.suggested_category_id,
                   RoutingExample.sector_id, RoutingExample.category_id)
            .join(Appeal, Appeal.id == RoutingExample.appeal_id).order_by(Appeal.registered_at))
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]
