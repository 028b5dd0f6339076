"""aiosqlite with one thread hop per statement.

Why. aiosqlite runs each sqlite3 call on the connection's own thread, and SQLAlchemy's adapter makes
one call per DBAPI step: ``cursor()``, ``execute()``, ``fetchall()``, ``close()``; with BEGIN and
COMMIT that is ~45 hops for one update of a dialog (bench/load.py). Every hop is a queue put, a
thread wake-up, a GIL hand-over and a self-pipe write back to the loop, and under load the hops,
not SQLite, were the cost: ~20 ms of CPU per update on 2 cores. Here a statement is one function
run on the same aiosqlite thread -- cursor, execute, fetch, close -- so the loop still never blocks
on the database (a long report does not freeze the dialogs) and aiosqlite still owns the thread.

How. SQLAlchemy's ``module=`` engine argument (https://docs.sqlalchemy.org/en/20/core/engines.html,
"module") takes this DBAPI adapter in place of the stock one; its connections hand out
:class:`OneHopCursor`. Only aiosqlite's queue entry point ``Connection._execute(fn)`` is used, the
one SQLAlchemy's own adapter uses to set the isolation level.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, list[Any], int, int | None]


def _run_statement(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _run_many(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, [], cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement, rows and counts come back in one trip to the thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # there is no long-lived driver cursor
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        return None  # the driver cursor is closed already, its description kept

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._trip(_run_statement, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._trip(_run_many, operation, seq_of_parameters)

    async def _trip(self, statement: Any, operation: Any, parameters: Any) -> None:
        async with self._adapt_connection._execute_mutex:
            driver = self._connection
            outcome = await driver._execute(statement, driver._conn, operation, parameters)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The stock adapter, connecting with :class:`OneHopConnection`."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        connection = aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy does: a forgotten connection must not hang exit
        return OneHopConnection(self, await_(connection))


def one_hop_dbapi() -> OneHopDBAPI:
    return OneHopDBAPI(aiosqlite, sqlite3)
