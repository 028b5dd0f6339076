"""What the expert group's conversations read about meetings, votes and protocols (nothing is changed).

The meeting services (``bot.services.meetings``) check and change; these only read, so that the
handlers reach storage through services alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.services.meetings import Office
from storage.expert_models import Attendance, Meeting, Protocol, Vote

# The meetings a member's list shows: all but the cancelled.
LISTED = ("proposed", "scheduled", "in_progress", "finished")


@dataclass(frozen=True)
class VoteLine:
    """One vote of a meeting as its organizer sees it: the item's position, ballots cast, members, status."""

    position: int
    cast: int
    members: int
    status: str


async def meeting(office: Office, meeting_id: int | None) -> Meeting | None:
    """The meeting with this id; None for no id or an unknown one."""
    return await office.db.meeting(meeting_id) if meeting_id else None


async def listed(office: Office, group_ids: Iterable[str], limit: int) -> Sequence[Meeting]:
    """The groups' meetings a member's list shows, at most ``limit``."""
    return await office.db.meetings_of(list(group_ids), LISTED, limit)


async def member_count(office: Office, group_id: str) -> int:
    """How many members the group has (the notices a publication sends)."""
    return len(await office.db.members(group_id))


async def has_materials(office: Office, meeting_id: int) -> bool:
    """Whether any material is attached to the meeting's agenda."""
    return bool(await office.db.materials(meeting_id))


async def attendance(office: Office, meeting_id: int, user_id: int) -> Attendance:
    """The member's answer to the meeting's notice (a row without an answer when they gave none)."""
    return await office.db.attendance_of(meeting_id, user_id)


async def votes(office: Office, meeting_id: int) -> Sequence[Vote]:
    """The meeting's votes, in the order they were opened."""
    return await office.db.votes(meeting_id)


async def voted_items(office: Office, meeting_id: int) -> set[int]:
    """The agenda items that have had a vote."""
    return {v.item_id for v in await office.db.votes(meeting_id)}


async def ballot_count(office: Office, vote_id: int) -> int:
    """How many ballots the vote has (one per member present when it opened)."""
    return len(await office.db.ballots(vote_id))


async def vote_lines(office: Office, meeting_id: int) -> list[VoteLine]:
    """Each vote of the meeting with the ballots cast so far."""
    lines = []
    for vote in await office.db.votes(meeting_id):
        cast = sum(1 for b in await office.db.ballots(vote.id) if b.choice is not None)
        item = await office.db.item(vote.item_id)
        lines.append(VoteLine(item.position if item else 0, cast, vote.members, vote.status))
    return lines


async def protocol_of(office: Office, meeting_id: int) -> Protocol | None:
    """The meeting's protocol, once drafted."""
    return await office.db.protocol_of(meeting_id)


async def protocol_and_meeting(office: Office, protocol_id: int) -> tuple[Protocol | None, Meeting | None]:
    """The protocol with this id and its meeting (either None when not found)."""
    protocol = await office.db.protocol(protocol_id)
    return protocol, await office.db.meeting(protocol.meeting_id) if protocol else None
