"""Per-citizen message rate: a fixed one-minute window kept with the conversation (so every instance sees it)."""

from __future__ import annotations

from handlers.context import Context

WINDOW_S = 60


def allow(ctx: Context) -> bool:
    """False (and a polite message, once per window) when a citizen sends more than the limit per minute."""
    if ctx.user.role != "citizen":
        return True
    limit = ctx.settings.limits.messages_per_minute
    now = ctx.now.timestamp()
    data = ctx.data
    started, count, warned = data.get("_rate", [0.0, 0, False])
    if now - started >= WINDOW_S:
        started, count, warned = now, 0, False
    count += 1
    allowed = count <= limit
    if not allowed and not warned:
        ctx.say("limit.messages", seconds=max(int(started + WINDOW_S - now), 1))
        warned = True
    elif not allowed:
        # Already told this minute: a short toast for a button, and the message is not processed.
        ctx.say("limit.messages_again")
    ctx.set_state(ctx.state, _rate=[started, count, warned])
    return allowed
