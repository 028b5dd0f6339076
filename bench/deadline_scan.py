"""The deadline-reminder scan over a small and a large table of appeals in SQLite.

Run from the repository root:  python bench/deadline_scan.py [--small] [--due 10] [--repeat 7]

Seeds two SQLite files (10,000 and 1,000,000 appeals; with --small 10,000 and 100,000) in a temporary
directory with one INSERT ... SELECT from a recursive CTE: most appeals answered (next_reminder_at NULL),
one in twenty open with its next reminder spread over the coming months, the same handful due now, and
a batch (500) due together at the next morning's opening, when reminders fall.
Then runs bot.scans.deadlines.scan_deadlines, the scheduler's "deadline-reminders" job, the way the
scheduler does (one transaction; here rolled back, so every run finds the same work) at three moments:
nothing due, the handful due, the morning batch due. Prints the times, the ratio between the tables and
the query plan of the due-reminders query as the repository sends it.
Target: the scan (with the handful due) over a million under 50 ms, growing far slower than the table.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine as create_sync_engine  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bot.config import Settings, load  # noqa: E402
from bot.scans.deadlines import scan_deadlines  # noqa: E402
from bot.services.calendar import ProductionCalendar  # noqa: E402
from storage.engine import create_engine, create_sessionmaker  # noqa: E402
from storage.models import Base  # noqa: E402
from storage.repositories import Repositories  # noqa: E402

# Monday 23 November 2026, 10:00 in Moscow: a working morning, so reminders are queued for now.
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
IDLE_AT = NOW - timedelta(hours=2)  # nothing is due yet
MORNING_AT = NOW + timedelta(days=1)  # Tuesday's opening: the morning batch is due
MORNING_BATCH = 500  # bot.scans.deadlines.BATCH: what one scan takes on
TARGET_MS = 50.0
OPEN_EVERY = 20  # one appeal in twenty is still open
CITIZENS = 5_000
OPERATORS_PER_MINISTRY = 2


def stamp(moment: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite (naive, microseconds)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def seed(path: Path, appeals: int, due: int, settings: Settings) -> float:
    """The schema from the models, then users and ``appeals`` appeals; returns the seconds it took."""
    started = time.perf_counter()
    engine = create_sync_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    sectors = [(sector_id, sector.categories[0].id, sector.ministry) for sector_id, sector in settings.sectors.items()]
    base, now = stamp(NOW - timedelta(days=400)), stamp(NOW)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.executemany(
            "INSERT INTO users (channel, platform_id, chat_id, language, role, ministry_id, consent_given, created_at)"
            " VALUES (?, ?, ?, 'ru', ?, ?, 1, ?)",
            [("telegram", str(n), str(n), "citizen", None, base) for n in range(1, CITIZENS + 1)]
            + [("telegram", f"op-{m}-{k}", str(900_000 + 10 * i + k), "operator", m, base)
               for i, m in enumerate(settings.ministries) for k in range(OPERATORS_PER_MINISTRY)])
        db.execute("CREATE TEMP TABLE sectors (k INTEGER PRIMARY KEY, sector TEXT, category TEXT, ministry TEXT)")
        db.executemany("INSERT INTO sectors VALUES (?, ?, ?, ?)", [(k, *s) for k, s in enumerate(sectors)])
        # Registered over the last 400 days; the open ones (every OPEN_EVERY-th) have a deadline 30-180
        # days ahead and their next reminder three days before it; the rest answered, no reminder.
        db.execute(f"""
            INSERT INTO appeals (number, year, seq, citizen_id, citizen_name, sector_id, category_id, ministry_id,
                                 text, status, registered_at, deadline_at, extended, answered_at,
                                 redirect_count, reopen_count, next_reminder_at)
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :appeals)
            SELECT printf('ЦУР-%d-%07d', 2025 + i % 2, i), 2025 + i % 2, i, 1 + i % {CITIZENS}, 'Житель',
                   s.sector, s.category, s.ministry, 'Текст обращения', open.yes,
                   datetime(:base, '+' || (i * 400 / :appeals) || ' days') || '.000000',
                   datetime(:now, '+' || (30 + i % 151) || ' days') || '.000000',
                   0, NULL, 0, 0,
                   CASE WHEN open.yes = 'in_work'
                        THEN datetime(:now, '+' || (27 + i % 151) || ' days', '+' || (i % 600) || ' minutes')
                             || '.000000' END
            FROM n
            JOIN sectors AS s ON s.k = i % {len(sectors)}
            JOIN (SELECT 0 AS r, 'in_work' AS yes UNION ALL SELECT 1, 'answered') AS open
              ON open.r = (i % {OPEN_EVERY} != 0)
        """, {"appeals": appeals, "base": base, "now": now})
        db.execute("UPDATE appeals SET answered_at = registered_at WHERE status = 'answered'")
        # The same handful due now in either table: reminders whose moment came in the last minutes.
        db.execute(f"""
            UPDATE appeals SET next_reminder_at = datetime(:now, '-' || (id % 50) || ' minutes') || '.000000',
                               deadline_at = datetime(:now, '+3 days') || '.000000'
            WHERE id IN (SELECT id FROM appeals WHERE status = 'in_work' ORDER BY id LIMIT {due})
        """, {"now": now})
        db.execute(f"""
            UPDATE appeals SET status = 'in_work', answered_at = NULL, next_reminder_at = :morning,
                               deadline_at = datetime(:morning, '+3 days') || '.000000'
            WHERE id IN (SELECT id FROM appeals WHERE status = 'answered' ORDER BY id DESC LIMIT {MORNING_BATCH})
        """, {"morning": stamp(MORNING_AT)})
        db.execute("ANALYZE")
    return time.perf_counter() - started


async def measure(path: Path, settings: Settings, repeat: int) -> dict[str, Any]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = create_sessionmaker(engine)
    calendar = ProductionCalendar.from_settings(settings)
    captured: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "next_reminder_at <=" in statement and not captured:
            captured.append((statement, parameters))

    async def scan(moment: datetime) -> tuple[float, int]:
        async with sessions() as session:
            await session.begin()
            started = time.perf_counter()
            queued = await scan_deadlines(Repositories(session), settings, calendar, moment)
            elapsed = (time.perf_counter() - started) * 1000
            await session.rollback()  # every run finds the same appeals due
        return elapsed, queued

    scans, idle, queries, queued = [], [], [], 0
    await scan(NOW)  # warm-up: statement caches, the connection pool, the first pages read
    for _ in range(repeat):
        elapsed, queued = await scan(NOW)
        scans.append(elapsed)
        idle.append((await scan(IDLE_AT))[0])
        async with sessions() as session:
            started = time.perf_counter()
            due = await Repositories(session).appeals.due_reminders(NOW, MORNING_BATCH)
            queries.append((time.perf_counter() - started) * 1000)
    morning = [await scan(MORNING_AT) for _ in range(max(1, repeat // 3))]
    statement, parameters = captured[0]
    async with engine.connect() as connection:
        plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
        total = (await connection.exec_driver_sql("SELECT count(*) FROM appeals")).scalar_one()
    await engine.dispose()
    return {"scans": scans, "idle": idle, "queries": queries, "queued": queued, "due": len(due),
            "morning": morning, "plan": [row[-1] for row in plan], "sql": " ".join(statement.split()),
            "appeals": total}


def report(seconds: float, result: dict[str, Any]) -> None:
    scans, idle, morning = result["scans"], result["idle"], result["morning"]
    handful, nothing = statistics.median(scans), statistics.median(idle)
    print(f"{result['appeals']:,} appeals (seeded in {seconds:.1f} s)")
    print(f"  scan, {result['due']} due ({result['queued']} reminders queued): median {handful:.2f} ms "
          f"(min {min(scans):.2f}, max {max(scans):.2f} over {len(scans)} runs after a warm-up)")
    print(f"  scan, nothing due:  median {nothing:.2f} ms; the due-reminders query alone "
          f"{statistics.median(result['queries']):.2f} ms")
    per_due = (handful - nothing) / result["due"] if result["due"] else float("nan")
    print(f"  scan, morning batch of {MORNING_BATCH} due: median {statistics.median(t for t, _ in morning):.0f} ms "
          f"({morning[0][1]} reminders queued); about {per_due:.1f} ms per due appeal")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10,000 and 100,000 appeals (a CI smoke run)")
    parser.add_argument("--due", type=int, default=10, help="appeals whose reminder is due now")
    parser.add_argument("--repeat", type=int, default=7, help="scans per table (the median is reported)")
    args = parser.parse_args(argv)
    sizes = (10_000, 100_000) if args.small else (10_000, 1_000_000)
    settings = load(ROOT / "config.toml", environ={})
    medians, fastest = [], []
    with tempfile.TemporaryDirectory(prefix="bench-deadline-scan-") as workdir:
        for size in sizes:
            path = Path(workdir) / f"appeals-{size}.db"
            seconds = seed(path, size, args.due, settings)
            result = asyncio.run(measure(path, settings, args.repeat))
            report(seconds, result)
            medians.append(statistics.median(result["scans"]))
            fastest.append(min(result["scans"]))
    growth = sizes[1] // sizes[0]
    print(f"ratio:     scan {medians[1] / medians[0]:.2f}x (median), {fastest[1] / fastest[0]:.2f}x (min) "
          f"for a table {growth}x larger")
    print(f"query:     {result['sql']}")
    print("plan:      " + "\n           ".join(result["plan"]))
    uses_index = any("ix_appeals_next_reminder" in line for line in result["plan"])
    print(f"index:     ix_appeals_next_reminder {'used' if uses_index else 'NOT used'}")
    # Judged on the fastest run, the cost without other processes' interference (as timeit does); on a busy
    # machine the median carries the waits for a CPU of each thread hop of aiosqlite.
    ok = uses_index and fastest[1] < TARGET_MS and fastest[1] / fastest[0] < 3
    print(f"target:    < {TARGET_MS:.0f} ms over {sizes[1]:,} (min {fastest[1]:.2f} ms, median {medians[1]:.2f} ms) "
          f"and far slower growth than the table: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
