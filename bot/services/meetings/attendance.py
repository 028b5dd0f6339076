"""The meeting itself: opening it on its day, check-in, marking presence, closing it."""

from __future__ import annotations

from bot.services.meetings import approval, voting
from bot.services.meetings.common import Office, Refusal, running
from bot.services.meetings.membership import member_of, organizer_of
from bot.services.meetings.notices import MeetingStarted
from bot.services.meetings.presence import Roll, mark, roll, secretary_id
from bot.services.meetings.timing import local_day
from storage.expert_models import Meeting, Protocol
from storage.models import User

__all__ = ["Roll", "check_in", "finish", "roll", "start", "toggle_presence", "wrap_up"]


async def start(office: Office, by: User, meeting: Meeting) -> None:
    """Open the meeting on its day: members get a check-in button; the secretary may also mark them."""
    secretary = await organizer_of(office, by, meeting.group_id)
    if meeting.status != "scheduled" or meeting.format == "absentee":
        raise Refusal("meeting.not_editable")
    if local_day(office.now, office.zone) < local_day(meeting.starts_at, office.zone):
        raise Refusal("meeting.too_early", date=local_day(meeting.starts_at, office.zone))
    meeting.status, meeting.started_at = "in_progress", office.now
    meeting.secretary_id = by.id if secretary.role == "secretary" else await secretary_id(office, meeting)
    for member in await office.db.members(meeting.group_id):
        await office.tell(member.user, MeetingStarted(meeting),
                          f"mt{meeting.id}:started:{member.user_id}", group=meeting.group_id)


async def check_in(office: Office, user: User, meeting_id: int) -> Meeting:
    meeting = await office.db.meeting(meeting_id)
    if meeting is None:
        raise Refusal("meeting.not_found")
    await member_of(office, user, meeting.group_id)
    running(meeting)
    row = await office.db.attendance_of(meeting.id, user.id)
    if row.present:
        raise Refusal("meeting.already_checked_in")
    await mark(office, meeting, user.id, True, user.id)
    return meeting


async def toggle_presence(office: Office, by: User, meeting: Meeting, user_id: int) -> bool:
    """The secretary marks a member present or absent; True when now present."""
    await organizer_of(office, by, meeting.group_id)
    running(meeting)
    if await office.db.membership(meeting.group_id, user_id) is None:
        raise Refusal("experts.not_member")
    row = await office.db.attendance_of(meeting.id, user_id)
    await mark(office, meeting, user_id, not row.present, by.id)
    return row.present


async def finish(office: Office, by: User, meeting: Meeting) -> Protocol:
    """Close the meeting (and any vote still open); the protocol is drafted at once or when the dissent window ends."""
    await organizer_of(office, by, meeting.group_id)
    running(meeting)
    for vote in await office.db.votes(meeting.id):
        if vote.status == "open":
            await voting.close_vote(office, vote)
    present = await roll(office, meeting)
    meeting.presiding_id = meeting.presiding_id or present.presiding
    return await wrap_up(office, meeting)


async def wrap_up(office: Office, meeting: Meeting) -> Protocol:
    meeting.status, meeting.finished_at = "finished", office.now
    meeting.secretary_id = meeting.secretary_id or await secretary_id(office, meeting)
    protocol = Protocol(meeting_id=meeting.id, status="waiting", created_at=office.now)
    await office.db.add(protocol)
    await approval.advance_protocol(office, meeting, protocol)
    return protocol
