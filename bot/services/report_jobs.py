"""Heavy reports away from the conversations: /stats, /ranking and /export are requests, built by a worker.

A year's export reads every appeal of the year and writes a workbook: seconds of database and CPU.
Built inside the update, it held the update's transaction -- on SQLite the one connection every
dialog queues on -- so fifty citizens waited for one supervisor. Now the update only records a
``ReportRequest`` (and says "preparing…"); the worker builds it in a process of its own, on a read-only
engine of its own, so neither the updates' connection nor their event loop nor their interpreter lock
waits for it (bench/export_load.py: built in a thread of the same process, the workbook's pure-Python
cell writing took the GIL from the dialogs and their p99 went from 34 ms to 6 s). The file goes out
through the outbox, re-checked against the reader's role when sent. Files live in a private
directory of the instance (0700, files 0600) and are removed once the outbox has sent the message
(or given up on it).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.events import Reply
from bot.services import exports
from bot.services.audience import SUPERVISORS
from bot.services.outbox import notify_user
from bot.services.periods import Period
from storage.engine import create_read_engine, snapshot_sqlite, sqlite_file
from storage.models import ReportRequest, User
from storage.repositories import Repositories

log = logging.getLogger(__name__)

KINDS = ("stats", "ranking", "export")
# A year's export takes a few minutes at most; a request building longer than this was lost with its process.
LEASE = timedelta(minutes=15)
MAX_ATTEMPTS = 3
# The report process yields the CPU to the dialogs (a nice value, as for any batch job): on two cores
# shared with other work, a year's export otherwise takes a core the dialogs need (bench/export_load.py).
NICENESS = 15


def reports_dir(settings: Settings, base: Path | None = None) -> Path:
    """The instance's private directory for report files: beside the SQLite file, else in the user's state
    directory; never a fixed name in the shared /tmp. Owner only (0700)."""
    if base is None:
        database = sqlite_file(settings.database.url)
        if database is not None:
            base = database.resolve().parent / "reports"
        else:
            state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
            base = Path(state) / "appeals-bot" / "reports"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    base.chmod(0o700)
    return base


async def request(repo: Repositories, user: User, kind: str, period: Period, now: datetime) -> None:
    """Record the request in the update's transaction; the worker picks it up once it is committed."""
    repo.report_requests.add(ReportRequest(user_id=user.id, kind=kind, first=period.first, last=period.last,
                                   status="pending", attempts=0, created_at=now))


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    first: date
    last: date
    language: str


class ReportWording(Protocol):
    """What the worker is given to word reports (``bot.presenters.report_requests.WORDING``): a service never
    words; it must pickle, to reach the report process."""

    async def compose(self, session: AsyncSession, settings: Settings, kind: str, period: Period, language: str,
                      now: datetime, directory: Path) -> Reply: ...

    def failed(self, language: str) -> Reply: ...


def build_in_child(settings: Settings, job: Job, now: datetime, directory: Path,
                   words: ReportWording) -> dict[str, object]:
    """In the report process: a read-only engine of its own, the report built, the reply as a dict."""

    async def main(url: str) -> dict[str, object]:
        engine = create_read_engine(url)
        period = Period.between(job.first, job.last, settings.region.zone)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
                return (await words.compose(session, settings, job.kind, period, job.language, now,
                                            directory)).to_dict()
        finally:
            await engine.dispose()

    source = sqlite_file(settings.database.url)
    if job.kind != "export" or source is None:
        return asyncio.run(main(settings.database.url))
    # A workbook is written for minutes while its read transaction is open, and on SQLite an open reader
    # keeps the write-ahead log from being reset: it grew to 241 MB under 50 citizens and every commit
    # of theirs got slower (bench/export_load.py). The export reads a copy taken in one short read.
    copy = directory / f"snapshot-{uuid.uuid4().hex}.db"
    try:
        snapshot_sqlite(source, copy)
        return asyncio.run(main(f"sqlite+aiosqlite:///{copy}"))
    finally:
        for leftover in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
            leftover.unlink(missing_ok=True)


def _yield_cpu() -> None:
    if hasattr(os, "nice"):
        os.nice(NICENESS)


def report_process() -> ProcessPoolExecutor:
    """The process reports are built in: spawned (a clean interpreter, no copied loop), below the dialogs."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_yield_cpu)


def outbox_key(request_id: int) -> str:
    return f"report:{request_id}"


@dataclass
class ReportWorker:
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    clock: Callable[[], datetime]
    directory: Path | None = None
    _pool: ProcessPoolExecutor | None = field(default=None, repr=False)
    _shared: bool = field(default=False, repr=False)
    words: ReportWording = field(kw_only=True)

    def _process(self) -> ProcessPoolExecutor:
        """One report process, started on the first report."""
        if self._pool is None:
            self._pool = report_process()
        return self._pool

    def share(self, pool: ProcessPoolExecutor) -> None:
        """Build in ``pool``, a report process that outlives this worker (the tests keep one per session
        instead of starting an interpreter per test); close() leaves it running."""
        self._pool, self._shared = pool, True

    def close(self) -> None:
        if self._pool is not None and not self._shared:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    async def run(self, stop: asyncio.Event, idle_sleep_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                built = await self.run_once()
            except Exception:
                log.exception("report pass failed; retrying")
                built = 0
            if not built:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle_sleep_s)
                except TimeoutError:
                    pass

    async def run_once(self, sweep: bool = True) -> int:
        """Remove what was delivered, then build one pending report. Returns 1 if one was built.

        The console passes ``sweep=False``: it "delivers" a file by printing its path, so the file stays
        for the person at the terminal to open (and goes with the day-old leftovers, exports.exports_dir)."""
        if sweep:
            await self.sweep()
        job = await self._claim()
        if job is None:
            return 0
        directory = exports.exports_dir(reports_dir(self.settings, self.directory))  # old leftovers go too
        now = self.clock()
        try:
            loop = asyncio.get_running_loop()
            reply = Reply.from_dict(await loop.run_in_executor(self._process(), build_in_child, self.settings, job,
                                                               now, directory, self.words))
        except Exception:
            log.exception("report request %s (%s) failed", job.id, job.kind)
            reply = self.words.failed(job.language)
        await self._queue(job, reply)
        return 1

    async def _claim(self) -> Job | None:
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            repo = Repositories(session)
            row = await repo.report_requests.claim_next(now - LEASE)
            if row is None:
                return None
            user = await repo.report_requests.requester(row)
            row.status, row.started_at, row.attempts = "building", now, row.attempts + 1
            if user is None:
                await repo.report_requests.drop(row)
                return None
            job = Job(row.id, row.kind, row.first, row.last, user.language)
            if row.attempts > MAX_ATTEMPTS:  # it brought its process down each time: say so, stop trying
                failed = self.words.failed(user.language)
                await self._tell(repo, row, user, failed)
                return None
            return job

    async def _queue(self, job: Job, reply: Reply) -> None:
        async with self.sessionmaker() as session, session.begin():
            repo = Repositories(session)
            row = await repo.report_requests.get(job.id)
            user = await repo.report_requests.requester(row) if row is not None else None
            if row is None or user is None:
                _unlink([a.ref for a in reply.attachments])
                return
            await self._tell(repo, row, user, reply)

    async def _tell(self, repo: Repositories, row: ReportRequest, user: User, reply: Reply) -> None:
        await notify_user(repo, user, reply, dedup_key=outbox_key(row.id), now=self.clock(), audience=SUPERVISORS)
        row.status = "queued"
        row.files = [a.ref for a in reply.attachments if a.channel == "local"]

    async def sweep(self) -> int:
        """Files of reports the outbox has finished with (sent, dropped, failed) are removed, with the request."""
        async with self.sessionmaker() as session, session.begin():
            requests = Repositories(session).report_requests
            queued = {outbox_key(r.id): r for r in await requests.queued()}
            if not queued:
                return 0
            pending = await requests.pending_keys(queued)
            done = [row for key, row in queued.items() if key not in pending]
            for row in done:
                _unlink(row.files or [])
            if done:
                await requests.delete([r.id for r in done])
            return len(done)


def _unlink(paths: list[str]) -> None:
    for path in paths:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove a report file")
