"""Who is talking: users by (channel, platform id), their language, consent and reachability."""

from __future__ import annotations

from datetime import datetime

from bot.domain.roles import Role
from storage.models import Consent, Conversation, User
from storage.repositories import Repositories


async def identify(repo: Repositories, channel: str, platform_id: str, chat_id: str,
                   language: str) -> User:
    """The user behind an update, created on first contact with only what is needed to answer."""
    user = await repo.users.find(channel, platform_id)
    if user is None:
        user = await repo.users.add(User(channel=channel, platform_id=platform_id, chat_id=chat_id,
                                         language=language, role=Role.CITIZEN.value))
    elif user.chat_id != chat_id and chat_id == platform_id:
        user.chat_id = chat_id
    if user.unreachable_reason is not None:
        # They wrote to us, so they can be written to again.
        user.unreachable_reason = None
        user.unreachable_at = None
    return user


async def record_consent(repo: Repositories, user: User, accepted: bool, operator_name: str,
                         now: datetime) -> None:
    """152-ФЗ art. 9: consent is specific and provable, so each answer is kept with its time."""
    user.consent_given = accepted
    await repo.users.add_consent(Consent(user_id=user.id, accepted=accepted, operator_name=operator_name, at=now))


async def mark_unreachable(repo: Repositories, channel: str, chat_id: str, reason: str, now: datetime) -> None:
    await repo.users.mark_unreachable(channel, chat_id, reason, now)


async def by_id(repo: Repositories, user_id: int | None) -> User | None:
    """The person with this id; None for no id or an unknown one."""
    return await repo.users.get(user_id) if user_id else None


async def dialog(repo: Repositories, channel: str, chat_id: str) -> Conversation:
    """The dialog kept for a chat (created empty), e.g. the private chat a group's dialog continues in."""
    return await repo.conversations.load(channel, chat_id)


def set_language(user: User, language: str) -> None:
    """The language every later message to the person is written in."""
    user.language = language


def keep_messenger_name(user: User, name: str | None) -> None:
    """The name the messenger gives (or the one known), kept when the person joins the staff or a group."""
    user.display_name = (name or user.display_name or "")[:200] or None
