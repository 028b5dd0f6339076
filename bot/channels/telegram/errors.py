"""Bot API failures -> the delivery layer's decisions; building the aiogram Bot."""

from __future__ import annotations

import logging

import bot.channels.lazy_aiogram  # noqa: F401  # isort: skip  (before aiogram: see that module)
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.channels.telegram.common import UNREACHABLE_MARKERS
from bot.channels.telegram.plugin import Telegram
from bot.config import Settings
from bot.events import (
    DeliveryError,
    RetryLater,
    Unreachable,
)

logger = logging.getLogger(__name__)

# --- errors -------------------------------------------------------------------------------------


def to_delivery_error(exc: AiogramError) -> DeliveryError:
    """The delivery layer's decision for a Bot API failure."""
    if isinstance(exc, TelegramRetryAfter):
        return RetryLater(exc.message, retry_after=float(exc.retry_after))
    if isinstance(exc, TelegramForbiddenError):  # blocked by the user, kicked from the group
        return Unreachable(exc.message)
    if isinstance(exc, TelegramBadRequest) and _says_unreachable(exc):
        return Unreachable(exc.message)
    if isinstance(exc, TelegramAPIError) and not isinstance(
        exc, TelegramNetworkError | TelegramServerError | TelegramUnauthorizedError
    ):
        return DeliveryError(exc.message)  # a malformed request: retrying sends the same mistake
    # Network, 5xx, a bad answer, or a revoked token: nothing is lost by trying again later.
    return RetryLater(str(exc))


def _says_unreachable(exc: TelegramAPIError) -> bool:
    text = exc.message.lower()
    return any(marker in text for marker in UNREACHABLE_MARKERS)


def _is_transient(exc: AiogramError) -> bool:
    return isinstance(to_delivery_error(exc), RetryLater)


# --- building the bot ---------------------------------------------------------------------------


def telegram_section(settings: Settings | Telegram) -> Telegram:
    return settings.telegram if isinstance(settings, Settings) else settings


def build_bot(settings: Settings | Telegram) -> Bot:
    """An aiogram Bot for the token, talking to ``api_base`` when set (a local Bot API server, a fake)."""
    config = telegram_section(settings)
    if config.token is None:
        raise ValueError("telegram.token: set TELEGRAM_BOT_TOKEN in the environment")
    token = config.token.get_secret_value()
    if config.api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(config.api_base.rstrip("/")))
        return Bot(token, session=session)
    return Bot(token)  # no default parse_mode: texts go as plain text, a citizen's "<" stays a "<"
