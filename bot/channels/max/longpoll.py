"""Long polling (GET /updates) for development: MAX allows it at most 2 requests/s and keeps events 24 h.

The marker of the next batch is saved in the database (the channel cursor table) only once every
update of the batch was handled, so a restart resumes where the bot stopped: at least once, and the
conversations drop a repeated update by its key.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.channels.kit import Backoff, unless_stopped, wait_or_stop
from bot.channels.max.errors import MaxApiError
from bot.events import HandlingDeferred

if TYPE_CHECKING:
    from bot.channels.max.channel import MaxChannel

log = logging.getLogger(__name__)

CURSOR = "marker"
BATCH = 100


async def poll(channel: MaxChannel) -> None:
    from bot.channels.max.channel import chat_key

    await _unsubscribe(channel)
    cursors = channel.runtime.cursors
    marker = await cursors.load(channel.channel, CURSOR) if cursors is not None else None
    backoff = Backoff(channel.reconnect_delays[0], channel.reconnect_delays[-1])
    started = 0.0
    while not channel.stopping.is_set():
        pause = channel.poll_interval - (time.monotonic() - started)
        if pause > 0 and await wait_or_stop(channel.stopping, pause):
            break
        started = time.monotonic()
        try:
            answer = await unless_stopped(channel.stopping, _fetch(channel, marker))
        except (MaxApiError, OSError, TimeoutError, ValueError) as exc:
            delay = backoff.next()
            log.warning("MAX long poll failed (%s); again in %.1f s", exc, delay)
            await wait_or_stop(channel.stopping, delay)
            continue
        if answer is None:
            break  # stopping
        backoff.reset()
        updates = [u for u in answer.get("updates") or [] if isinstance(u, dict)]
        jobs = [channel.order.submit(chat_key(u), partial(channel.take, u)) for u in updates]
        if jobs:
            await asyncio.wait(jobs)
        if any(not job.cancelled() and isinstance(job.exception(), HandlingDeferred) for job in jobs):
            continue  # not confirmed: the same batch is asked for again
        for job in jobs:
            if not job.cancelled() and job.exception() is not None:
                log.error("MAX update failed in the channel", exc_info=job.exception())
        if answer.get("marker") is not None and str(answer["marker"]) != marker:
            marker = str(answer["marker"])
            if cursors is not None:
                await cursors.save(channel.channel, CURSOR, marker)


async def _unsubscribe(channel: MaxChannel) -> None:
    """MAX serves /updates only to a bot without a webhook subscription (as Telegram's deleteWebhook)."""
    found = await channel.request_api("GET /subscriptions", "GET", "/subscriptions")
    for subscription in found.get("subscriptions") or []:
        log.warning("MAX long poll: removing the webhook subscription %s", subscription.get("url"))
        await channel.request_api("DELETE /subscriptions", "DELETE", "/subscriptions",
                                  params={"url": subscription.get("url")})


async def _fetch(channel: MaxChannel, marker: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": BATCH, "timeout": channel.poll_timeout, "marker": marker}
    return await channel.client.call("GET", "/updates", params=params, wait_s=channel.poll_timeout + 10)
