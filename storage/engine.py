"""Engine and session factory. SQLite gets WAL, foreign keys, a busy timeout and IMMEDIATE transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage.sqlite_driver import one_hop_dbapi

SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


def create_engine(url: str, **options: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        options.setdefault("module", one_hop_dbapi())  # one thread hop per statement: see sqlite_driver
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Every transaction here takes SQLite's one write lock (BEGIN IMMEDIATE, below), so a second
        # connection in the same process could only wait for it -- in SQLite's busy handler, which
        # sleeps 1, 2, 5 ... 100 ms between tries: under load most of an update's time was spent
        # asleep there (strace: clock_nanosleep). One connection per process makes the transactions
        # queue on the pool instead, in order and without sleeping. Other processes (a CLI command,
        # a second instance) still meet the busy timeout.
        options.setdefault("pool_size", 1)
        options.setdefault("max_overflow", 0)
        options.setdefault("pool_timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    # A failed statement's message (logged with its traceback) must not carry a citizen's text or phone.
    options.setdefault("hide_parameters", True)
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, say when a transaction begins (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY at once
        # (the busy timeout does not apply to lock upgrades); taking the write lock up front
        # makes concurrent registrations wait their turn instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _use_wal(cursor: Any) -> None:
    """WAL is a property of the file and sticks: only a new file needs switching. The switch needs
    the file to itself, and SQLite fails it at once, without the busy handler, when another
    connection (a second instance starting on the same new file) is in the way: so try again."""
    cursor.execute("PRAGMA journal_mode")
    if cursor.fetchone()[0] == "wal":
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:  # the driver's own: this is below SQLAlchemy
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_engine(url: str) -> AsyncEngine:
    """An engine of its own for long reads (reports): it never holds the connection the updates queue on.

    SQLite: one connection that reads in a deferred transaction (a consistent WAL snapshot that takes no
    lock, so writers go on) and refuses to write (``query_only``). PostgreSQL: a read-only transaction
    on a connection of its own.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_size=1, max_overflow=0,
                                   execution_options={"postgresql_readonly": True})
    options: dict[str, Any] = {"pool_size": 1, "max_overflow": 0}
    if parsed.drivername == "sqlite+aiosqlite":
        options["module"] = one_hop_dbapi()
    engine = create_async_engine(url, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def read_in_thread(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> Awaitable[T]:
    """Run ``work`` on a read-only session of an engine of its own, in a thread with its own event loop.

    For reports: the connection the updates queue on (SQLite's single one) is never held, and the
    updates' event loop is not the one that turns a year of rows into objects and a workbook; it only
    shares the GIL, which the interpreter hands back every few milliseconds.
    """

    async def main() -> T:
        engine = create_read_engine(url)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.to_thread(lambda: asyncio.run(main()))


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return Path(parsed.database).expanduser()
    return None


def snapshot_sqlite(source: Path, copy: Path) -> None:
    """A consistent copy of the database through SQLite's online backup, owner-readable only."""
    copy.touch(mode=0o600)
    with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as live, \
            closing(sqlite3.connect(copy)) as target:
        live.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
