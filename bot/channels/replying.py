"""What the channels do alike around one update's replies and each platform call, beside bot/channels/kit.py:
the handler asked (the apology after a bug), the replies sent in order with the pressed message edited once,
the bot's own files uploaded in place, a call retried while the platform says "later", an unreachable chat
recorded. Each channel passes in only what differs: how it sends, uploads, classifies its errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from typing import TypeVar

from bot.channels.kit import apology, handle_patiently
from bot.events import (
    Attachment,
    ConversationHandler,
    DeliveryError,
    HandlingDeferred,
    Incoming,
    Reply,
    RetryLater,
    Unreachable,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# A file the bot made (a chart, an export, a protocol): its ref is a path on this machine, uploaded on sending.
LOCAL = "local"


def first_toast(replies: Iterable[Reply]) -> str | None:
    """What the button press is answered with: the first reply's toast that has one."""
    return next((reply.toast for reply in replies if reply.toast), None)


async def replies_or_apology(handler: ConversationHandler, incoming: Incoming, *, budget: float | None,
                             stopping: asyncio.Event, default_language: str | None = None) -> list[Reply]:
    """The handler's replies (asked patiently, ``kit.handle_patiently``), or the apology when it failed:
    a bug must not stop the chat. HandlingDeferred passes: the update is not handled, not confirmed."""
    try:
        return await handle_patiently(handler, incoming, budget=budget, stopping=stopping)
    except HandlingDeferred:
        raise
    except Exception:
        log.exception("handler failed on %s (chat %s)", incoming.update_key, incoming.chat_id)
        return [apology(incoming.language or default_language)]


Deliver = Callable[[Reply, str, str | None], Awaitable[object]]


async def reply_in_order(incoming: Incoming, replies: Sequence[Reply], edit_ref: str | None, deliver: Deliver,
                         unreachable: Callable[[str], Awaitable[None]]) -> None:
    """Each reply by ``deliver(reply, dedup_key, edit_ref)``, in order; ``edit_ref`` (the pressed message)
    goes to the first reply that replaces it, so one message is edited at most once per press.

    Stops at the first reply not delivered: later replies would not make sense without it. A chat that
    cannot be reached is recorded by ``unreachable(reason)``."""
    for index, reply in enumerate(replies):
        ref = edit_ref if reply.replace else None
        edit_ref = None if ref else edit_ref
        try:
            await deliver(reply, f"{incoming.update_key}/{index}", ref)
        except Unreachable as exc:
            await unreachable(exc.reason)
            return
        except DeliveryError as exc:
            log.error("reply to %s not delivered: %s", incoming.update_key, exc)
            return


async def mark_unreachable(handler: ConversationHandler, channel: str, chat_id: str, reason: str) -> None:
    """Record that the chat cannot be reached (blocked, left), so the outbox stops sending to it."""
    try:
        await handler.mark_unreachable(channel, chat_id, reason)
    except Exception:
        log.exception("could not record that %s chat %s is unreachable", channel, chat_id)


def has_local_files(reply: Reply) -> bool:
    return any(file.channel == LOCAL for file in reply.attachments)


async def with_uploads(reply: Reply, upload: Callable[[Attachment], Awaitable[Attachment]]) -> Reply:
    """The reply with each file the bot made uploaded by ``upload`` (in place, in order, one at a time)."""
    if not has_local_files(reply):
        return reply
    return replace(reply, attachments=[await upload(file) if file.channel == LOCAL else file
                                       for file in reply.attachments])


async def retrying(what: str, work: Callable[[], Awaitable[T]], *, errors: tuple[type[Exception], ...],
                   classify: Callable[[Exception, str], DeliveryError],
                   next_delay: Callable[[Exception], float | None]) -> T:
    """``work()`` until it succeeds; a platform error (one of ``errors``) becomes the outbox's decision by
    ``classify`` and a RetryLater is tried again after ``next_delay(error)`` until that gives None."""
    while True:
        try:
            return await work()
        except errors as exc:
            failure = classify(exc, what)
            delay = next_delay(exc) if isinstance(failure, RetryLater) else None
            if delay is None:
                raise failure from exc
        log.warning("%s; again in %.1f s", failure, delay)
        await asyncio.sleep(delay)
