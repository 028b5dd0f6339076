"""The Callback API server: VK posts each event; the secret and the community are checked."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from aiohttp import web

from bot.channels.kit import ChatOrder, parse_json
from bot.channels.vk.intake import peer_of
from bot.events import HandlingDeferred

log = logging.getLogger(__name__)
# How long a Callback API request waits for a database that is away before VK is asked to send it again.
CALLBACK_PATIENCE = 10.0

class CallbackMixin:
    """The Callback API half of ``VkChannel``."""

    _stopping: asyncio.Event
    _order: ChatOrder
    _patience: float | None

    # Callback API ---------------------------------------------------------------------------

    async def _serve_callback(self) -> None:
        self._patience = CALLBACK_PATIENCE
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.vk.callback_path, self.on_callback)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.vk.callback_host, self.vk.callback_port).start()
        log.info("VK Callback API listening on %s", self.callback_address)
        await self._stopping.wait()

    async def on_callback(self, request: web.Request) -> web.Response:
        try:
            body = parse_json(await request.read())
        except ValueError:
            return web.Response(status=400, text="bad request")  # not JSON, or nested too deeply
        if not isinstance(body, dict) or not self._authentic(body):
            log.warning("VK callback refused: wrong secret or group from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        if body.get("type") == "confirmation":
            return web.Response(text=self.vk.confirmation)
        if not isinstance(body.get("type"), str) or not isinstance(body.get("object", {}), dict):
            return web.Response(status=400, text="bad request")  # fields of the wrong type
        if self._stopping.is_set():
            return web.Response(status=503, text="stopping")  # VK sends it again
        # VK pauses a server that answers errors several times in a row: a bug inside is logged, the
        # user gets the apology, and VK gets "ok"; a redelivery after a timeout is dropped by update_key.
        # Only a database that is away gets an error status, so that VK sends the event again.
        try:
            await self._order.submit(peer_of(body), partial(self._process, body))
        except HandlingDeferred:
            return web.Response(status=503, text="retry")
        return web.Response(text="ok")

    def _authentic(self, body: Mapping[str, Any]) -> bool:
        # VK puts the community's secret key into every request, the confirmation included.
        secret = self.vk.callback_secret.get_secret_value() if self.vk.callback_secret else ""
        sent = body.get("secret")
        return (isinstance(sent, str) and hmac.compare_digest(sent.encode(), secret.encode())
                and body.get("group_id") == self.vk.group_id)
