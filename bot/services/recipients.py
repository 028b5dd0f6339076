"""Who gets a message about an appeal: its assignee while they may handle it, else the ministry's recipients.

Written once for the cards, the deadline reminders and the operators' notices. (Not in audience.py:
``may_handle`` lives in staff.py, which imports audience.py.)
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import TRIAGE, Settings
from bot.services.staff import may_handle
from storage.models import Appeal, User
from storage.repositories import Repositories


@dataclass(frozen=True)
class Recipient:
    channel: str
    chat_id: str
    language: str

    @classmethod
    def of(cls, user: User) -> Recipient:
        return cls(user.channel, user.chat_id, user.language)


async def recipients(repo: Repositories, settings: Settings, ministry_id: str) -> list[Recipient]:
    """The ministry's staff chats from config and each of its operators in private.

    A ministry with no operator the bot can reach (none invited yet, all revoked or blocked the bot):
    the ЦУР's supervisors get its cards and reminders instead, so no appeal sits unseen.
    """
    if ministry_id == TRIAGE:
        return [Recipient.of(s) for s in await repo.staff.supervisors() if s.unreachable_reason is None]
    ministry = settings.ministries.get(ministry_id)
    found = [Recipient(channel, chat_id, settings.region.default_language)
             for channel, chat_id in (ministry.staff_chat.items() if ministry else [])]
    operators = [o for o in await repo.staff.operators_of(ministry_id) if o.unreachable_reason is None]
    if not operators:
        operators = [s for s in await repo.staff.supervisors() if s.unreachable_reason is None]
    found += [Recipient.of(person) for person in operators]
    return found


async def responsible(repo: Repositories, settings: Settings, appeal: Appeal,
                      cache: dict[str, list[Recipient]] | None = None) -> list[Recipient]:
    """Whoever handles the appeal: its assignee while they may, else the ministry's recipients.

    ``cache`` keeps each ministry's recipients for a scan that goes through many appeals."""
    if appeal.assignee_id is not None:
        assignee = await repo.users.get(appeal.assignee_id)
        if assignee is not None and may_handle(assignee, appeal):
            return [Recipient.of(assignee)]
    if cache is None:
        return await recipients(repo, settings, appeal.ministry_id)
    if appeal.ministry_id not in cache:
        cache[appeal.ministry_id] = await recipients(repo, settings, appeal.ministry_id)
    return cache[appeal.ministry_id]
