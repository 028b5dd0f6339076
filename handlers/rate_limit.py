"""Per-citizen message rate: a fixed one-minute window kept with the conversation (so every instance sees it)."""

from __future__ import annotations

from bot.domain.roles import Role
from handlers.context import Context

WINDOW_S = 60


def allow(ctx: Context) -> bool:
    """False when a citizen sends more than the limit per minute: the first refused message of a window gets
    a polite explanation; the rest get nothing and change nothing (the caller stores nothing for them), so a
    flood can neither fill the chat with our answers nor the database with its rows."""
    if ctx.user.role != Role.CITIZEN:
        return True
    limit = ctx.settings.limits.messages_per_minute
    now = ctx.now.timestamp()
    started, count, warned = ctx.data.get("_rate", [0.0, 0, False])
    if now - started >= WINDOW_S:
        started, count, warned = now, 0, False
    if count >= limit and warned:
        return False
    count += 1
    allowed = count <= limit
    if not allowed:
        ctx.say("limit.messages", seconds=max(int(started + WINDOW_S - now), 1))
        warned = True
    ctx.set_state(ctx.state, _rate=[started, count, warned])
    return allowed
