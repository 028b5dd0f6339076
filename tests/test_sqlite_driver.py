"""The SQLite driver adapter: one trip to aiosqlite's thread per statement, same results and errors."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.engine import create_engine


@pytest.fixture
async def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


async def test_a_select_is_one_trip_to_the_database_thread(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    trips = []
    original = aiosqlite.Connection._execute

    async def counting(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # connected and begun before counting
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
        rows = (await connection.execute(text("SELECT id, name FROM items WHERE id > :n"), {"n": 0})).all()
        during = list(trips)
    assert rows == []
    assert during == ["_run_statement"]  # the stock adapter makes four: cursor, execute, fetchall, close


async def test_rows_counts_and_ids_come_back(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO items (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await connection.execute(text("INSERT INTO items (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}])
        updated = await connection.execute(text("UPDATE items SET name = name || '!' WHERE id >= 2"))
        assert updated.rowcount == 2
        result = await connection.execute(text("SELECT id, name FROM items ORDER BY id"))
        assert list(result.keys()) == ["id", "name"]
        assert result.all() == [(1, "a"), (2, "b!"), (3, "c!")]


async def test_a_constraint_violation_is_sqlalchemys_integrity_error(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO items (name) VALUES ('same')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO items (name) VALUES ('same')"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM items"))).scalar() == 1
