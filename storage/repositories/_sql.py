"""What every repository module shares: the dialect of a session and its INSERT ... ON CONFLICT."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _insert(session: AsyncSession, table: Any) -> Any:
    return _insert_for(_dialect(session), table)


def _insert_for(dialect: str, table: Any) -> Any:
    """An INSERT ... ON CONFLICT of the dialect on the Table of ``table`` (a mapped class or a Table):
    a Core insert skips the ORM's bulk-insert machinery, which cost a tenth of an update's database time."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(getattr(table, "__table__", table))
