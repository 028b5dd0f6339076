"""Button payloads: short, versioned, never trusted.

A payload is "2:dialog.verb:arg:arg" ("2:appeal.sector:housing"): the verb is namespaced by the dialog
that answers it (handlers.router.Dialog), so a reader of a log or a test knows which conversation a button
belongs to. The version lets a new release refuse buttons of an old message politely instead of misreading
them (version 1 had bare verbs: "1:sector:housing"). Telegram allows 64 bytes of callback data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.services.validation import parse_id

VERSION = "2"
MAX_BYTES = 64
SEPARATOR = ":"


@dataclass(frozen=True)
class Payload:
    verb: str
    args: tuple[str, ...]

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None

    def int_arg(self, index: int) -> int | None:
        value = self.arg(index)
        return parse_id(value) if value is not None else None


def make(verb: str, *args: str | int) -> str:
    """The payload of a button: "dialog.verb" and its arguments (ids, short codes)."""
    for arg in args:
        # A bool is an int to Python, and anything else would be written as its repr: both are mistakes.
        if isinstance(arg, bool) or not isinstance(arg, str | int):
            raise TypeError(f"payload argument {arg!r} of {verb!r} is neither a string nor an integer")
        if isinstance(arg, str) and SEPARATOR in arg:
            raise ValueError(f"payload argument {arg!r} of {verb!r} holds the separator {SEPARATOR!r}")
    raw = SEPARATOR.join((VERSION, verb, *(str(a) for a in args)))
    if len(raw.encode()) > MAX_BYTES:
        raise ValueError(f"payload {raw!r} is longer than {MAX_BYTES} bytes")
    return raw


def parse(raw: str | None) -> Payload | None:
    """None for anything that is not a payload of this version: the caller treats it as stale."""
    if not raw or len(raw.encode()) > MAX_BYTES:
        return None
    parts = raw.split(SEPARATOR)
    if len(parts) < 2 or parts[0] != VERSION or not parts[1]:
        return None
    return Payload(parts[1], tuple(parts[2:]))


def describe(raw: str | None, verbs: Iterable[str]) -> str:
    """A payload for the log: known verbs and ids only. A forged one may carry anything (a phone, a name)."""
    if raw is None:
        return "no payload"
    payload = parse(raw)
    if payload is None:
        return f"unreadable payload of {len(raw.encode())} bytes"
    verb = payload.verb if payload.verb in verbs else "unknown"
    args = [a if parse_id(a) is not None or a in ("yes", "no") else "…" for a in payload.args]
    return SEPARATOR.join((VERSION, verb, *args))
