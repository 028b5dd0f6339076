"""Bots Long Poll: events fetched in a daemon thread, handled in order per peer, the position kept.

The position (``ts``) is saved in the database (``Runtime.cursors``) once every event before it has been
handled, so after a restart the bot asks VK for what came while it was down. When VK no longer has those
events (``failed: 1`` — history out of date or partly lost; ``failed: 3`` — start anew) the loss is logged
and counted (``appeals_channel_events_lost_total``) instead of passing silently.
https://dev.vk.com/ru/api/bots-long-poll/getting-started
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import requests
from vk_api.exceptions import ApiError

from bot.channels.kit import unless_stopped, wait_or_stop
from bot.channels.vk.client import in_daemon_thread
from bot.channels.vk.common import CHANNEL
from bot.channels.vk.intake import peer_of
from bot.events import HandlingDeferred

if TYPE_CHECKING:
    from bot.channels.base import Runtime
    from bot.channels.kit import ChatOrder
    from bot.channels.vk.client import GroupApi
    from bot.channels.vk.plugin import Vk

log = logging.getLogger(__name__)

CURSOR = "longpoll_ts"


@dataclass
class Server:
    """groups.getLongPollServer: where to ask, with which key, and VK's current position."""

    url: str
    key: str
    ts: str


@dataclass
class _Batch:
    ts: str  # the position after this batch's events
    pending: int
    held: bool = False  # an event of it was deferred at the stop: the position must stay before it


class Position:
    """The position after the last batch whose events, and every earlier batch's, are all handled."""

    def __init__(self) -> None:
        self._batches: deque[_Batch] = deque()

    def opened(self, ts: str, count: int) -> _Batch:
        batch = _Batch(ts, count)
        self._batches.append(batch)
        return batch

    def settled(self) -> str | None:
        last = None
        while self._batches and not self._batches[0].pending and not self._batches[0].held:
            last = self._batches.popleft().ts
        return last


class LongPollMixin:
    """The Bots Long Poll half of ``VkChannel``."""

    api: GroupApi
    vk: Vk
    runtime: Runtime
    long_poll_wait: int
    reconnect_delays: tuple[float, ...]
    _stopping: asyncio.Event
    _slots: asyncio.Semaphore
    _tasks: set[asyncio.Task[None]]
    _order: ChatOrder

    async def _poll(self) -> None:
        self._position = Position()
        self._saving = asyncio.Lock()  # one save at a time: a later position never overwritten by an earlier
        self._settled_ts: str | None = None
        self._saved_ts = ts = await self._stored_position()
        self._poll_http = requests.Session()
        server: Server | None = None
        failures = 0
        try:
            while not self._stopping.is_set():
                try:
                    if server is None:
                        server = await unless_stopped(self._stopping, in_daemon_thread(self._server))
                        if server is None:
                            return
                        log.info("VK long poll from position %s (VK is at %s)", ts or server.ts, server.ts)
                        if ts is None:
                            # The first start: from now on, and that position is kept at once; otherwise a
                            # stop before the first batch is all handled would leave none to resume from.
                            ts = server.ts
                            self._position.opened(ts, 0)
                            await self._keep_position()
                    answer = await unless_stopped(self._stopping, in_daemon_thread(partial(self._check, server, ts)))
                    if answer is None:
                        return
                except Exception as exc:
                    if isinstance(exc, ApiError):
                        server = None  # the server or key is refused: ask for a new one
                    delay = self.reconnect_delays[min(failures, len(self.reconnect_delays) - 1)]
                    failures += 1
                    log.warning("VK long poll failed (%s); retrying in %.1f s", exc, delay)
                    await wait_or_stop(self._stopping, delay)
                    continue
                failures = 0
                failed = answer.get("failed")
                if failed == 2:
                    server = None  # the key expired: a new one, the same position
                    continue
                if failed in (1, 3):
                    ts = self._lost(failed, ts, answer)
                    if failed == 3:
                        server = None
                    continue
                updates = [u for u in answer.get("updates") or [] if isinstance(u, Mapping)]
                ts = str(answer.get("ts", ts))
                batch = self._position.opened(ts, len(updates))
                for update in updates:
                    await self._intake(update, batch)
                await self._keep_position()
        finally:
            self._poll_http.close()

    def _lost(self, failed: int, ts: str | None, answer: Mapping[str, Any]) -> str | None:
        # The events between our position and VK's are gone: not silently (dev.vk.com, "failed").
        log.error("VK long poll: events after position %s are no longer available (failed %s); "
                  "messages sent while the bot was down may be lost", ts, failed)
        if self.runtime.metrics is not None:
            self.runtime.metrics.events_lost.labels(channel=CHANNEL).inc()
        if failed == 3 or "ts" not in answer:
            return None  # the next getLongPollServer gives the position to start from
        new = str(answer["ts"])
        self._position.opened(new, 0)
        return new

    def _server(self) -> Server:
        found = self.api.method("groups.getLongPollServer", {"group_id": self.vk.group_id})
        return Server(str(found["server"]), str(found["key"]), str(found["ts"]))

    def _check(self, server: Server, ts: str) -> dict[str, Any]:
        params = {"act": "a_check", "key": server.key, "ts": ts, "wait": self.long_poll_wait}
        answer = self._poll_http.get(server.url, params=params, timeout=self.long_poll_wait + 10).json()
        if not isinstance(answer, dict):
            raise ValueError("the long poll answered something other than an object")
        return answer

    async def _stored_position(self) -> str | None:
        if self.runtime.cursors is None:
            return None
        while True:
            try:
                return await self.runtime.cursors.load(CHANNEL, CURSOR)
            except Exception as exc:  # the database is away: the position matters more than a quick start
                log.warning("VK long poll position not read (%s); trying again", type(exc).__name__)
                if await wait_or_stop(self._stopping, 1.0):
                    return None

    async def _keep_position(self) -> None:
        """Save the position past every handled event (called after each batch and each finished event)."""
        settled = self._position.settled()
        if settled is not None:
            self._settled_ts = settled
        async with self._saving:
            ts = self._settled_ts
            if ts is None or ts == self._saved_ts or self.runtime.cursors is None:
                return
            try:
                await self.runtime.cursors.save(CHANNEL, CURSOR, ts)
            except Exception as exc:
                log.warning("VK long poll position %s not saved (%s); saved with a later one", ts,
                            type(exc).__name__)
                return
            self._saved_ts = ts
            log.debug("VK long poll position %s saved", ts)

    async def _intake(self, event: Mapping[str, Any], batch: _Batch | None = None) -> None:
        await self._slots.acquire()  # back-pressure: the poll waits while too much is in flight
        task = self._order.submit(peer_of(event), partial(self._process, event))
        self._tasks.add(task)
        task.add_done_callback(partial(self._done, batch))

    def _done(self, batch: _Batch | None, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        failure = None if task.cancelled() else task.exception()
        if batch is not None:
            batch.pending -= 1
            batch.held = batch.held or task.cancelled() or isinstance(failure, HandlingDeferred)
            saving = asyncio.get_running_loop().create_task(self._keep_position())
            self._tasks.add(saving)
            saving.add_done_callback(self._tasks.discard)
        if isinstance(failure, HandlingDeferred):
            log.warning("VK event not handled before the stop; it is fetched again after the restart")
        elif failure is not None:
            log.error("VK event failed", exc_info=failure)
