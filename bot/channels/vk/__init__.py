"""The VK channel: a thin translator between VK (through vk-api) and the neutral shapes.

VK event -> ``Incoming``; ``Reply`` -> ``messages.send`` / ``messages.edit``; VK errors ->
``RetryLater`` / ``Unreachable``. No dialog logic lives here. Files the bot made (charts, exports,
protocols: ``Attachment(channel="local")``) are uploaded for the peer before the message is sent.

vk-api is synchronous (requests). Every call runs in a worker thread, so the event loop is
never blocked; the long-poll request, which hangs for up to ``wait`` seconds, runs in a daemon
thread of its own so that stopping never waits for it.

Modules: ``intake`` (event -> Incoming), ``rendering`` (Reply -> messages.send, uploads), ``errors``,
``client`` (vk-api pointed at any server), ``polling`` (Bots Long Poll), ``webhook`` (Callback API),
``channel`` (the whole), ``plugin`` (what the registry knows, without importing vk-api). The names
below are imported on first use, so that the registry can read ``plugin`` without loading vk-api.

References: https://dev.vk.com/ru/api/bots/getting-started (Bots Long Poll, Callback API),
https://dev.vk.com/ru/api/bots/development/keyboard (keyboards, callback buttons),
https://dev.vk.com/ru/reference/errors (error codes),
https://dev.vk.com/ru/api/upload/overview (uploading files).
"""

from __future__ import annotations

from bot.channels.registry import names_from

__getattr__ = names_from(__name__, ("channel", "common", "intake", "rendering", "errors", "client", "polling",
                                   "webhook"))
