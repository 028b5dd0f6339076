"""MAX errors -> the delivery layer's decisions (retry later, the chat is unreachable, a bad request).

Errors come as JSON ``{code, message}`` with HTTP 400/401/403/404/405/429/503 (dev.max.ru, "Errors").
"""

from __future__ import annotations

import asyncio

import aiohttp

from bot.events import DeliveryError, RetryLater, Unreachable

RATE_LIMIT_WAIT = 1.0  # 30 requests/s: a second later the window has moved on
NOT_READY = "attachment.not.ready"  # a fresh upload is still being processed: send again shortly
# The user blocked or stopped the bot, left or was removed from the chat: nothing reaches them.
UNREACHABLE_CODES = frozenset({"chat.denied", "error.dialog.suspended", "dialog.suspended", "user.blocked",
                               "chat.not.found", "user.not.found"})


class MaxApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    @property
    def not_ready(self) -> bool:
        return self.code == NOT_READY or NOT_READY in self.message


def classify(exc: Exception, what: str) -> DeliveryError:
    if isinstance(exc, MaxApiError):
        reason = f"{what}: MAX {exc.status} {exc.code}"
        if exc.status == 429:
            return RetryLater(reason, retry_after=RATE_LIMIT_WAIT)
        if exc.status >= 500 or exc.not_ready:
            return RetryLater(reason)
        if exc.status == 403 or exc.code in UNREACHABLE_CODES:
            return Unreachable(reason)
        return DeliveryError(reason)  # our request is wrong (400, 401, 405): sending it again will not help
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | ValueError):
        return RetryLater(f"{what}: {type(exc).__name__}")  # network, a proxy's HTML page instead of JSON
    raise exc
