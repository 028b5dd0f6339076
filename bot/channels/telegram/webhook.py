"""The Telegram webhook: an aiohttp app that answers each POST once its update is handled."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial

import bot.channels.lazy_aiogram  # noqa: F401  # isort: skip  (before aiogram: see that module)
from aiogram.types import (
    Update,
)
from aiohttp import web
from pydantic import ValidationError

from bot.channels.kit import parse_json
from bot.channels.telegram.common import ALLOWED_UPDATES, SECRET_HEADER, SECRET_RE
from bot.events import HandlingDeferred

logger = logging.getLogger(__name__)
# How long a webhook request waits for a database that is away before Telegram is told to send it again.
WEBHOOK_PATIENCE = 10.0

class WebhookMixin:
    """The webhook half of ``TelegramChannel``."""

    _stopping: asyncio.Event
    _shutdown_grace: float
    _patience: float | None
    _serving: Callable[[], AbstractAsyncContextManager[None]]

    def webhook_app(self) -> web.Application:
        """An aiohttp app that takes Telegram's webhook POSTs at ``webhook_path``, secret checked on each."""
        self._secret = self._webhook_secret()
        app = web.Application()
        app.router.add_post(self._config.webhook_path, self._on_webhook)
        app.on_startup.append(self._register_webhook)
        return app

    async def run_webhook(self) -> None:
        # No access log: updates are counted in /metrics and logged with their update id and user where
        # something happens (bot/observability.py); aiohttp's line per POST cost ~3% of the CPU under
        # load (bench/load.py) and told nothing more.
        async with self._serving():
            self._patience = WEBHOOK_PATIENCE
            # On stop aiohttp lets the requests in flight finish for the grace, then closes.
            runner = web.AppRunner(self.webhook_app(), access_log=None, shutdown_timeout=self._shutdown_grace)
            await runner.setup()
            try:
                await web.TCPSite(runner, self._config.webhook_host, self._config.webhook_port).start()
                logger.info("telegram webhook listening on %s:%s%s", self._config.webhook_host,
                            self._config.webhook_port, self._config.webhook_path)
                await self._stopping.wait()
            finally:
                await runner.cleanup()

    def _webhook_secret(self) -> str:
        secret = self._config.webhook_secret
        if secret is None or not SECRET_RE.match(secret.get_secret_value()):
            # Without it anyone who finds the URL can post fake updates in a citizen's name.
            raise ValueError("telegram.webhook_secret: set TELEGRAM_WEBHOOK_SECRET (1-256 of A-Za-z0-9_-)")
        return secret.get_secret_value()

    async def _register_webhook(self, _: web.Application) -> None:
        await self._introduce()
        if self._config.webhook_url:
            await self._retrying(partial(
                self.bot.set_webhook, url=self._config.webhook_url, secret_token=self._webhook_secret(),
                allowed_updates=list(ALLOWED_UPDATES), drop_pending_updates=False,
            ))

    async def _on_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.Response(status=401)
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            return web.Response(status=403)
        if self._stopping.is_set():
            return web.Response(status=503)  # stopping: Telegram sends it again, to the next instance
        try:
            update = Update.model_validate(parse_json(await request.read()), context={"bot": self.bot})
        except (ValueError, ValidationError):
            return web.Response(status=400)  # malformed, too deeply nested, or fields of the wrong type
        # Answer only once handled (Telegram re-sends otherwise); shielded so a dropped connection
        # cannot cut the handling in the middle.
        try:
            await asyncio.shield(self._intake(update))
        except HandlingDeferred:
            # The database is away: an error status, so Telegram sends the update again later.
            return web.Response(status=503)
        return web.Response()
