"""Timed work on APScheduler: periodic scans over indexed queries, not one stored job per appeal.

This module only wires jobs to scans (``bot.scans``; the meeting scans and the weekly digest still
in their services) and runs them; it never imports the handlers.

Due times live in our own tables (``appeals.next_reminder_at``, the notices ledger), so an
interval job only asks "what is due now?". Jobs coalesce (a missed run after downtime runs
once) and never overlap; on PostgreSQL each scan takes an advisory lock so that of several
instances one scans at a time.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Duration
from bot.scans import Scan, SessionScan, deadlines, meetings, privacy, ratings, reports, routing
from storage.repositories import Repositories

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

MAX_ROUNDS = 100


@dataclass
class Job:
    name: str
    every_s: int
    scan: Scan | None = None
    session_scan: SessionScan | None = None
    # A scan that returns this many handled rows may have more: run it again at once (new transaction).
    batch: int | None = None


@dataclass
class Scheduler:
    app: App
    clock: Callable[[], datetime]
    jobs: list[Job] = field(default_factory=list)
    aps: AsyncIOScheduler = field(default_factory=lambda: AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}))

    def start(self) -> None:
        for job in self.jobs:
            # The first run at once, on the wall clock APScheduler keeps (the scans' own "now" is self.clock:
            # a console pretending another moment must not have its runs skipped as misfired).
            self.aps.add_job(self.run, "interval", seconds=job.every_s, args=[job.name], id=job.name,
                             next_run_time=datetime.now(UTC))
        self.aps.start()

    async def shutdown(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)

    async def run(self, name: str) -> int:
        """One pass of one job; returns the number of notices queued (0 if another instance holds it)."""
        job = next(j for j in self.jobs if j.name == name)
        now = self.clock()
        try:
            if job.session_scan is not None:
                return await job.session_scan(self.app.sessionmaker, self.app.settings, self.app.calendar, now)
            assert job.scan is not None
            total = 0
            for _ in range(MAX_ROUNDS):
                async with self.app.sessionmaker() as session, session.begin():
                    if not await _lock(session, name):
                        return total
                    handled = await job.scan(Repositories(session), self.app.settings, self.app.calendar, now)
                total += handled
                if job.batch is None or handled < job.batch:
                    break
            if total:
                log.info("%s: %d handled", name, total)
            return total
        except asyncio.CancelledError:
            # Shutdown cancels a pass in flight (APScheduler's shutdown(wait=False)): its transaction rolled
            # back, it runs again at the next start. Not an error, and no traceback in the console.
            log.info("scheduled job %s stopped by shutdown", name)
            return 0
        except Exception:
            log.exception("scheduled job %s failed; it runs again at its next interval", name)
            return 0


async def _lock(session: AsyncSession, name: str) -> bool:
    """One instance per scan on PostgreSQL; the key is the job's name."""
    return await Repositories(session).locks.try_scan_lock(zlib.crc32(name.encode()))


def build_scheduler(app: App, clock: Callable[[], datetime]) -> Scheduler:
    jobs = [
        Job("deadline-reminders", 60, scan=deadlines.scan_deadlines, batch=deadlines.BATCH),
        Job("overdue-digests", 300, scan=deadlines.scan_overdue_digests),
        Job("privacy-retention", 3600, scan=privacy.scan_retention),
    ]
    # The expert group's timed work: materials, member reminders, quorum alerts, quarter
    # reminders, vote deadlines, protocols. Each claims its notices, so a rerun sends nothing twice.
    jobs += [Job(f"experts-{scan.__name__.removeprefix('scan_')}", 60, session_scan=scan) for scan in meetings.SCANS]
    jobs += [Job("rating-reminders", 3600, session_scan=ratings.scan_rating_reminders),
             Job("weekly-digest", 3600, session_scan=reports.scan_weekly_digest)]
    jobs += _retrain_job(app)
    return Scheduler(app, clock, jobs)


def _retrain_job(app: App) -> list[Job]:
    """Retrain on the region's learned examples every `routing.retrain_every` (weekly by default).

    The first run is at start-up: build_app has loaded or trained the model already, so it finds
    nothing new and returns at once. Every instance retrains its own model (bot/scans/routing.py).
    """
    every = app.settings.routing.retrain_every
    if not every or app.extras.get("classifier") is None:
        return []
    return [Job("routing-retrain", Duration.parse(every).amount * 86400, session_scan=routing.retrain(app.extras))]
