"""What every update passes before any dialog sees it: input made fit to be stored, or politely refused.

NUL bytes go and names are cut to their columns (validation.sanitized); a message longer than any text
field may hold, a location off the globe, or a document whose content is not a document we take is refused
with the reason, and the current step is asked again: nothing of it is stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.events import Attachment
from bot.services import validation
from handlers import texts
from handlers.context import Context
from handlers.router import Router

# Channels whose attachment refs are paths on this machine (the console): their content can be read here.
LOCAL_CHANNELS = frozenset({"console", "local"})
Peek = Callable[[Attachment], Awaitable[bytes | None]]


def setup(router: Router) -> None:
    router.before.insert(0, take_input)


async def take_input(ctx: Context) -> bool:
    ctx.event = validation.sanitized(ctx.event)
    limits = ctx.settings.limits
    if len(ctx.event.text) > limits.text_max_length:
        return await _refuse(ctx, "error.message_too_long", max=limits.text_max_length, length=len(ctx.event.text))
    location = ctx.event.location
    if location is not None and validation.check_location(location.latitude, location.longitude):
        return await _refuse(ctx, "error.location_invalid")
    kept = []
    for attachment in ctx.event.attachments:
        if attachment.kind == "document" and not await _document_is_acceptable(ctx, attachment):
            ctx.say("error.attachment_content", name=attachment.name or attachment.kind)
            continue
        kept.append(attachment)
    if len(kept) < len(ctx.event.attachments):
        ctx.event = dataclasses.replace(ctx.event, attachments=tuple(kept))
        if not kept and not ctx.event.text.strip():
            return await _refuse(ctx, None)
    return True


async def _refuse(ctx: Context, key: str | None, **params: object) -> bool:
    if key is not None:
        ctx.say(key, **params)
    if ctx.state:
        await texts.router(ctx).prompt(ctx)
    return False


async def _document_is_acceptable(ctx: Context, attachment: Attachment) -> bool:
    """By its first bytes where they can be read (a local file, or a channel's ``peek``); otherwise the
    extension check of the dialog stands alone."""
    head = await _head(ctx, attachment)
    return head is None or validation.document_content(head) is not None


async def _head(ctx: Context, attachment: Attachment) -> bytes | None:
    peek: Peek | None = ctx.extras.get("peek")
    if peek is not None and attachment.channel not in LOCAL_CHANNELS:
        return await peek(attachment)
    if attachment.channel not in LOCAL_CHANNELS:
        return None
    return await asyncio.to_thread(_read_head, Path(attachment.ref))


def _read_head(path: Path) -> bytes | None:
    try:
        with path.open("rb") as file:
            return file.read(validation.SNIFF_BYTES)
    except OSError:
        return None
