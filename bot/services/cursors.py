"""A channel's stream position kept in the database: each save is its own small transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.cursor_repo import ChannelCursorRepo


class DatabaseCursors:
    """``bot.channels.base.Cursors`` over the ``channel_cursors`` table."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def load(self, channel: str, name: str) -> str | None:
        async with self.sessionmaker() as session:
            return await ChannelCursorRepo(session).get(channel, name)

    async def save(self, channel: str, name: str, value: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            await ChannelCursorRepo(session).put(channel, name, value)
