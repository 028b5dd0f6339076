"""getUpdates long polling that confirms an update only once it has been handled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import bot.channels.lazy_aiogram  # noqa: F401  # isort: skip  (before aiogram: see that module)
from contextlib import AbstractAsyncContextManager

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    Update,
)

from bot.channels.kit import Backoff, unless_stopped, wait_or_stop
from bot.channels.telegram.common import ALLOWED_UPDATES, _arrives_within
from bot.events import HandlingDeferred

logger = logging.getLogger(__name__)


def _quiet(task: asyncio.Task[None]) -> None:
    """A deferred update's task ends in HandlingDeferred on purpose: retrieved, so asyncio does not log it."""
    if not task.cancelled():
        task.exception()

@dataclass
class _UpdateBook:
    """Which updates are in flight, hence which offset confirms only handled ones."""

    in_flight: set[int] = field(default_factory=set)
    highest: int | None = None
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def offset(self) -> int | None:
        if self.in_flight:
            return min(self.in_flight)
        return None if self.highest is None else self.highest + 1

    def take_new(self, updates: Sequence[Update]) -> list[Update]:
        fresh = [u for u in updates if self.highest is None or u.update_id > self.highest]
        for update in fresh:
            self.in_flight.add(update.update_id)
            self.highest = update.update_id
        return fresh

    def finish(self, update_id: int, task: asyncio.Task[None] | None = None) -> None:
        self.progress.set()
        if task is not None and not task.cancelled() and isinstance(task.exception(), HandlingDeferred):
            # Not handled (the database was away until we stopped): the offset stays below it, so
            # Telegram gives it again after the restart.
            return
        self.in_flight.discard(update_id)



class PollingMixin:
    """The polling half of ``TelegramChannel``."""

    bot: Bot
    _stopping: asyncio.Event
    _polling_timeout: int
    _shutdown_grace: float
    _serving: Callable[[], AbstractAsyncContextManager[None]]

    async def run_polling(self) -> None:
        """Long-poll getUpdates until stopped (or cancelled); network failures back off and recover by themselves.

        On a stop no new updates are taken, those in flight get the grace, and the handled ones are
        confirmed to Telegram with one last getUpdates, so the next start does not get them again.
        """
        async with self._serving():
            await self._introduce()
            # getUpdates answers 409 while a webhook is set (https://core.telegram.org/bots/api#getupdates).
            await self._retrying(partial(self.bot.delete_webhook, drop_pending_updates=False))
            book = _UpdateBook()
            tasks: set[asyncio.Task[None]] = set()
            try:
                await self._poll(book, tasks)
            finally:
                await self._drain(tasks)
            await self._confirm(book)

    async def _poll(self, book: _UpdateBook, tasks: set[asyncio.Task[None]]) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            book.progress.clear()
            try:
                updates = await unless_stopped(self._stopping, self.bot.get_updates(
                    offset=book.offset(), timeout=self._polling_timeout,
                    allowed_updates=list(ALLOWED_UPDATES), request_timeout=self._polling_timeout + 10,
                ))
            except AiogramError as exc:
                delay = backoff.next()
                logger.warning("telegram getUpdates failed (%s); retrying in %.1f s", exc, delay)
                await wait_or_stop(self._stopping, delay)
                continue
            if updates is None:
                return  # stopped while waiting: what that request would have brought comes next time
            backoff.reset()
            fresh = book.take_new(updates)
            for update in fresh:
                task = self._intake(update)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(partial(book.finish, update.update_id))
                task.add_done_callback(_quiet)
            if not fresh and book.in_flight:
                # The offset holds the unfinished ones, so Telegram returns them again at once:
                # wait for one to finish instead of asking in a tight loop.
                await _arrives_within(book.progress, 1.0)

    async def _drain(self, tasks: set[asyncio.Task[None]]) -> None:
        pending = set(tasks)
        if pending and self._shutdown_grace > 0:
            _, pending = await asyncio.wait(pending, timeout=self._shutdown_grace)
        for task in pending:
            task.cancel()  # not confirmed to Telegram: the next start gets these updates again

    async def _confirm(self, book: _UpdateBook) -> None:
        """Tell Telegram which updates are done (getUpdates with the next offset confirms all below it)."""
        offset = book.offset()
        if offset is None:
            return
        try:
            await asyncio.wait_for(self.bot.get_updates(offset=offset, timeout=0, limit=1,
                                                        allowed_updates=list(ALLOWED_UPDATES)), timeout=3)
        except (AiogramError, TimeoutError) as exc:
            logger.warning("telegram: handled updates not confirmed at stop (%s); they come once more", exc)

    async def _introduce(self) -> None:
        me = await self._retrying(self.bot.get_me, fatal=(TelegramUnauthorizedError,))
        logger.info("telegram bot @%s (id %s) started", me.username, me.id)

    async def _retrying(self, call: Callable[[], Awaitable[Any]],
                        fatal: tuple[type[Exception], ...] = ()) -> Any:
        backoff = Backoff()
        while True:
            try:
                return await call()
            except AiogramError as exc:
                if isinstance(exc, fatal) or self._stopping.is_set():
                    raise
                delay = backoff.next()
                logger.warning("telegram start-up call failed (%s); retrying in %.1f s", exc, delay)
                await wait_or_stop(self._stopping, delay)
