"""Staff: one-time invite codes, roles, and who may act on which appeal."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.domain.appeals import OPEN, AppealStatus
from bot.domain.appeals import move as move_appeal
from bot.domain.errors import Refusal
from bot.domain.roles import GRANTABLE, STAFF, Role, capabilities
from bot.services.audience import cancel_queued
from storage.models import Appeal, AppealEvent, Invite, OutboxMessage, User
from storage.repositories import Repositories

STAFF_ROLES = STAFF  # the old name, kept for importers
# No look-alikes (0/O, 1/I/L): codes are read aloud and typed from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


class InviteError(Exception):
    """An invite cannot be issued (unknown ministry, bad role)."""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def looks_like_code(text: str) -> bool:
    candidate = text.strip().upper()
    return len(candidate) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in candidate)


async def create_invite(repo: Repositories, settings: Settings, role: str, ministry_id: str | None,
                        now: datetime, group_id: str | None = None) -> Invite:
    if group_id is None:
        if role not in GRANTABLE:
            raise InviteError(f"role must be one of {', '.join(GRANTABLE)}, not {role!r}")
        if capabilities(role).has_ministry and ministry_id not in settings.ministries:
            known = ", ".join(settings.ministries)
            raise InviteError(f"unknown ministry {ministry_id!r}; known: {known}")
    ttl = timedelta(hours=settings.staff.invite_ttl_hours)
    return await repo.staff.add_invite(Invite(code=new_code(), role=role, ministry_id=ministry_id,
                                              group_id=group_id, created_at=now, expires_at=now + ttl))


async def redeem(repo: Repositories, user: User, code: str, now: datetime) -> Invite:
    """Use a code once (refused when unknown, used or expired). Staff roles are applied here; group invites
    are returned for the experts flow."""
    invite = await repo.staff.invite_for_update(code.strip().upper())
    if invite is None:
        raise Refusal("invite.unknown")
    if invite.used_at is not None:
        raise Refusal("invite.used")
    if invite.expires_at <= now:
        raise Refusal("invite.expired")
    invite.used_by_id, invite.used_at = user.id, now
    if invite.group_id is None:
        user.role = invite.role
        user.ministry_id = invite.ministry_id if capabilities(invite.role).has_ministry else None
    return invite


async def staff_list(repo: Repositories) -> Sequence[User]:
    return await repo.staff.staff()


@dataclass(frozen=True)
class Departure:
    """What a revocation or a move changed: the appeals handed back, the queued messages cancelled."""

    returned: Sequence[Appeal]
    cancelled: Sequence[OutboxMessage]


class MoveError(Exception):
    """The person cannot be moved (not an operator, unknown ministry, the same ministry)."""


async def hand_back(repo: Repositories, user: User, now: datetime, why: str,
                    ministry_id: str | None = None) -> list[Appeal]:
    """The person's open appeals go back to their ministry, nobody assigned: an event in each history."""
    returned = []
    for appeal in await repo.staff.assigned_open(user.id, OPEN, ministry_id):
        appeal.assignee_id = None
        if appeal.status == AppealStatus.IN_WORK:
            move_appeal(appeal, AppealStatus.REGISTERED)
        await repo.appeals.add_event(AppealEvent(appeal_id=appeal.id, actor_id=None, kind="handed_back",
                                                 status=appeal.status, details={"from": user.id, "why": why}, at=now))
        returned.append(appeal)
    return returned


async def revoke(repo: Repositories, user: User, now: datetime | None = None,
                 settings: Settings | None = None) -> Departure:
    """No staff role any more: their appeals go back to the ministry; nothing queued reaches them."""
    now = now or datetime.now(UTC)
    returned = await hand_back(repo, user, now, "revoked")
    user.role = Role.CITIZEN.value
    user.ministry_id = None
    return Departure(returned, await cancel_queued(repo, user, now, settings))


async def move(repo: Repositories, settings: Settings, user: User, ministry_id: str, now: datetime) -> Departure:
    """An operator now works for another ministry: the old ministry's appeals they held go back to it."""
    if not capabilities(user.role).has_ministry:
        raise MoveError(f"only an operator belongs to a ministry; this person is {user.role}")
    if ministry_id not in settings.ministries:
        raise MoveError(f"unknown ministry {ministry_id!r}; known: {', '.join(settings.ministries)}")
    if ministry_id == user.ministry_id:
        raise MoveError(f"already an operator of {ministry_id}")
    returned = await hand_back(repo, user, now, "moved", user.ministry_id)
    user.ministry_id = ministry_id
    return Departure(returned, await cancel_queued(repo, user, now, settings))


def is_staff(user: User) -> bool:
    return capabilities(user.role).is_staff


def is_supervisor(user: User) -> bool:
    return capabilities(user.role).may_see_all_ministries


def may_handle(user: User, appeal: Appeal) -> bool:
    """Operators act on their own ministry's appeals; supervisors on any."""
    may = capabilities(user.role)
    if may.may_see_all_ministries:
        return True
    return may.may_answer and may.has_ministry and user.ministry_id == appeal.ministry_id


def set_full_name(user: User, name: str) -> None:
    """The staff member's full name, as cards and protocols write it (checked by the dialog)."""
    user.full_name = name
