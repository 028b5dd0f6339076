"""How long the ministry ranking takes over a million appeals in SQLite.

Run from the repository root:  python bench/report.py [--appeals 1000000] [--keep PATH]

A temporary database is migrated (the real schema and indexes), seeded in SQL with a recursive
CTE (INSERT ... SELECT, no Python loop), then the ranking and the statistics for the whole
year and for one month are computed through the same code as /ranking and /stats.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config import Settings, load  # noqa: E402
from bot.services import reports  # noqa: E402
from storage.engine import create_engine, create_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

LIMIT_S = 2.0
# Pseudo-random but repeatable per row: multiplicative hashes of the row number.
SEED_APPEALS = """
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count),
rows AS (
  SELECT n, (n * 7919) % 1000 AS r1, (n * 104729) % 997 AS r2, (n * 1299709) % 991 AS r3,
         julianday('2026-01-01') + (n - 1) * 365.0 / :count AS reg
  FROM seq
),
shaped AS (
  SELECT n, r1, r2, r3, reg,
         CASE n % 8 WHEN 0 THEN 'housing' WHEN 1 THEN 'energy' WHEN 2 THEN 'waste' WHEN 3 THEN 'education'
                    WHEN 4 THEN 'health' WHEN 5 THEN 'roads' WHEN 6 THEN 'transport' ELSE 'social' END AS sector,
         CASE WHEN r1 < 850 THEN (CASE WHEN r2 < 600 THEN 'rated' ELSE 'answered' END)
              WHEN r1 < 900 THEN 'in_work' ELSE 'registered' END AS status
  FROM rows
)
INSERT INTO appeals (id, number, year, seq, citizen_id, sector_id, category_id, ministry_id, status,
                     registered_at, deadline_at, extended, answered_at, redirect_count, reopen_count)
SELECT n, 'ЦУР-2026-' || printf('%07d', n), 2026, n, 1, sector, 'other',
       CASE sector WHEN 'housing' THEN 'energy_housing' WHEN 'energy' THEN 'energy_housing'
                   WHEN 'waste' THEN 'nature_ecology' WHEN 'education' THEN 'education' WHEN 'health' THEN 'health'
                   WHEN 'roads' THEN 'transport_roads' WHEN 'transport' THEN 'transport_roads'
                   ELSE 'labour_social' END,
       status,
       strftime('%Y-%m-%d %H:%M:%S', reg) || '.000000',
       strftime('%Y-%m-%d %H:%M:%S', reg + 30) || '.000000',
       r2 % 33 = 0,
       CASE WHEN status IN ('answered', 'rated')
            THEN strftime('%Y-%m-%d %H:%M:%S', reg + r3 % 40 + (r2 % 24) / 24.0) || '.000000' END,
       r3 % 20 = 0,
       CASE WHEN status IN ('answered', 'rated') AND r1 % 50 = 0 THEN 1 ELSE 0 END
FROM shaped
"""
SEED_EVENTS = [
    """INSERT INTO appeal_events (appeal_id, kind, status, details, at)
       SELECT id, 'registered', 'registered', '{}', registered_at FROM appeals""",
    """INSERT INTO appeal_events (appeal_id, kind, status, details, at)
       SELECT id, 'answered', 'answered', '{}', answered_at FROM appeals WHERE answered_at IS NOT NULL""",
    """INSERT INTO appeal_events (appeal_id, kind, status, details, at)
       SELECT id, 'redirected', 'registered',
              json_object('from', 'education', 'to', ministry_id, 'late', json(CASE WHEN id % 3 = 0
                          THEN 'true' ELSE 'false' END)),
              registered_at FROM appeals WHERE redirect_count > 0""",
    """INSERT INTO appeal_events (appeal_id, kind, status, details, at)
       SELECT id, 'overdue', status, '{}', deadline_at FROM appeals
       WHERE status IN ('registered', 'in_work') AND deadline_at < '2026-12-01'""",
    """INSERT INTO appeal_ratings (appeal_id, answer_no, score, ministry_id, sector_id, registered_at, at)
       SELECT id, reopen_count + 1, 1 + (id * 31) % 5, ministry_id, sector_id, registered_at, answered_at
       FROM appeals WHERE status = 'rated'""",
]


def seed(path: Path, count: int) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-500000")  # 500 MB: index pages stay in memory while seeding
        connection.execute("INSERT INTO users (id, channel, platform_id, chat_id, language, role, consent_given, "
                           "created_at) VALUES (1, 'console', 'bench', 'bench', 'ru', 'citizen', 1, "
                           "'2026-01-01 00:00:00.000000')")
        connection.execute(SEED_APPEALS, {"count": count})
        for statement in SEED_EVENTS:
            connection.execute(statement)
        connection.commit()


async def measure(url: str, settings: Settings, period: reports.Period, now: datetime) -> tuple[list[float], int]:
    """Seconds for the report and the ranking: first on a cold connection (as a /ranking would be), then warm."""
    engine = create_engine(url)
    timings, received = [], 0
    try:
        sessionmaker = create_sessionmaker(engine)
        for _ in range(2):
            async with sessionmaker() as session:
                started = time.perf_counter()
                report = await reports.build_report(session, settings, period, now)
                reports.ranking(report, settings)
                timings.append(time.perf_counter() - started)
                received = report.total.received
        return timings, received
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="seed this file and keep it (default: a temporary one)")
    args = parser.parse_args()
    settings = load(ROOT / "config.toml", environ={})
    zone = settings.region.zone
    with tempfile.TemporaryDirectory() as scratch:
        path = args.keep or Path(scratch) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        started = time.perf_counter()
        upgrade(url)
        print(f"migrate: {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        seed(path, args.appeals)
        print(f"seed: {args.appeals:,} appeals with events and ratings in {time.perf_counter() - started:.2f} s")
        now = datetime(2026, 12, 31, 12, tzinfo=UTC)
        worst = 0.0
        for label, period in (("year 2026", reports.Period.between(date(2026, 1, 1), date(2026, 12, 31), zone)),
                              ("March 2026", reports.Period.between(date(2026, 3, 1), date(2026, 3, 31), zone))):
            (cold, warm), received = asyncio.run(measure(url, settings, period, now))
            worst = max(worst, cold)
            print(f"ranking + statistics, {label}: {received:,} appeals in {cold:.2f} s (again: {warm:.2f} s)")
    verdict = "OK" if worst < LIMIT_S else "TOO SLOW"
    print(f"{verdict}: the slowest took {worst:.2f} s (limit {LIMIT_S:.0f} s)")
    return 0 if worst < LIMIT_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
