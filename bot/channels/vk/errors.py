"""VK errors -> the delivery layer's decisions."""

from __future__ import annotations

import logging

from vk_api.exceptions import ApiError

from bot.channels.vk.common import RATE_LIMITS, TRANSIENT, UNREACHABLE
from bot.events import (
    DeliveryError,
    RetryLater,
    Unreachable,
)

log = logging.getLogger(__name__)

# --- VK errors -> delivery decisions ----------------------------------------------------------


def classify(exc: Exception, method: str) -> DeliveryError:
    if isinstance(exc, ApiError):
        message = f"{method}: VK error {exc.code}: {exc.error.get('error_msg', '')}"
        if exc.code in RATE_LIMITS:
            return RetryLater(message, retry_after=RATE_LIMITS[exc.code])
        if exc.code in TRANSIENT:
            return RetryLater(message)
        if exc.code in UNREACHABLE:
            return Unreachable(message)
        return DeliveryError(message)  # our request is wrong (100, 911 ...): retrying will not help
    return RetryLater(f"{method}: {type(exc).__name__}: {exc}")  # network, HTTP 5xx, not JSON
