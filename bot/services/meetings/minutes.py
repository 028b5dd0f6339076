"""From the meeting to the protocol: leaving the meeting, declining a dissenting opinion, sending the draft
back for correction and resubmitting it, the secretary's reminder, the public summary's outcomes.

The record, its document and the copies are ``record``; attendance marks are ``presence``. Services flush;
the caller commits.
"""

from __future__ import annotations

from datetime import date

from bot.services.meetings import approval, voting
from bot.services.meetings.common import NAME_MIN, Office, Refusal, _stamp, member_name, running
from bot.services.meetings.membership import member_of
from bot.services.meetings.notices import CorrectionReminder, Overdue, ProtocolForApproval, ProtocolReturned
from bot.services.meetings.presence import mark, marks_of
from bot.services.meetings.record import approvers, offered, pending, record, render, send_copies
from storage.expert_models import AgendaItem, Dissent, Meeting, Protocol, Vote
from storage.models import User

__all__ = ["COMMENT_MAX", "decline", "leave", "mark", "marks_of", "offered", "outcomes", "pending", "record",
           "remind_correction", "render", "resubmit", "send_back", "send_copies"]

COMMENT_MAX = 2000


async def leave(office: Office, user: User, meeting_id: int) -> Meeting:
    """A member leaves the meeting: from now on no ballot for them (the secretary may also mark it)."""
    meeting = await office.db.meeting(meeting_id)
    if meeting is None:
        raise Refusal("meeting.not_found")
    await member_of(office, user, meeting.group_id)
    running(meeting)
    if not (await office.db.attendance_of(meeting.id, user.id)).present:
        raise Refusal("meeting.not_present")
    await mark(office, meeting, user.id, False, user.id)
    return meeting


# --- dissenting opinions -------------------------------------------------------------------------

async def decline(office: Office, user: User, vote_id: int) -> Vote:
    """"Без особого мнения": answered; the protocol no longer waits for this member."""
    vote = await voting.may_dissent(office, user, vote_id)
    existing = await office.db.dissent(vote.id, user.id)
    if existing is not None and not existing.declined:
        raise Refusal("vote.dissent_already_filed")
    if existing is None:
        await office.db.add(Dissent(vote_id=vote.id, user_id=user.id, text="", declined=True, at=office.now))
    await _advance(office, vote)
    return vote


async def _advance(office: Office, vote: Vote) -> None:
    meeting = await office.db.meeting(vote.meeting_id)
    protocol = await office.db.protocol_of(vote.meeting_id)
    if meeting is not None and protocol is not None:
        await approval.advance_protocol(office, meeting, protocol)


# --- sending back, correcting --------------------------------------------------------------------

async def send_back(office: Office, by: User, protocol_id: int, comment: str) -> Protocol:
    """The presiding member or the secretary returns the draft with a comment; approvals start over and the
    secretary corrects it."""
    protocol = await office.db.protocol_for_update(protocol_id)
    meeting = await office.db.meeting(protocol.meeting_id) if protocol else None
    if protocol is None or meeting is None or by.id not in approvers(meeting):
        raise Refusal("protocol.not_approver")
    if protocol.status != "drafted":
        raise Refusal("protocol.already_sent" if protocol.status == "sent" else "protocol.not_ready")
    cleaned = " ".join(comment.split())
    if not NAME_MIN <= len(cleaned) <= COMMENT_MAX:
        raise Refusal("protocol.comment_invalid", max=COMMENT_MAX)
    protocol.status, protocol.returned_at, protocol.returned_by_id = "returned", office.now, by.id
    protocol.return_comment = cleaned
    protocol.presiding_approved_at = protocol.secretary_approved_at = None
    members = {mm.user_id: mm for mm in await office.db.members(meeting.group_id)}
    for user_id in dict.fromkeys(filter(None, (meeting.secretary_id, *approvers(meeting)))):
        user = await office.repo.users.get(user_id)
        if user is None or user_id == by.id:
            continue
        notice = ProtocolReturned(protocol, member_name(members.get(by.id)), cleaned,
                                  correct=user_id == meeting.secretary_id)
        await office.tell(user, notice, f"prot{protocol.id}:back:{_stamp(office.now)}:{user_id}")
    return protocol


async def resubmit(office: Office, by: User, protocol_id: int) -> Protocol:
    """The secretary has corrected the draft: it is written again and goes back for approval."""
    protocol = await office.db.protocol_for_update(protocol_id)
    meeting = await office.db.meeting(protocol.meeting_id) if protocol else None
    if protocol is None or meeting is None or by.id != meeting.secretary_id:
        raise Refusal("protocol.not_secretary")
    if protocol.status != "returned":
        raise Refusal("protocol.not_returned")
    protocol.status, protocol.drafted_at = "drafted", office.now
    await render(office, meeting, protocol)
    for user_id in approvers(meeting):
        user = await office.repo.users.get(user_id)
        if user is not None:
            await office.tell(user, ProtocolForApproval(meeting, protocol),
                              f"prot{protocol.id}:approve:{_stamp(office.now)}:{user_id}")
    return protocol


async def remind_correction(office: Office, meeting: Meeting, protocol: Protocol, due: date, today: date) -> None:
    """Once the term has come, the secretary is reminded each working day of a protocol sent back."""
    secretary = await office.repo.users.get(meeting.secretary_id) if meeting.secretary_id else None
    if secretary is None:
        return
    overdue = Overdue(due, today, office.calendar.working_days_between(due, today),
                      office.group(meeting.group_id).protocol_days)
    await office.tell(secretary, CorrectionReminder(protocol, overdue), f"prot{protocol.id}:fixrem:{today.isoformat()}",
                      once=True)


# --- the public summary -------------------------------------------------------------------------

async def outcomes(office: Office, meeting: Meeting) -> list[tuple[AgendaItem, str]]:
    """Each item's outcome for the region's website, no names: "adopted", "not_adopted" or "not_voted"."""
    votes = {v.item_id: v for v in await office.db.votes(meeting.id)}
    found = []
    for item in meeting.items:
        vote = votes.get(item.id)
        if vote is None or vote.status != "closed":
            found.append((item, "not_voted"))
        else:
            found.append((item, "adopted" if vote.result == "adopted" else "not_adopted"))
    return found
