"""What every channel needs and should not write again: long texts cut into messages, files of another
messenger named, one chat's updates in order, backoff with jitter, handling an update patiently while the
database is away, the neutral apology when a handler fails, and the first bytes of the documents users send."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from bot.events import FILE_HEAD_BYTES, Attachment, ConversationHandler, HandlingDeferred, Incoming, Reply
from bot.i18n import translator

if TYPE_CHECKING:  # the console channel uses this module too, and starts without aiohttp
    import aiohttp

log = logging.getLogger(__name__)

T = TypeVar("T")

SEPARATORS = ("\n\n", "\n", " ")
# A polling channel waits this long for the database before it treats the failure as a bug.
GIVE_UP_AFTER_S = 600.0


# --- text ---------------------------------------------------------------------------------------


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Cut a long text into messages at paragraph, then line, then word boundaries; nothing is lost.

    ``measure`` is how the platform counts (Telegram: UTF-16 code units). Empty text gives no parts.
    """
    chunks: list[str] = []
    rest = text.strip()
    while measure(rest) > limit:
        cut = _cut_point(rest, limit, measure)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return [chunk for chunk in chunks if chunk]


def _cut_point(text: str, limit: int, measure: Callable[[str], int]) -> int:
    window = text[:limit]
    while measure(window) > limit:  # characters that count double (astral ones in UTF-16)
        window = window[: limit - (measure(window) - len(window))]
    for separator in SEPARATORS:
        position = window.rfind(separator)
        if position > len(window) // 2:
            return position + len(separator)
    return len(window)


def file_names(attachments: Sequence[Attachment]) -> str:
    """Files this messenger cannot show (another messenger's file ids): one named line each."""
    return "\n".join(f"📎 {a.name or a.kind}" for a in attachments)


def with_file_names(text: str, foreign: Sequence[Attachment]) -> str:
    if not foreign:
        return text
    names = file_names(foreign)
    return f"{text}\n\n{names}" if text else names


def reply_texts(reply: Reply, channel: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """A reply's text cut into messages, the files of another messenger named at its end; one empty part
    when there is no text (the files or the keyboard still need a message)."""
    foreign = [file for file in reply.attachments if file.channel != channel]
    return split_text(with_file_names(reply.text, foreign), limit, measure) or [""]


def apology(language: str | None) -> Reply:
    """The last resort when handling failed in the channel itself: neutral, in the user's language."""
    say = translator(language or "ru")
    return Reply(text=say("error.internal"), toast=say("error.toast"))


# --- webhooks -----------------------------------------------------------------------------------

# Platform updates nest a few levels (a message in a reply in a callback); far deeper is an attack.
JSON_MAX_DEPTH = 32


def parse_json(body: bytes, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """A webhook body as JSON; ValueError when it is not JSON or nests deeper than ``max_depth``."""
    try:
        value = json.loads(body)
    except RecursionError as exc:  # json's C scanner recurses per level
        raise ValueError("JSON nested too deeply") from exc
    level: list[tuple[Any, int]] = [(value, 1)]
    while level:
        item, depth = level.pop()
        if depth > max_depth:
            raise ValueError("JSON nested too deeply")
        if isinstance(item, dict):
            level.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            level.extend((child, depth + 1) for child in item)
    return value


# --- ordering -----------------------------------------------------------------------------------


class ChatOrder:
    """Runs the jobs of one chat one after another, in submission order; chats side by side, up to a limit."""

    def __init__(self, concurrency: int = 32) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(concurrency)

    def submit(self, chat_key: str, job: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run(self._tails.get(chat_key), job))
        self._tails[chat_key] = task
        task.add_done_callback(partial(self._forget, chat_key))
        return task

    @property
    def busy(self) -> int:
        return len(self._tails)

    async def _run(self, previous: asyncio.Task[None] | None, job: Callable[[], Awaitable[None]]) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its outcome is its own; only its end matters here
        async with self._slots:
            await job()

    def _forget(self, chat_key: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(chat_key) is task:
            del self._tails[chat_key]


# --- patience -----------------------------------------------------------------------------------


class Backoff:
    """Exponential delays with jitter (each in [d/2, d]), doubling from ``first`` up to ``cap``."""

    def __init__(self, first: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self._first, self._cap, self._delay = first, cap, first
        self._rng = rng or random.Random()

    def next(self) -> float:
        delay, self._delay = self._delay, min(self._delay * 2, self._cap)
        return self._rng.uniform(delay / 2, delay)

    def reset(self) -> None:
        self._delay = self._first


async def handle_patiently(handler: ConversationHandler, incoming: Incoming, *, budget: float | None,
                           stopping: asyncio.Event | None = None, first: float = 0.2, cap: float = 5.0) -> list[Reply]:
    """The handler's replies, asking again with backoff while it defers (the database is away).

    ``budget`` caps the time spent waiting (a webhook must answer before the platform gives up: after
    it the update is refused, and the platform sends it again); None waits until recovery or until
    ``stopping`` is set. Raises ``HandlingDeferred`` when it gives up: the update must not be confirmed.
    """
    backoff = Backoff(first, cap)
    waited = 0.0
    while True:
        try:
            return await handler.handle(incoming)
        except HandlingDeferred as exc:
            delay = backoff.next()
            if (budget is not None and waited + delay > budget) or (stopping is not None and stopping.is_set()):
                raise
            if waited > GIVE_UP_AFTER_S:
                # Not a database coming back but something that fails every time: a bug after all, so
                # the person gets the apology and the chat's next updates are no longer held up.
                raise RuntimeError(f"update deferred for {waited:.0f} s") from exc
            log.warning("update %s deferred (the database is unavailable); again in %.1f s",
                        incoming.update_key, delay)
            if stopping is None:
                await asyncio.sleep(delay)
            else:
                await wait_or_stop(stopping, delay)
            waited += delay


async def wait_or_stop(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``stopping`` is set first; True when it was."""
    try:
        async with asyncio.timeout(seconds):
            await stopping.wait()
    except TimeoutError:
        return False
    return True


async def unless_stopped(stopping: asyncio.Event, work: Awaitable[T]) -> T | None:
    """``work``'s result, or None when ``stopping`` is set first: a long poll's request is then given up
    (cancelled and let finish; a request in a thread finishes on its own, its answer dropped)."""
    request = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({request, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not request.done():
        request.cancel()
        await asyncio.wait({request})  # its connection closed before the channel closes the session
        if not request.cancelled():
            request.exception()  # what it failed with after the stop no longer matters
        return None
    return request.result()


# --- documents by their content -----------------------------------------------------------------

# How long reading the first bytes of a user's documents may hold up their message (all read side by side).
PEEK_TIMEOUT_S = 5.0
Peek = Callable[[Attachment], Awaitable[bytes | None]]


async def read_heads(incoming: Incoming, peek: Peek, within: float = PEEK_TIMEOUT_S) -> Incoming:
    """The event with the first bytes of each document the user sent (``Incoming.file_heads``), so the
    conversations judge a document by its content, not its name, without knowing the messenger.

    Read here, before the conversations open their transaction: no download holds the database. A document
    whose bytes cannot be read in time (the platform's file server away, a file too big for Telegram's
    getFile) is left out and judged by its name, as before: a citizen's scan is better passed on to the
    ministry, which receives it through the messenger anyway, than lost to a network blip of ours.
    """
    documents = [a for a in incoming.attachments if a.kind == "document"]
    if not documents:
        return incoming
    heads = await asyncio.gather(*(_peek_within(peek, a, within, incoming.update_key) for a in documents))
    found = {a.ref: head for a, head in zip(documents, heads, strict=True) if head is not None}
    return replace(incoming, file_heads=found) if found else incoming


async def _peek_within(peek: Peek, attachment: Attachment, within: float, update_key: str) -> bytes | None:
    try:
        async with asyncio.timeout(within):
            head = await peek(attachment)
    except Exception as exc:  # a timeout, the network, the platform's refusal: all mean "not read"
        log.warning("first bytes of a document in %s not read (%s): judged by its name", update_key,
                    type(exc).__name__)
        return None
    return head[:FILE_HEAD_BYTES] if head is not None else None


async def first_bytes(session: aiohttp.ClientSession, url: str, limit: int = FILE_HEAD_BYTES) -> bytes:
    """The first ``limit`` bytes at ``url``: asked as a range, and no more read where the server ignores
    the range (the connection is then dropped, not drained)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("not an HTTP URL")
    async with session.get(url, headers={"Range": f"bytes=0-{limit - 1}"}) as response:
        response.raise_for_status()
        head = b""
        while len(head) < limit:
            chunk = await response.content.read(limit - len(head))
            if not chunk:
                break
            head += chunk
        return head
