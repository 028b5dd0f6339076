"""The Telegram channel: a thin translator between aiogram 3 and the neutral shapes of ``bot.events``.

Updates become ``Incoming`` events for the conversation handler; each ``Reply`` becomes Bot API
calls; platform errors become the delivery layer's ``RetryLater`` / ``Unreachable``. No dialog
logic lives here: what to say, and whether an update was already handled, is the handler's job.

Ordering and delivery guarantees (the part aiogram's Dispatcher does not give, see LIBRARIES.md):
- updates of one chat are handled one after another, in update_id order; chats run concurrently;
- polling confirms an update to Telegram (the getUpdates ``offset``) only once it has been handled,
  so a crash re-delivers the updates in flight (at least once); the handler de-duplicates on
  ``update_key`` inside its transaction, which makes the whole exactly-once;
- a webhook request is answered only after its update was handled, so Telegram re-sends it if we die.

Modules: ``intake`` (update -> Incoming), ``rendering`` (Reply -> Bot API calls), ``errors`` (failures ->
delivery decisions, the Bot), ``polling``, ``webhook``, ``channel`` (the whole), ``plugin`` (what the
registry knows, without importing aiogram). The names below are imported on first use, so that the
registry can read ``plugin`` without loading aiogram.
"""

from __future__ import annotations

from bot.channels.registry import names_from

__getattr__ = names_from(__name__, ("channel", "common", "intake", "rendering", "errors", "polling", "webhook"))
