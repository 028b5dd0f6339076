"""The webhook for production: MAX POSTs each update over HTTPS on port 443 (through the TLS proxy of
docs/deploy.md) with our secret in ``X-Max-Bot-Api-Secret``, and waits 30 s for a 200.

An update the bot could not take for a passing reason (the database away) is answered 503, so MAX
sends it again (10 times, from 60 s, x2.5); a bug still answers 200, the user gets the apology.
"""

from __future__ import annotations

import hmac
import logging
from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web

from bot.events import HandlingDeferred

if TYPE_CHECKING:
    from bot.channels.max.channel import MaxChannel

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Max-Bot-Api-Secret"
UPDATE_TYPES = ["message_created", "message_callback", "bot_started", "bot_stopped"]


async def serve(channel: MaxChannel) -> None:
    settings = channel.settings
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(settings.webhook_path, partial(on_update, channel))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
        host, port = runner.addresses[0][:2]
        channel.webhook_address = (str(host), int(port))
        log.info("MAX webhook listening on %s:%s%s", host, port, settings.webhook_path)
        await subscribe(channel)
        await channel.stopping.wait()
    finally:
        channel.webhook_address = None
        await runner.cleanup()


async def subscribe(channel: MaxChannel) -> None:
    """POST /subscriptions: MAX posts to webhook_url from now on (long polling stops working)."""
    secret = channel.settings.webhook_secret
    body = {"url": channel.settings.webhook_url, "update_types": UPDATE_TYPES,
            "secret": secret.get_secret_value() if secret else None}
    await channel.request_api("POST /subscriptions", "POST", "/subscriptions", body=body)


async def on_update(channel: MaxChannel, request: web.Request) -> web.Response:
    expected = channel.settings.webhook_secret
    sent = request.headers.get(SECRET_HEADER, "")
    if expected is None or not hmac.compare_digest(sent.encode(), expected.get_secret_value().encode()):
        log.warning("MAX webhook refused: wrong secret from %s", request.remote)
        return web.Response(status=401, text="unauthorized")
    try:
        update = await request.json()
    except ValueError:
        return web.Response(status=400, text="bad request")
    if not isinstance(update, dict):
        return web.Response(status=400, text="bad request")
    from bot.channels.max.channel import chat_key

    job = channel.order.submit(chat_key(update), partial(channel.take, update, channel.webhook_budget))
    try:
        await job
    except HandlingDeferred:
        return web.Response(status=503, text="later")
    except Exception:
        log.exception("MAX update failed in the channel")
    return web.json_response({"ok": True})
