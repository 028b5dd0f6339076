"""What every update passes before any dialog sees it: input made fit to be stored, or politely refused.

NUL bytes go and names are cut to their columns (validation.sanitized); a message longer than any text
field may hold, a location off the globe, or a document whose content is not a document we take is refused
with the reason, and the current step is asked again: nothing of it is stored. A document is judged by its
first bytes, which the messenger channels read before the conversations (``Incoming.file_heads``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from bot.events import Attachment
from bot.services import validation
from handlers.context import Context
from handlers.router import Router

# Channels whose attachment refs are paths on this machine (the console): their content can be read here.
LOCAL_CHANNELS = frozenset({"console", "local"})


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
        head = await _head(ctx, attachment) if attachment.kind == "document" else None
        if head is not None and validation.document_content(head) is None:
            ctx.say("error.attachment_content", name=attachment.name or attachment.kind)
            continue
        if head is not None:  # its content is known and taken: a name that says otherwise is not held against it
            attachment = dataclasses.replace(attachment, name=validation.named_by_content(attachment.name, head))
        kept.append(attachment)
    if kept != list(ctx.event.attachments):
        ctx.event = dataclasses.replace(ctx.event, attachments=tuple(kept))
        if not kept and not ctx.event.text.strip():
            return await _refuse(ctx, None)
    return True


async def _refuse(ctx: Context, key: str | None, **params: object) -> bool:
    if key is not None:
        ctx.say(key, **params)
    if ctx.state:
        await ctx.reprompt()
    return False


async def _head(ctx: Context, attachment: Attachment) -> bytes | None:
    """The document's first bytes: as its channel read them (``Incoming.file_heads``), or from the file itself
    for the console. None: they could not be read (a download failed or timed out); the document is then
    judged by its name alone, as before, and passed on rather than lost."""
    head = ctx.event.file_heads.get(attachment.ref)
    if head is not None or attachment.channel not in LOCAL_CHANNELS:
        return head
    return await asyncio.to_thread(_read_head, Path(attachment.ref))


def _read_head(path: Path) -> bytes | None:
    try:
        with path.open("rb") as file:
            return file.read(validation.SNIFF_BYTES)
    except OSError:
        return None
