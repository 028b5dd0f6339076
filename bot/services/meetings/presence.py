"""Who is present: the roll against the membership, arrivals and departures as they happened."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import meeting_rules as rules
from bot.domain.meeting_rules import presiding_of, quorum_needed
from bot.services.meetings.common import Office
from storage.expert_models import GroupMember, Meeting, PresenceMark


@dataclass(frozen=True)
class Roll:
    """Who is present at a meeting, against the membership."""

    members: Sequence[GroupMember]
    present: frozenset[int]
    needed: int

    @property
    def quorum(self) -> bool:
        return len(self.present) >= self.needed

    @property
    def presiding(self) -> int | None:
        return presiding_of((m.user_id, m.role) for m in self.members if m.user_id in self.present)


async def roll(office: Office, meeting: Meeting) -> Roll:
    members = await office.db.members(meeting.group_id)
    ids = {m.user_id for m in members}
    present = frozenset(r.user_id for r in await office.db.attendance(meeting.id) if r.present and r.user_id in ids)
    return Roll(members, present, quorum_needed(len(members), office.group(meeting.group_id).quorum))


async def secretary_id(office: Office, meeting: Meeting) -> int | None:
    secretaries = await office.db.holders(meeting.group_id, "secretary")
    return secretaries[0].user_id if secretaries else meeting.created_by_id


async def mark(office: Office, meeting: Meeting, user_id: int, present: bool, by_id: int | None) -> None:
    """Record an arrival or a departure with its time, beside the member's current state."""
    row = await office.db.attendance_of(meeting.id, user_id)
    row.present, row.present_at, row.marked_by_id = present, office.now, by_id
    await office.db.add(PresenceMark(meeting_id=meeting.id, user_id=user_id, present=present, at=office.now,
                                     marked_by_id=by_id))


async def marks_of(office: Office, meeting: Meeting) -> list[rules.Mark]:
    return [rules.Mark(row.user_id, row.present, row.at) for row in await office.db.presence_marks(meeting.id)]
