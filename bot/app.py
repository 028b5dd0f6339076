"""The composition root: config -> engine -> sessions -> conversations -> channels. Nothing at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.deps import Deps
from bot.observability import Metrics
from bot.presenters import report_requests
from bot.services import routing_learning
from bot.services.calendar import ProductionCalendar
from bot.services.classifier import Classifier, RoutingDataError, obtain
from bot.services.operator import OPEN
from bot.services.report_jobs import ReportWorker
from handlers import Clock, Conversations, utc_now
from storage.engine import create_engine, create_sessionmaker
from storage.migrate import upgrade_async
from storage.repositories import Repositories

log = logging.getLogger(__name__)


class SchemaOutdated(Exception):
    """The database is not at the latest migration: run `appeals-bot db upgrade`."""


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    calendar: ProductionCalendar
    conversations: Conversations
    deps: Deps = field(default_factory=Deps)
    metrics: Metrics = field(default_factory=Metrics)
    reports: ReportWorker | None = None

    @asynccontextmanager
    async def work(self) -> AsyncIterator[Repositories]:
        """One CLI command's transaction, opened here for every command (an update's is opened in
        ``handlers.Conversations.handle``, a scan's in ``bot.scheduler`` / ``bot.scans``): committed when the
        block ends, rolled back if it raises."""
        async with self.sessionmaker() as session, session.begin():
            yield Repositories(session)

    async def snapshot(self) -> dict[str, object]:
        """Figures for /metrics and /healthz (a failing database fails the health check)."""
        now = self.conversations.clock()
        async with self.sessionmaker() as session:
            repo = Repositories(session)
            pending, oldest = await repo.outbox.pending_stats()
            failures = await repo.outbox.failures()
            overdue = await repo.appeals.overdue_count_by_ministry(OPEN, now)
        return {"outbox_pending": pending, "outbox_oldest_s": (now - oldest).total_seconds() if oldest else 0.0,
                "failures": failures, "overdue": sum(overdue.values())}

    async def close(self) -> None:
        if self.reports is not None:
            self.reports.close()
        await self.engine.dispose()


async def build_app(settings: Settings, clock: Clock = utc_now, migrate: bool = True,
                    with_classifier: bool = True, before_training: Callable[[], None] | None = None) -> App:
    """Wire everything. A SQLite database is brought to the latest schema by itself (zero set-up);
    PostgreSQL is migrated explicitly (`appeals-bot db upgrade`), so several instances never race."""
    url = settings.database.url
    engine = create_engine(url)
    if migrate and engine.dialect.name == "sqlite":
        await upgrade_async(url)
    else:
        await _check_schema(engine)
    sessionmaker = create_sessionmaker(engine)
    calendar = ProductionCalendar.from_settings(settings)
    deps = Deps(classifier=await _classifier(settings, sessionmaker, before_training) if with_classifier else None)
    metrics = Metrics()
    conversations = Conversations(settings, sessionmaker, calendar=calendar, clock=clock, deps=deps,
                                  metrics=metrics)
    return App(settings, engine, sessionmaker, calendar, conversations, deps, metrics,
               ReportWorker(sessionmaker, settings, clock, words=report_requests.WORDING))


async def _classifier(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
                      before_training: Callable[[], None] | None = None) -> Classifier | None:
    """The cached model (milliseconds), or trained once for new knowledge; without it the bot shows buttons."""
    path = Path(settings.routing.knowledge)
    if not path.is_file():  # noqa: ASYNC240 - once at start-up
        log.warning("no routing knowledge at %s: sector suggestions are off", path)
        return None
    try:
        return await obtain(settings, await routing_learning.knowledge(sessionmaker, settings), at_start=True,
                            before_training=before_training)
    except (RoutingDataError, RuntimeError, OSError):
        log.exception("the routing model could not be trained or loaded: sector suggestions are off")
        return None


@cache
def _code_head() -> str | None:
    """The latest migration in the code: the scripts are read once per process, not at every App built."""
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def _check_schema(engine: AsyncEngine) -> None:
    from storage.migrate import MIGRATIONS, current_revision

    head = _code_head()
    try:
        current = await current_revision(engine)
    except Exception as exc:
        raise SchemaOutdated(f"the database has no schema yet: run `appeals-bot db upgrade` ({MIGRATIONS})") from exc
    if current != head:
        raise SchemaOutdated(f"the database schema is at {current}, the code needs {head}: "
                             "run `appeals-bot db upgrade`")
