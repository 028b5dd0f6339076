"""The conversations, written once for every messenger.

``Conversations.handle`` takes one neutral ``Incoming`` and returns the immediate replies.
Everything an update changes — the de-duplication key, the dialog state, the appeal, the
outbox rows — is committed in one transaction, so a redelivered update does nothing twice
and a restart continues the dialog where it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import observability, payloads
from bot.config import Settings
from bot.deps import Deps
from bot.events import HandlingDeferred, Incoming, Reply
from bot.i18n import translator
from bot.observability import Metrics
from bot.services import users
from bot.services.calendar import ProductionCalendar
from handlers import (
    citizen,
    common,
    experts,
    followups,
    guards,
    operator,
    privacy,
    rate_limit,
    ratings,
    reports,
    workplace,
)
from handlers.context import Context
from handlers.legacy import LEGACY_STATES, upgrade
from handlers.router import RouteError, Router, is_transient
from storage.repositories import Repositories

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_router() -> Router:
    """Every dialog in one router; a state, verb or command registered twice raises ``RouteError`` here."""
    router = Router()
    common.setup(router)
    citizen.setup(router)
    followups.setup(router)
    operator.setup(router)
    experts.setup(router)
    ratings.setup(router)
    reports.setup(router)
    privacy.setup(router)
    guards.setup(router)
    workplace.setup(router)
    router.check()
    lost = sorted(set(LEGACY_STATES.values()) - router.inputs.keys())
    if lost:
        raise RouteError(f"stored states of the previous release would continue in unknown states {lost}")
    return router


class Conversations:
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
                 calendar: ProductionCalendar | None = None, clock: Clock = utc_now,
                 deps: Deps | None = None, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.calendar = calendar or ProductionCalendar.from_settings(settings)
        self.clock = clock
        self.deps = deps or Deps()
        self.metrics = metrics
        self.router = build_router()

    async def handle(self, event: Incoming) -> list[Reply]:
        language = self.settings.region.default_language
        observability.update_key.set(event.update_key)
        observability.user_ref.set(f"{event.channel}:{event.user_id}")
        observability.appeal_number.set(None)
        started = time.perf_counter()
        if self.metrics is not None:
            self.metrics.updates.labels(channel=event.channel).inc()
        try:
            async with self.sessionmaker() as session, session.begin():
                repo = Repositories(session)
                if not await repo.updates.remember(event.update_key, self.clock()):
                    # Redelivered (a webhook retry, a restart before the offset was confirmed): the
                    # effect happened once; the answer may have been lost with the crash, so it is
                    # given again as it was (a repeated message beats a lost appeal number).
                    log.info("update already handled; its replies are given again")
                    return [Reply.from_dict(r) for r in await repo.updates.replies_of(event.update_key)]
                event = await self._unseen_parts(repo, event)
                if event is None:
                    log.info("every message of this album was taken before; nothing new")
                    return []
                ctx = await self._context(repo, event)
                language = ctx.user.language
                if rate_limit.allow(ctx):
                    await self.router.dispatch(ctx)
                elif not ctx.replies:  # refused again within the window: nothing is said and nothing stored
                    await session.rollback()
                    return []
                # Whose replies: unless the update erased the person (then nothing points back to them).
                owner = f"{event.channel}:{event.user_id}" if ctx.user.platform_id == event.user_id else None
                await repo.updates.store_replies(event.update_key, [r.to_dict() for r in ctx.replies], owner)
            return ctx.replies
        except Exception as exc:
            if is_transient(exc):
                # Nothing was saved (the transaction rolled back) and nothing is said: the channel does not
                # confirm the update, so it comes again and is handled once the database is back.
                if self.metrics is not None:
                    self.metrics.updates_deferred.labels(channel=event.channel).inc()
                log.warning("update deferred: the database is unavailable (%s)", type(exc).__name__)
                raise HandlingDeferred(type(exc).__name__) from exc
            if self.metrics is not None:
                self.metrics.handler_errors.labels(channel=event.channel).inc()
            # Content stays out of the error log (personal data); the kind of input is enough to reproduce.
            log.exception("handler failed (payload %s, text of %d characters, %d files)",
                          payloads.describe(event.payload, self.router.buttons),
                          len(event.text), len(event.attachments))
            return [Reply(text=translator(language)("error.internal"), toast=translator(language)("error.toast"))]
        finally:
            if self.metrics is not None:
                self.metrics.handling.observe(time.perf_counter() - started)

    async def _unseen_parts(self, repo: Repositories, event: Incoming) -> Incoming | None:
        """The event without the album messages taken before (under another grouping); None if all were."""
        if not event.part_keys:
            return event
        fresh = [await repo.updates.remember(key) for key in event.part_keys]
        if all(fresh):
            return event
        if not any(fresh) or len(fresh) != len(event.attachments):
            return None
        return replace(event, attachments=tuple(a for a, new in zip(event.attachments, fresh, strict=True) if new))

    async def mark_unreachable(self, channel: str, chat_id: str, reason: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            await users.mark_unreachable(Repositories(session), channel, chat_id, reason, self.clock())

    async def _context(self, repo: Repositories, event: Incoming) -> Context:
        default = self.settings.region.default_language
        user = await users.identify(repo, event.channel, event.user_id, event.chat_id, default)
        # In a group several staff members talk at once: each keeps a dialog of their own.
        key = f"{event.chat_id}/{event.user_id}" if event.is_group else event.chat_id
        conversation = await repo.conversations.load(event.channel, key)
        upgrade(conversation)  # a dialog saved by the previous release continues
        return Context(event=event, settings=self.settings, repo=repo, user=user, conversation=conversation,
                       now=self.clock(), calendar=self.calendar, deps=self.deps, router=self.router)
