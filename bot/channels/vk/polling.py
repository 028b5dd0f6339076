"""Bots Long Poll: events fetched in a daemon thread, handled in order per peer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from vk_api.bot_longpoll import VkBotLongPoll
from vk_api.exceptions import ApiError

from bot.channels.vk.client import in_daemon_thread
from bot.channels.vk.common import T
from bot.channels.vk.intake import peer_of
from bot.events import HandlingDeferred

log = logging.getLogger(__name__)

class LongPollMixin:
    """The Bots Long Poll half of ``VkChannel``."""

    # Bots Long Poll -------------------------------------------------------------------------

    async def _poll(self) -> None:
        longpoll: VkBotLongPoll | None = None
        failures = 0
        while not self._stopping.is_set():
            try:
                if longpoll is None:
                    longpoll = await self._until_stopped(in_daemon_thread(self._connect))
                    if longpoll is None:
                        return
                updates = await self._until_stopped(in_daemon_thread(longpoll.check))
            except Exception as exc:
                if isinstance(exc, ApiError):
                    longpoll = None  # the server or key is refused: ask for a new one
                delay = self.reconnect_delays[min(failures, len(self.reconnect_delays) - 1)]
                failures += 1
                log.warning("VK long poll failed (%s); retrying in %.1f s", exc, delay)
                await self._sleep(delay)
                continue
            failures = 0
            for update in updates or []:
                await self._intake(update.raw)

    def _connect(self) -> VkBotLongPoll:
        # groups.getLongPollServer: the server, key and ts to start from.
        return VkBotLongPoll(self.api, self.vk.group_id, wait=self.long_poll_wait)

    async def _until_stopped(self, future: asyncio.Future[T]) -> T | None:
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({future, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not future.done():
            future.cancel()  # the thread finishes its request on its own; its answer is dropped
            return None
        return future.result()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _intake(self, event: Mapping[str, Any]) -> None:
        await self._slots.acquire()  # back-pressure: the poll waits while too much is in flight
        task = self._order.submit(peer_of(event), partial(self._process, event))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if task.cancelled():
            return
        failure = task.exception()
        if isinstance(failure, HandlingDeferred):
            log.warning("VK event not handled before the stop; it is fetched again after the restart")
        elif failure is not None:
            log.error("VK event failed", exc_info=failure)
