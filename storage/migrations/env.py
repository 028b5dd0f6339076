"""Alembic environment: async engines (aiosqlite, asyncpg); batch mode so SQLite can ALTER."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.engine import create_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    # One transaction for the whole upgrade, version check included. Alembic's SQLite default is
    # "non-transactional DDL": a transaction per migration, the version read outside them, so two
    # instances started at once on a fresh file both saw "no schema" and the slower one failed on
    # `duplicate column`. SQLite does run DDL in transactions; with BEGIN IMMEDIATE (storage/engine)
    # the second instance now waits for the first and then finds the schema at head.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
