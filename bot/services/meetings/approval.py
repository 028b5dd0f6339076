"""The protocol after the meeting: drafting it once no dissent can come, and its approval by the
presiding member and the secretary."""

from __future__ import annotations

from datetime import date, time

from bot.domain.meeting_rules import presiding_of
from bot.services.meetings import record as proceedings
from bot.services.meetings.common import Office, Refusal
from bot.services.meetings.notices import ProtocolForApproval
from bot.services.meetings.record import approvers, protocol_dir
from bot.services.meetings.timing import at_local, local_day
from storage.expert_models import Meeting, Protocol
from storage.models import User

__all__ = ["advance_protocol", "approve", "approvers", "protocol_dir"]


async def advance_protocol(office: Office, meeting: Meeting, protocol: Protocol) -> None:
    """Draft the protocol once no dissenting opinion can still come, and send it for signing."""
    if protocol.status != "waiting" or await proceedings.pending(office, meeting):
        return
    if meeting.presiding_id is None:
        # Nobody presided over a vote: the chair signs (or the deputy when the post is vacant).
        meeting.presiding_id = presiding_of((m.user_id, m.role) for m in await office.db.members(meeting.group_id))
    year_start = at_local(date(local_day(meeting.starts_at, office.zone).year, 1, 1), time(0), office.zone)
    protocol.number = await office.db.finished_before(meeting.group_id, year_start, meeting) + 1
    await proceedings.render(office, meeting, protocol)
    protocol.status, protocol.drafted_at = "drafted", office.now
    for user_id in approvers(meeting):
        user = await office.repo.users.get(user_id)
        if user is not None:
            await office.tell(user, ProtocolForApproval(meeting, protocol),
                              f"prot{protocol.id}:approve:{user_id}", group=meeting.group_id)


async def approve(office: Office, user: User, protocol_id: int) -> tuple[Protocol, bool]:
    """The presiding member and the secretary sign; with both, it goes to all members at once
    (НСИ: within 5 working days of signing). Returns (protocol, whether it was sent now)."""
    # Locked: two signers at once would each see the other unsigned, and nobody would send it.
    protocol = await office.db.protocol_for_update(protocol_id)
    meeting = await office.db.meeting(protocol.meeting_id) if protocol else None
    if protocol is None or meeting is None or user.id not in approvers(meeting):
        raise Refusal("protocol.not_approver")
    if protocol.status != "drafted":
        raise Refusal("protocol.already_sent" if protocol.status == "sent" else "protocol.not_ready")
    mine = [signed for uid, signed in ((meeting.presiding_id, protocol.presiding_approved_at),
                                       (meeting.secretary_id, protocol.secretary_approved_at)) if uid == user.id]
    if all(signed is not None for signed in mine):
        raise Refusal("protocol.already_approved")
    if user.id == meeting.presiding_id:
        protocol.presiding_approved_at = office.now
    if user.id == meeting.secretary_id:
        protocol.secretary_approved_at = office.now
    waiting_presiding = meeting.presiding_id is not None and protocol.presiding_approved_at is None
    waiting_secretary = meeting.secretary_id is not None and protocol.secretary_approved_at is None
    if waiting_presiding or waiting_secretary:
        await proceedings.render(office, meeting, protocol)
        return protocol, False
    protocol.approved_at = protocol.sent_at = office.now
    protocol.status = "sent"
    await proceedings.render(office, meeting, protocol)  # the copy carries both approvals
    await proceedings.send_copies(office, meeting, protocol)
    return protocol, True
