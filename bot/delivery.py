"""The outbox sender: drains messages the bot owes people under each platform's limits.

Rows are written by services in the same transaction as the change that caused them, so
nothing is lost when the messenger or the bot is down. A row is claimed with a lease (its
``due_at`` moves forward) before it is sent, so a crash mid-send means one more attempt later
(at least once), and on PostgreSQL several instances skip each other's rows (SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels import registry
from bot.channels.base import Limits
from bot.config import Settings
from bot.events import DeliveryError, Reply, RetryLater, Sender, Unreachable
from bot.services.audience import refusal
from bot.services.users import mark_unreachable
from storage.models import OutboxMessage
from storage.repositories import Repositories

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 15 * 60
MAX_ATTEMPTS = 50


@dataclass
class Throttle:
    """Spaces sends: a global pace plus a per-chat pace (and a per-minute budget for groups)."""

    limits: Limits
    monotonic: Callable[[], float] = time.monotonic
    _next_global: float = 0.0
    _next_chat: dict[str, float] = field(default_factory=dict)
    _group_sends: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def wait(self, chat_id: str, is_group: bool) -> None:
        async with self._lock:
            now = self.monotonic()
            start = max(now, self._next_global, self._next_chat.get(chat_id, 0.0))
            if is_group and self.limits.group_per_minute:
                recent = [t for t in self._group_sends[chat_id] if t > now - 60]
                if len(recent) >= self.limits.group_per_minute:
                    start = max(start, recent[0] + 60)
                recent.append(start)
                self._group_sends[chat_id] = recent
            self._next_global = start + 1.0 / self.limits.per_second
            self._next_chat[chat_id] = start + self.limits.per_chat_interval_s
        delay = start - self.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def answered(self, chat_id: str) -> None:
        """The platform has answered a send to ``chat_id``: its next one waits a full interval from now.

        The pace above is planned from start times, but a request leaves a little after its start
        (a late wake-up, building it, the network); when one leaves later than the next, the
        platform sees them closer than the interval and answers 429. Counting from the answer,
        which comes after the request arrived, keeps the gap whatever the jitter.
        """
        now = self.monotonic()
        if self.limits.per_chat_interval_s > 0:
            self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), now + self.limits.per_chat_interval_s)
        recent = self._group_sends.get(chat_id)
        if recent:  # a group's minute budget counts this send from now too
            recent[-1] = max(recent[-1], now)

    def hold_chat(self, chat_id: str, seconds: float) -> None:
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), self.monotonic() + seconds)

    def hold_all(self, seconds: float) -> None:
        self._next_global = max(self._next_global, self.monotonic() + seconds)


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter (AWS architecture blog), capped."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(attempts - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


class Outbox:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], senders: dict[str, Sender],
                 clock: Callable[[], datetime], concurrency: int = 32,
                 limits: dict[str, Limits] | None = None, settings: Settings | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.senders = senders
        self.clock = clock
        self.concurrency = concurrency
        # Each channel's own limits (bot/channels/<name>/plugin.py); an unknown channel is an error, not a
        # default pace.
        limits = limits or {}
        self.throttles = {name: Throttle(limits.get(name) or registry.limits(name)) for name in senders}
        self.stats: dict[str, int] = defaultdict(int)

    async def deliver_due(self, batch: int = 200) -> int:
        """One pass: claim due rows, send them side by side, record outcomes. Returns rows handled.

        A pass holds at most one row per chat (``OutboxRepo.claim_due``): a chat's next message is
        claimed only once the one before it is sent or given up, so a failure can never let it overtake.
        """
        claimed = await self._claim(batch)
        if not claimed:
            return 0
        semaphore = asyncio.Semaphore(self.concurrency)

        async def deliver(message: OutboxMessage) -> None:
            async with semaphore:
                await self._deliver(message)

        await asyncio.gather(*(deliver(message) for message in claimed))
        return len(claimed)

    async def deliver_chat(self, channel: str, chat_id: str, due_only: bool = False) -> int:
        """Everything pending for one chat, now (the console shows what came while the user was away);
        with ``due_only``, what is due by now (the console's running pump)."""
        async with self.sessionmaker() as session, session.begin():
            pending = list(await Repositories(session).outbox.pending_for_chat(channel, chat_id))
        if due_only:
            pending = [m for m in pending if m.due_at <= self.clock()]
        delivered = 0
        for message in pending:
            delivered += await self._deliver(message)
        return delivered

    async def run(self, stop: asyncio.Event, idle_sleep_s: float = 0.5) -> None:
        await self._fail_unknown_channels()
        while not stop.is_set():
            try:
                handled = await self.deliver_due()
            except Exception:
                log.exception("outbox pass failed; retrying")
                handled = 0
            if not handled:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle_sleep_s)
                except TimeoutError:
                    pass

    async def _fail_unknown_channels(self) -> None:
        """Rows for a channel no package provides (renamed, removed) would wait for ever: recorded failed."""
        try:
            async with self.sessionmaker() as session, session.begin():
                failed = await Repositories(session).outbox.fail_unknown_channels(registry.names())
        except Exception:
            log.exception("outbox: could not check for rows of unknown channels")
            return
        if failed:
            log.error("outbox: %d message(s) for unknown channels recorded failed", failed)

    async def _claim(self, batch: int) -> Sequence[OutboxMessage]:
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            rows = list(await Repositories(session).outbox.claim_due(now, batch, list(self.senders)))
            for row in rows:
                row.due_at = now + LEASE
                row.attempts += 1
        return rows

    async def _deliver(self, message: OutboxMessage) -> bool:
        sender = self.senders.get(message.channel)
        if sender is None:
            return False
        previous_ref = None
        if message.audience:
            # Re-checked now, not when queued: the reader may have been revoked, moved, or left the group.
            async with self.sessionmaker() as session:
                refused = await refusal(Repositories(session), message.channel, message.chat_id, message.audience,
                                        self.settings, registry.is_group_chat(message.channel, message.chat_id))
            if refused is not None:
                log.info("outbox message %s dropped: its reader may no longer receive it", message.id)
                self.stats["dropped"] += 1
                await self._store([message], status="dropped", sent_at=self.clock(),
                                  last_error=f"audience: {refused}"[:500])
                return True
        if message.card_key is not None:
            async with self.sessionmaker() as session:
                repo = Repositories(session)
                superseded = await repo.outbox.newer_card_pending(message)
                if not message.fresh:
                    previous_ref = await repo.outbox.last_card_ref(message.card_key, message.channel,
                                                                   message.chat_id)
            if superseded:
                # A later version of this card is queued: this one would only flicker.
                await self._mark(message, "superseded", None)
                if message.fresh:  # the later version is the one to come as a new message
                    async with self.sessionmaker() as session, session.begin():
                        await Repositories(session).outbox.pass_freshness(message)
                return True
        throttle = self.throttles[message.channel]
        await throttle.wait(message.chat_id, registry.is_group_chat(message.channel, message.chat_id))
        try:
            reply = Reply.from_dict(message.reply)
            sent_ref = None
            try:
                if previous_ref is not None and await sender.edit(message.chat_id, previous_ref, reply):
                    sent_ref = previous_ref
                else:
                    sent_ref = await sender.send(message.chat_id, reply, dedup_key=message.dedup_key)
            finally:
                throttle.answered(message.chat_id)
        except RetryLater as exc:
            self.stats["retry"] += 1
            delay = exc.retry_after if exc.retry_after is not None else backoff(message.attempts)
            if exc.retry_after is not None:
                throttle.hold_chat(message.chat_id, exc.retry_after)
            await self._retry(message, delay, exc.reason)
            return False
        except Unreachable as exc:
            self.stats["unreachable"] += 1
            await self._fail(message, exc.reason)
            return True
        except DeliveryError as exc:
            # The platform refused this very request (a 400, VK error 100/911): sending it again
            # would be refused again. The message is recorded failed; the chat is not blocked.
            log.error("outbox message %s refused by %s: %s", message.id, message.channel, exc)
            self.stats["refused"] += 1
            await self._refused(message, str(exc))
            return True
        except Exception as exc:
            log.exception("unexpected error sending outbox message %s", message.id)
            self.stats["retry"] += 1
            await self._retry(message, backoff(message.attempts), repr(exc)[:200])
            return False
        self.stats["sent"] += 1
        await self._mark(message, "sent", sent_ref)
        return True

    async def _store(self, messages: Sequence[OutboxMessage], **values: object) -> None:
        async with self.sessionmaker() as session, session.begin():
            await Repositories(session).outbox.set_state([m.id for m in messages], **values)

    async def _refused(self, message: OutboxMessage, reason: str) -> None:
        await self._store([message], status="failed", last_error=f"refused: {reason}"[:500])

    async def _mark(self, message: OutboxMessage, status: str, sent_ref: str | None) -> None:
        await self._store([message], status=status, sent_at=self.clock(), last_error=None, sent_ref=sent_ref)

    async def _retry(self, message: OutboxMessage, delay_s: float, reason: str) -> None:
        status = "failed" if message.attempts >= MAX_ATTEMPTS else "pending"
        # The chat's later messages wait for this one (claim_due), and go once it is sent or given up.
        message.due_at = self.clock() + timedelta(seconds=delay_s if status == "pending" else 0)
        await self._store([message], status=status, due_at=message.due_at, last_error=reason[:500])

    async def _fail(self, message: OutboxMessage, reason: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            repo = Repositories(session)
            await repo.outbox.set_state([message.id], status="failed", last_error=f"unreachable: {reason}"[:500])
            await mark_unreachable(repo, message.channel, message.chat_id, reason, self.clock())
