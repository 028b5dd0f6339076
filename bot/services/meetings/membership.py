"""Membership of an expert group: joining, leaving, names in protocols, who may organize."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.audience import cancel_queued
from bot.services.meetings.common import NAME_MAX, NAME_MIN, ORGANIZERS, ROLES, Office, Refusal
from storage.expert_models import GroupMember
from storage.models import User


async def join(office: Office, user: User, group_id: str, role: str, name: str = "") -> GroupMember:
    """Make ``user`` a member with ``role``. Chair, deputy and secretary are single posts: the previous
    holder stays in the group as a member."""
    office.group(group_id)
    if role not in ROLES:
        raise Refusal("experts.role_unknown")
    db = office.db
    if role != "member":
        for holder in await db.holders(group_id, role):
            if holder.user_id != user.id:
                holder.role = "member"
    member = await db.membership(group_id, user.id, active_only=False)
    if member is None:
        member = GroupMember(group_id=group_id, user_id=user.id, role=role, full_name=name[:NAME_MAX], active=True,
                             joined_at=office.now)
        await db.add(member)
    else:
        member.role, member.active = role, True
        member.full_name = member.full_name or name[:NAME_MAX]
    await office.repo.flush()
    return member


async def remove_member(office: Office, group_id: str, user_id: int) -> bool:
    """Out of the group: no more notices or ballots, and the quorum is counted without them."""
    member = await office.db.membership(group_id, user_id)
    if member is None:
        return False
    member.active = False
    user = await office.repo.users.get(user_id)
    if user is not None:
        await cancel_queued(office.repo, user, office.now, office.settings)
    return True


async def set_full_name(office: Office, user: User, name: str) -> None:
    """The name as it appears in protocols, in every group the person is in."""
    cleaned = " ".join(name.split())
    if not NAME_MIN <= len(cleaned) <= NAME_MAX or not any(ch.isalpha() for ch in cleaned):
        raise Refusal("experts.name_invalid", max=NAME_MAX)
    for member in await office.db.memberships_of(user.id):
        member.full_name = cleaned


async def memberships(office: Office, user: User) -> Sequence[GroupMember]:
    return [m for m in await office.db.memberships_of(user.id) if m.group_id in office.settings.groups]


async def member_of(office: Office, user: User, group_id: str) -> GroupMember:
    member = await office.db.membership(group_id, user.id)
    if member is None:
        raise Refusal("experts.not_member")
    return member


async def organizer_of(office: Office, user: User, group_id: str) -> GroupMember:
    member = await member_of(office, user, group_id)
    if member.role not in ORGANIZERS:
        raise Refusal("experts.not_organizer")
    return member


async def leaders(office: Office, group_id: str) -> list[GroupMember]:
    """Chair and secretary (the deputy when there is no chair): who hears about quorum and the quarter."""
    db = office.db
    chairs = list(await db.holders(group_id, "chair")) or list(await db.holders(group_id, "deputy"))
    return [*chairs, *await db.holders(group_id, "secretary")]
