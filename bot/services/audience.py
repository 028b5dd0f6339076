"""Who may still receive a staff or group message: checked when it is written and again when it is sent.

A message about an appeal, a report or a meeting notice may wait in the outbox for hours (quiet
hours, a messenger outage). Meanwhile the operator may be revoked or moved to another ministry, a
member removed from the group. The outbox row carries its audience, and the sender asks
``refusal`` at the moment of sending: a row whose reader may no longer see it is dropped, not sent.

Audiences (a small JSON on the row):
- ``{"appeal": id, "ministry": m}``: the ministry's operators and the supervisors;
- ``{"role": "supervisor"}``: supervisors (and admins) only;
- ``{"group": g}``: active members of the expert group ``g``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.domain.roles import SUPERVISING, Role, capabilities
from storage.expert_repo import ExpertRepo
from storage.models import OutboxMessage, User
from storage.repositories import Repositories

SUPERVISOR_ROLES = SUPERVISING  # the old name, kept for importers
SUPERVISORS: dict[str, Any] = {"role": Role.SUPERVISOR.value}


def about_appeal(appeal_id: int, ministry_id: str) -> dict[str, Any]:
    return {"appeal": appeal_id, "ministry": ministry_id}


def of_group(group_id: str) -> dict[str, Any]:
    return {"group": group_id}


def _user_refusal(user: User, audience: dict[str, Any]) -> str | None:
    if "role" in audience:
        return None if user.role in SUPERVISOR_ROLES else f"role {user.role}, not supervisor"
    ministry = audience.get("ministry")
    if ministry is not None:
        may = capabilities(user.role)
        if may.may_see_all_ministries or (may.has_ministry and user.ministry_id == ministry):
            return None
        return f"role {user.role} of {user.ministry_id or '-'}, not of {ministry}"
    return None


async def refusal(repo: Repositories, channel: str, chat_id: str, audience: dict[str, Any] | None,
                  settings: Settings | None = None, is_group: bool = False) -> str | None:
    """Why the reader of (channel, chat) may no longer receive a message for ``audience``; None if they may.

    A group chat is judged by config.toml (is it still the ministry's staff chat?), not by whoever wrote
    in it: its members are not the bot's users."""
    if not audience:
        return None
    readers = [] if is_group else await repo.users.at_chat(channel, chat_id)
    if not readers:
        return _chat_refusal(channel, chat_id, audience, settings)
    group = audience.get("group")
    reasons = []
    for reader in readers:
        if group is not None:
            member = await ExpertRepo(repo.session).membership(group, reader.id)
            reason = None if member is not None else f"not a member of {group}"
        else:
            reason = _user_refusal(reader, audience)
        if reason is None:
            return None
        reasons.append(f"user {reader.id}: {reason}")
    return "; ".join(reasons)


def _chat_refusal(channel: str, chat_id: str, audience: dict[str, Any], settings: Settings | None) -> str | None:
    """A chat no person has: a ministry's staff chat from config.toml, valid while the config names it."""
    ministry = audience.get("ministry")
    if ministry is None:
        return "nobody reads this chat"
    if settings is None:
        return None
    configured = settings.ministries.get(ministry)
    if configured is not None and configured.staff_chat.get(channel) == chat_id:
        return None
    return f"not a staff chat of {ministry}"


async def cancel_queued(repo: Repositories, user: User, now: datetime,
                        settings: Settings | None = None) -> Sequence[OutboxMessage]:
    """After a change of role, ministry or membership: what was queued for the person and may no longer
    reach them is cancelled now (the sender would drop it anyway; this says so at once)."""
    await repo.flush()
    cancelled = []
    for message in await repo.outbox.pending_for_audience(user.channel, user.chat_id):
        reason = await refusal(repo, message.channel, message.chat_id, message.audience, settings)
        if reason is not None:
            cancelled.append(message)
            await repo.outbox.set_state([message.id], status="cancelled", sent_at=now,
                                        last_error=f"audience: {reason}"[:500])
    return cancelled
