"""The Callback API server: VK posts each event; the secret and the community are checked."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

class CallbackMixin:
    """The Callback API half of ``VkChannel``."""

    # Callback API ---------------------------------------------------------------------------

    async def _serve_callback(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.vk.callback_path, self.on_callback)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.vk.callback_host, self.vk.callback_port).start()
        log.info("VK Callback API listening on %s", self.callback_address)
        await self._stopping.wait()

    async def on_callback(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="bad request")
        if not isinstance(body, dict) or not self._authentic(body):
            log.warning("VK callback refused: wrong secret or group from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        if body.get("type") == "confirmation":
            return web.Response(text=self.vk.confirmation)
        # VK pauses a server that answers errors several times in a row: failures inside are
        # logged and still answered "ok"; a redelivery after a timeout is dropped by update_key.
        await self._process(body)
        return web.Response(text="ok")

    def _authentic(self, body: Mapping[str, Any]) -> bool:
        # VK puts the community's secret key into every request, the confirmation included.
        secret = self.vk.callback_secret.get_secret_value() if self.vk.callback_secret else ""
        sent = body.get("secret")
        return (isinstance(sent, str) and hmac.compare_digest(sent.encode(), secret.encode())
                and body.get("group_id") == self.vk.group_id)
