"""Reading and moving a channel's position (see storage/cursor_models.py). Never commits by itself."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.cursor_models import ChannelCursor
from storage.models import utcnow


class ChannelCursorRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, channel: str, name: str) -> str | None:
        return await self.session.scalar(
            select(ChannelCursor.value).where(ChannelCursor.channel == channel, ChannelCursor.name == name))

    async def put(self, channel: str, name: str, value: str) -> None:
        row = await self.session.get(ChannelCursor, (channel, name))
        if row is None:
            self.session.add(ChannelCursor(channel=channel, name=name, value=value, updated_at=utcnow()))
        else:
            row.value = value
            row.updated_at = utcnow()
