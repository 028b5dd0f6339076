"""The meeting itself: who is present, opening it on its day, check-in, closing it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.meeting_rules import presiding_of, quorum_needed
from bot.events import Button, Reply
from bot.i18n import translator
from bot.services.meetings import approval, voting
from bot.services.meetings import minutes as proceedings
from bot.services.meetings.common import Office, Refusal
from bot.services.meetings.membership import member_of, organizer_of
from bot.services.meetings.replies import _date, group_name, payload
from bot.services.meetings.timing import local_day
from storage.expert_models import GroupMember, Meeting, Protocol
from storage.models import User


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


async def start(office: Office, by: User, meeting: Meeting) -> None:
    """Open the meeting on its day: members get a check-in button; the secretary may also mark them."""
    secretary = await organizer_of(office, by, meeting.group_id)
    if meeting.status != "scheduled" or meeting.format == "absentee":
        raise Refusal("meeting.not_editable")
    if local_day(office.now, office.zone) < local_day(meeting.starts_at, office.zone):
        raise Refusal("meeting.too_early", date=_date(office.settings, meeting.starts_at))
    meeting.status, meeting.started_at = "in_progress", office.now
    meeting.secretary_id = by.id if secretary.role == "secretary" else await _secretary_id(office, meeting)
    for member in await office.db.members(meeting.group_id):
        t = translator(member.user.language)
        reply = Reply(text=t("meeting.started", group=group_name(office.settings, meeting.group_id,
                                                                 member.user.language)),
                      buttons=[[Button(t("meeting.checkin_button"), payload("checkin", meeting.id))]])
        await office.tell(member.user, reply, f"mt{meeting.id}:started:{member.user_id}", group=meeting.group_id)


async def _secretary_id(office: Office, meeting: Meeting) -> int | None:
    secretaries = await office.db.holders(meeting.group_id, "secretary")
    return secretaries[0].user_id if secretaries else meeting.created_by_id


async def check_in(office: Office, user: User, meeting_id: int) -> Meeting:
    meeting = await office.db.meeting(meeting_id)
    if meeting is None:
        raise Refusal("meeting.not_found")
    await member_of(office, user, meeting.group_id)
    if meeting.status != "in_progress" or meeting.format == "absentee":
        raise Refusal("meeting.not_running")
    row = await office.db.attendance_of(meeting.id, user.id)
    if row.present:
        raise Refusal("meeting.already_checked_in")
    await proceedings.mark(office, meeting, user.id, True, user.id)
    return meeting


async def toggle_presence(office: Office, by: User, meeting: Meeting, user_id: int) -> bool:
    """The secretary marks a member present or absent; True when now present."""
    await organizer_of(office, by, meeting.group_id)
    if meeting.status != "in_progress" or meeting.format == "absentee":
        raise Refusal("meeting.not_running")
    if await office.db.membership(meeting.group_id, user_id) is None:
        raise Refusal("experts.not_member")
    row = await office.db.attendance_of(meeting.id, user_id)
    await proceedings.mark(office, meeting, user_id, not row.present, by.id)
    return row.present


async def finish(office: Office, by: User, meeting: Meeting) -> Protocol:
    """Close the meeting (and any vote still open); the protocol is drafted at once or when the dissent window ends."""
    await organizer_of(office, by, meeting.group_id)
    if meeting.status != "in_progress" or meeting.format == "absentee":
        raise Refusal("meeting.not_running")
    for vote in await office.db.votes(meeting.id):
        if vote.status == "open":
            await voting.close_vote(office, vote)
    present = await roll(office, meeting)
    meeting.presiding_id = meeting.presiding_id or present.presiding
    return await _wrap_up(office, meeting)


async def _wrap_up(office: Office, meeting: Meeting) -> Protocol:
    meeting.status, meeting.finished_at = "finished", office.now
    meeting.secretary_id = meeting.secretary_id or await _secretary_id(office, meeting)
    protocol = Protocol(meeting_id=meeting.id, status="waiting", created_at=office.now)
    await office.db.add(protocol)
    await approval.advance_protocol(office, meeting, protocol)
    return protocol
