"""The stairway: every migration upgrades, downgrades and upgrades again on a real database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.script import ScriptDirectory

from storage.migrate import alembic_config, downgrade, upgrade
from storage.models import Base


def revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    return {name for (name,) in rows} - {"alembic_version"}


def test_stairway_up_down_up(tmp_path: Path) -> None:
    path = tmp_path / "stairs.db"
    url = f"sqlite+aiosqlite:///{path}"
    steps = revisions(url)
    assert steps
    previous = "base"
    for revision in steps:
        upgrade(url, revision)
        downgrade(url, previous)
        upgrade(url, revision)
        previous = revision
    assert tables(path) == set(Base.metadata.tables)
    downgrade(url, "base")
    assert tables(path) == set()
