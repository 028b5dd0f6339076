"""The stairway: every migration upgrades, downgrades and upgrades again on a real database.

On SQLite always; on PostgreSQL too when ``TEST_DATABASE_URL`` or ``TEST_POSTGRES_URL`` names a
server (a scratch database is created for it and dropped after). PostgreSQL keeps things SQLite
does not have (sequences, enum types, named constraints), so a downgrade that forgets one fails
there only: hence the check that ``base`` leaves nothing behind, and that the migrated schema is
what the models describe.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from storage.engine import create_engine
from storage.migrate import alembic_config, downgrade, upgrade
from storage.models import Base
from tests.conftest import POSTGRES_URL, create_database, drop_database, run_async, scratch_name


def revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def walk_the_stairway(url: str, tables: Callable[[], set[str]]) -> None:
    steps = revisions(url)
    assert steps
    previous = "base"
    for revision in steps:
        upgrade(url, revision)
        downgrade(url, previous)
        upgrade(url, revision)
        previous = revision
    assert tables() == set(Base.metadata.tables)


def sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    return {name for (name,) in rows} - {"alembic_version"}


def test_stairway_up_down_up(tmp_path: Path) -> None:
    path = tmp_path / "stairs.db"
    url = f"sqlite+aiosqlite:///{path}"
    walk_the_stairway(url, lambda: sqlite_tables(path))
    downgrade(url, "base")
    assert sqlite_tables(path) == set()


def test_no_other_connection_ever_sees_a_half_migrated_file(tmp_path: Path) -> None:
    """Each SQLite instance migrates its file at start-up. Two started together on a fresh file used
    to race: the slower one read a revision the faster one had already passed and failed on
    `duplicate column`. The whole upgrade is now one IMMEDIATE transaction, so a second process
    either waits for it or finds the schema at head; this watches from a second connection, taking
    the write lock whenever it is free, while the upgrade runs."""
    path = tmp_path / "fresh.db"
    url = f"sqlite+aiosqlite:///{path}"
    head = revisions(url)[-1]
    upgrading = threading.Thread(target=upgrade, args=(url,))
    seen: set[str | None] = set()
    watcher = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        upgrading.start()
        while upgrading.is_alive():
            try:
                watcher.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:  # locked: the upgrade holds it
                continue
            try:
                row = watcher.execute("SELECT version_num FROM alembic_version").fetchone()
                seen.add(row[0] if row else None)
            except sqlite3.OperationalError:  # no such table yet
                seen.add(None)
            finally:
                watcher.execute("ROLLBACK")
        upgrading.join()
    finally:
        watcher.close()
    assert seen <= {None, head}, f"a half-migrated schema was visible: {sorted(map(str, seen))}"
    assert sqlite_tables(path) == set(Base.metadata.tables)


async def postgres_leftovers(url: str) -> dict[str, set[str]]:
    """Tables, sequences and types of the public schema (alembic_version aside)."""
    import asyncpg

    from tests.conftest import asyncpg_dsn

    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        tables = {r[0] for r in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")} - {"alembic_version"}
        sequences = {r[0] for r in await connection.fetch(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")}
        types = {r[0] for r in await connection.fetch(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0")}
    finally:
        await connection.close()
    return {"tables": tables, "sequences": sequences, "types": types}


async def schema_drift(url: str) -> list[object]:
    """What autogenerate would change to make the migrated database match the models (nothing, we hope)."""
    engine = create_engine(url)

    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


@pytest.mark.postgres
def test_stairway_up_down_up_on_postgresql() -> None:
    name = scratch_name(POSTGRES_URL, "stairs")
    url = run_async(create_database(POSTGRES_URL, name))
    try:
        walk_the_stairway(url, lambda: run_async(postgres_leftovers(url))["tables"])
        assert run_async(schema_drift(url)) == []
        downgrade(url, "base")
        assert run_async(postgres_leftovers(url)) == {"tables": set(), "sequences": set(), "types": set()}
    finally:
        run_async(drop_database(POSTGRES_URL, name))
