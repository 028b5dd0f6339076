"""Fixtures for every test, on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` names one.

Each test gets a clean database at the latest migration, quickly:
- SQLite: the migrations run once per session into a template file, and each test gets a copy of it
  (about 0.1 s less per test than migrating a new file);
- PostgreSQL: the session creates a scratch database of its own on the given server (so two runs, or
  a run and a bench, never clobber each other; the role needs CREATEDB), migrates it once with Alembic,
  and empties every table before each test (DELETE in foreign-key order and sequences restarted: about
  4 ms, against 28 ms for TRUNCATE ... RESTART IDENTITY CASCADE and 30 ms for a database copied from a
  template, measured on PostgreSQL 15 with 20 tables). The scratch database is dropped at the end.

In a PostgreSQL pass, tests that do not use the database under test (no ``settings`` fixture: pure
rules, or a SQLite file of their own, like the console subprocess tests) are skipped with that reason:
they ran in the SQLite pass and nothing in them depends on the database URL. Tests marked ``postgres``
need PostgreSQL (``TEST_DATABASE_URL``, else ``TEST_POSTGRES_URL``) and are skipped with the reason
without one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bot.channels.lazy_aiogram  # noqa: E402, F401  # isort: skip  (as in production: aiogram's types built lazily)
from bot.app import App, build_app  # noqa: E402
from bot.config import Settings, load  # noqa: E402
from bot.services.report_jobs import report_process  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Base  # noqa: E402
from tests.utils.chat import Chat  # noqa: E402


def is_postgres(url: str | None) -> bool:
    return bool(url) and make_url(url).get_backend_name() == "postgresql"  # type: ignore[arg-type]


# The database under test, and the PostgreSQL server for the tests that need one whatever the pass.
DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or ""
POSTGRES_URL = DATABASE_URL if is_postgres(DATABASE_URL) else os.environ.get("TEST_POSTGRES_URL") or ""
POSTGRES_PASS = is_postgres(DATABASE_URL)
NO_POSTGRES = "needs PostgreSQL: set TEST_DATABASE_URL or TEST_POSTGRES_URL (.ci/run does when 127.0.0.1:5432 answers)"
# Tests of other modules that are SQLite-only by what they assert, until their owners mark them sqlite_only.
SQLITE_ONLY = {
    "tests/test_meeting_rules.py::test_protocol_waits_for_signatures_then_goes_to_everyone":
        "asserts that the protocol file is written beside the SQLite database file",
}
NOT_UNDER_TEST = ("PostgreSQL pass: this test does not use the database under test (no database, or a SQLite "
                  "file of its own); it ran in the SQLite pass")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (skipped with the reason otherwise)")
    config.addinivalue_line("markers", "sqlite_only(reason): meaningful on SQLite only; skipped in a PostgreSQL pass")


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_PASS:
        return f"database under test: PostgreSQL {_hide_password(DATABASE_URL)} (a scratch database per session)"
    server = f"; PostgreSQL tests on {_hide_password(POSTGRES_URL)}" if POSTGRES_URL else "; no PostgreSQL"
    return "database under test: SQLite (a copy of a migrated template per test)" + server


# The tests that start processes, longest first (seconds each on an idle machine). They run first, so that
# with `--dist worksteal` (pyproject) the two workers finish together on short tests rather than one
# waiting for the other's long last test. Order only: a name missing here costs time, never a result.
LONG_FIRST = (
    "tests/test_readme_example.py",
    "tests/test_domain.py::test_an_admin_invited_from_the_shell_has_the_supervisors_commands",
    "tests/test_routing_dialog.py::test_classify_import_and_train_from_the_command_line",
    "tests/test_classifier.py::test_the_cached_model_is_rebuilt_when_its_inputs_change",
    "tests/test_report_jobs.py::test_the_console_shows_the_report_before_the_next_prompt",
    "tests/test_staff_cli.py",
    "tests/test_console.py",
    "tests/test_supervisor_followups.py::test_every_command_takes_dd_mm_yyyy_and_echoes_the_period",
    "tests/test_shutdown.py",
    "tests/test_classifier.py::test_learned_examples_teach_the_model",
    "tests/test_ops.py::test_db_backup_makes_a_consistent_copy",
    "tests/test_conversation_properties.py",
    "tests/test_routing_dialog.py::test_retraining_on_learned_examples_changes_the_suggestion",
)


def _long_rank(item: pytest.Item) -> int:
    return next((rank for rank, prefix in enumerate(LONG_FIRST) if item.nodeid.startswith(prefix)), len(LONG_FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_long_rank)  # stable: the rest keep their order
    for item in items:
        if item.get_closest_marker("postgres") is not None:
            if not POSTGRES_URL:
                item.add_marker(pytest.mark.skip(reason=NO_POSTGRES))
            continue
        if not POSTGRES_PASS:
            continue
        only = item.get_closest_marker("sqlite_only")
        reason = SQLITE_ONLY.get(item.nodeid) or (only is not None and (only.args or [only.kwargs])[0])
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
        elif "settings" not in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=NOT_UNDER_TEST))


def _hide_password(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- PostgreSQL: a scratch database per session -------------------------------------------------


def asyncpg_dsn(url: str | URL) -> str:
    """The SQLAlchemy URL as asyncpg's own DSN."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def in_thread(function: Any, *args: Any) -> Any:
    """Call from synchronous code that may sit inside a running loop (asyncio.run would refuse there)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def run_async(coroutine: Any) -> Any:
    return in_thread(asyncio.run, coroutine)


async def create_database(server_url: str, name: str) -> str:
    """A new empty database on the server of ``server_url``; returns its SQLAlchemy URL."""
    import asyncpg

    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def scratch_name(server_url: str, purpose: str) -> str:
    base = make_url(server_url).database or "postgres"
    return f"{base}_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


@dataclass
class ScratchPostgres:
    """A migrated PostgreSQL database that lives for the session and is emptied before each test."""

    server_url: str
    name: str
    url: str
    _empty_sql: str = ""

    @classmethod
    def create(cls, server_url: str) -> ScratchPostgres:
        name = scratch_name(server_url, "pytest")
        url = run_async(create_database(server_url, name))
        scratch = cls(server_url, name, url)
        try:
            in_thread(upgrade, url)  # Alembic's env runs a loop of its own
            scratch._empty_sql = run_async(scratch._plan_emptying())
        except BaseException:
            scratch.drop()
            raise
        return scratch

    async def _plan_emptying(self) -> str:
        """One script: DELETE children before parents (the model's order), then restart every sequence."""
        import asyncpg

        connection = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            present = {r[0] for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")} - {"alembic_version"}
            sequences = [r[0] for r in await connection.fetch(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")]
        finally:
            await connection.close()
        ordered = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name in present]
        ordered = sorted(present - set(ordered)) + ordered  # tables unknown to the model go first
        statements = [f'DELETE FROM "{table}"' for table in ordered]
        statements += [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences]
        return "BEGIN; " + "; ".join(statements) + "; COMMIT"

    async def _empty(self) -> None:
        import asyncpg

        connection = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            await connection.execute(self._empty_sql)
        except asyncpg.PostgresError:
            # A foreign key the model's order does not know about: the slower, sure way.
            await connection.execute("ROLLBACK")
            tables = ", ".join(f'"{r[0]}"' for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"))
            await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        finally:
            await connection.close()

    def empty(self) -> None:
        run_async(self._empty())

    def drop(self) -> None:
        run_async(drop_database(self.server_url, self.name))


@pytest.fixture(scope="session")
def scratch_postgres() -> Iterator[ScratchPostgres]:
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    scratch = ScratchPostgres.create(POSTGRES_URL)
    yield scratch
    scratch.drop()


@pytest.fixture
def postgres_url(scratch_postgres: ScratchPostgres) -> str:
    """An empty PostgreSQL database at the latest migration, whichever database the pass is on."""
    scratch_postgres.empty()
    return scratch_postgres.url


# --- SQLite: a migrated template, copied ------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    in_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as connection:  # everything in the main file, nothing left in -wal
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if POSTGRES_PASS:
        return request.getfixturevalue("postgres_url")
    path = tmp_path / "bot.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite+aiosqlite:///{path}"


# --- the application ----------------------------------------------------------------------------


class Clock:
    """Time the tests control: services never read the wall clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings_for(database_url: str, tmp_path: Path) -> Settings:
    """The shipped config.toml on the given database, nothing from the environment."""
    loaded = load(ROOT / "config.toml", environ={})
    loaded.database.url = database_url
    for group in loaded.groups.values():
        # Protocols go "beside the SQLite file", else into the working directory: keep them in tmp_path.
        group.protocol_dir = group.protocol_dir or str(tmp_path / "protocols")
    return loaded


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return settings_for(_database_url(request, tmp_path), tmp_path)


@pytest.fixture
def clock() -> Clock:
    # Monday 23 November 2026, 10:00 in Moscow.
    return Clock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def report_processes() -> Iterator[list[ProcessPoolExecutor]]:
    """The report process of the session (spawned at the first report, then importing matplotlib, openpyxl
    and the models once, not per test): reports are still built in a process of their own."""
    pools: list[ProcessPoolExecutor] = []
    yield pools
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def shared_report_process(report_processes: list[ProcessPoolExecutor]) -> ProcessPoolExecutor:
    if not report_processes or getattr(report_processes[-1], "_broken", False):  # a test crashed it: a new one
        report_processes.append(report_process())
    return report_processes[-1]


@pytest.fixture
async def app(settings: Settings, clock: Clock, shared_report_process: ProcessPoolExecutor) -> AsyncIterator[App]:
    # The database is at the latest migration already (template copy or scratch database): checked, not migrated.
    built = await build_app(settings, clock=clock, migrate=False)
    if built.reports is not None:
        built.reports.share(shared_report_process)
    yield built
    await built.close()


@pytest.fixture
def citizen(app: App) -> Chat:
    return Chat(app.conversations, user_id="1001")
