"""Button payloads: short, versioned, never trusted.

A payload is "1:verb:arg:arg". The version lets a new release refuse buttons of an old
message politely instead of misreading them. Telegram allows 64 bytes of callback data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.services.validation import parse_id

VERSION = "1"
MAX_BYTES = 64


@dataclass(frozen=True)
class Payload:
    verb: str
    args: tuple[str, ...]

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None

    def int_arg(self, index: int) -> int | None:
        value = self.arg(index)
        return parse_id(value) if value is not None else None


def make(verb: str, *args: object) -> str:
    raw = ":".join((VERSION, verb, *(str(a) for a in args)))
    if len(raw.encode()) > MAX_BYTES:
        raise ValueError(f"payload {raw!r} is longer than {MAX_BYTES} bytes")
    return raw


def parse(raw: str | None) -> Payload | None:
    """None for anything that is not a payload of this version: the caller treats it as stale."""
    if not raw or len(raw.encode()) > MAX_BYTES:
        return None
    parts = raw.split(":")
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
    return ":".join((VERSION, verb, *args))
