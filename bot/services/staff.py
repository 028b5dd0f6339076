"""Staff: one-time invite codes, roles, and who may act on which appeal."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings
from storage.models import Appeal, Invite, User
from storage.repositories import Repositories

STAFF_ROLES = ("operator", "supervisor", "admin")
# No look-alikes (0/O, 1/I/L): codes are read aloud and typed from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


class InviteError(Exception):
    """An invite cannot be issued (unknown ministry, bad role)."""


@dataclass(frozen=True)
class Redeemed:
    """The outcome of redeeming a code: ``problem`` is a message key when it failed."""

    invite: Invite | None
    problem: str | None = None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def looks_like_code(text: str) -> bool:
    candidate = text.strip().upper()
    return len(candidate) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in candidate)


async def create_invite(repo: Repositories, settings: Settings, role: str, ministry_id: str | None,
                        now: datetime, group_id: str | None = None) -> Invite:
    if group_id is None:
        if role not in ("operator", "supervisor"):
            raise InviteError(f"role must be operator or supervisor, not {role!r}")
        if role == "operator" and ministry_id not in settings.ministries:
            known = ", ".join(settings.ministries)
            raise InviteError(f"unknown ministry {ministry_id!r}; known: {known}")
    ttl = timedelta(hours=settings.staff.invite_ttl_hours)
    return await repo.staff.add_invite(Invite(code=new_code(), role=role, ministry_id=ministry_id,
                                              group_id=group_id, created_at=now, expires_at=now + ttl))


async def redeem(repo: Repositories, user: User, code: str, now: datetime) -> Redeemed:
    """Use a code once. Staff roles are applied here; group invites are returned for the experts flow."""
    invite = await repo.staff.invite_for_update(code.strip().upper())
    if invite is None:
        return Redeemed(None, "invite.unknown")
    if invite.used_at is not None:
        return Redeemed(invite, "invite.used")
    if invite.expires_at <= now:
        return Redeemed(invite, "invite.expired")
    invite.used_by_id, invite.used_at = user.id, now
    if invite.group_id is None:
        user.role = invite.role
        user.ministry_id = invite.ministry_id if invite.role == "operator" else None
    return Redeemed(invite)


async def staff_list(repo: Repositories) -> Sequence[User]:
    return await repo.staff.staff()


async def revoke(repo: Repositories, user: User) -> None:
    user.role = "citizen"
    user.ministry_id = None


def is_staff(user: User) -> bool:
    return user.role in STAFF_ROLES


def is_supervisor(user: User) -> bool:
    return user.role in ("supervisor", "admin")


def may_handle(user: User, appeal: Appeal) -> bool:
    """Operators act on their own ministry's appeals; supervisors on any."""
    if is_supervisor(user):
        return True
    return user.role == "operator" and user.ministry_id == appeal.ministry_id
