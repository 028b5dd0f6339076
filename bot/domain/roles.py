"""Who a person is to the bot (``users.role``) and what each role may do.

Expert-group roles (chair, deputy, secretary, member) are another column, ``group_members.role``:
a person is a citizen or staff here and, besides, may sit in a group.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    # A supervisor who is also the region's administrator; granted like the others (`staff invite --role admin`).
    ADMIN = "admin"


@dataclass(frozen=True)
class Capabilities:
    is_staff: bool = False
    # Answer, redirect, extend the appeals of their own ministry.
    may_answer: bool = False
    # Every ministry's appeals: act on any of them, reassign, see escalations.
    may_see_all_ministries: bool = False
    # Statistics, ranking, exports.
    may_run_reports: bool = False
    # Belongs to one ministry (the invite names it).
    has_ministry: bool = False


_SUPERVISING = Capabilities(is_staff=True, may_answer=True, may_see_all_ministries=True, may_run_reports=True)
CAPABILITIES: dict[Role, Capabilities] = {
    Role.CITIZEN: Capabilities(),
    Role.OPERATOR: Capabilities(is_staff=True, may_answer=True, has_ministry=True),
    Role.SUPERVISOR: _SUPERVISING,
    Role.ADMIN: _SUPERVISING,
}
NOBODY = Capabilities()

STAFF = frozenset(role for role, may in CAPABILITIES.items() if may.is_staff)
SUPERVISING = frozenset(role for role, may in CAPABILITIES.items() if may.may_see_all_ministries)
# What `staff invite --role` hands out: every staff role.
GRANTABLE = tuple(role for role in Role if role in STAFF)


def capabilities(role: str | None) -> Capabilities:
    """What a stored role may do; an unknown value may do nothing."""
    return CAPABILITIES.get(role, NOBODY)  # type: ignore[call-overload]
