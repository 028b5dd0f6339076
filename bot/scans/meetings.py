"""The expert groups' timed work the scheduler runs (``SCANS``): materials, reminders, quorum alerts, the
quarter, votes and protocols. Each scan is one transaction; the meeting services say what is owed and the
presenter (``bot.presenters.meetings.WORDING``, given to the unit of work) words it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.presenters.meetings import WORDING
from bot.services.calendar import ProductionCalendar
from bot.services.meetings import materials as meeting_materials
from bot.services.meetings import minutes as proceedings
from bot.services.meetings.approval import advance_protocol
from bot.services.meetings.attendance import wrap_up
from bot.services.meetings.common import Office, _stamp
from bot.services.meetings.membership import leaders
from bot.services.meetings.notices import (
    BallotNotice,
    MaterialsMissing,
    MeetingNotice,
    Overdue,
    ProtocolForApproval,
    QuarterReminder,
    QuorumAlert,
)
from bot.services.meetings.scheduling import quorum_forecast
from bot.services.meetings.timing import (
    at_local,
    local_day,
    materials_days,
    parse_offset,
    protocol_due_day,
    quarter_of,
    quarter_reminder_day,
)
from bot.services.meetings.voting import close_vote, item_of
from storage.expert_models import Meeting, Protocol
from storage.repositories import Repositories

Sessionmaker = async_sessionmaker[AsyncSession]


async def _run(sessionmaker: Sessionmaker, settings: Settings, calendar: ProductionCalendar, now: datetime,
               work: Any) -> int:
    async with sessionmaker() as session, session.begin():
        office = Office(Repositories(session), settings, calendar, now, words=WORDING)
        await work(office)
        return office.queued


async def scan_materials(sessionmaker: Sessionmaker, settings: Settings, calendar: ProductionCalendar,
                         now: datetime) -> int:
    """N+1 working days before: remind the secretary of items without materials; N days before:
    send what is attached to every member. (An absentee vote sends its materials with the ballots.)"""
    async def work(office: Office) -> None:
        for meeting in await office.db.meetings_by_status(("scheduled", "in_progress")):
            if meeting.format != "absentee" and meeting.starts_at > now and meeting.group_id in settings.groups:
                await _materials_of(office, meeting)
    return await _run(sessionmaker, settings, calendar, now, work)


async def _materials_of(office: Office, meeting: Meeting) -> None:
    group = office.group(meeting.group_id)
    remind_day, send_day = materials_days(local_day(meeting.starts_at, office.zone), group.materials_lead_days,
                                          office.calendar)
    materials = await office.db.materials(meeting.id)
    send_at = office.office_open(send_day)
    if meeting.materials_sent_at is None and materials and office.now >= send_at:
        meeting.materials_sent_at = office.now
        await meeting_materials.send(office, meeting, materials, "auto")
        return
    lacking = [i for i in meeting.items if not any(m.item_id == i.id for m in materials)]
    if meeting.materials_sent_at is None and lacking and office.now >= office.office_open(remind_day):
        notice = MaterialsMissing(meeting, lacking, group.materials_lead_days)
        for secretary in await office.db.holders(meeting.group_id, "secretary"):
            await office.tell(secretary.user, notice, f"mt{meeting.id}:{_stamp(meeting.starts_at)}:matrem:"
                              f"{secretary.user_id}", once=True, group=meeting.group_id)


async def scan_member_reminders(sessionmaker: Sessionmaker, settings: Settings, calendar: ProductionCalendar,
                                now: datetime) -> int:
    """One day and one hour before (``member_reminders``), to everyone who has not declined."""
    async def work(office: Office) -> None:
        for meeting in await office.db.meetings_by_status(("scheduled",)):
            if meeting.format != "absentee" and meeting.starts_at > now and meeting.group_id in settings.groups:
                await _remind_members(office, meeting)
    return await _run(sessionmaker, settings, calendar, now, work)


async def _remind_members(office: Office, meeting: Meeting) -> None:
    declined = {r.user_id for r in await office.db.attendance(meeting.id) if r.answer == "no"}
    for offset in office.group(meeting.group_id).member_reminders:
        due = meeting.starts_at - parse_offset(offset)
        # A reminder due before the notice itself would only repeat it.
        if not meeting.notified_at < due <= office.now:
            continue
        for member in await office.db.members(meeting.group_id):
            if member.user_id in declined:
                continue
            await office.tell(member.user, MeetingNotice(meeting, "reminder"),
                              f"mt{meeting.id}:{_stamp(meeting.starts_at)}:rem{offset}:"
                              f"{member.user_id}", once=True, group=meeting.group_id)


async def scan_quorum_alerts(sessionmaker: Sessionmaker, settings: Settings, calendar: ProductionCalendar,
                             now: datetime) -> int:
    """A working day before, a forecast below quorum alerts the chair and the secretary."""
    async def work(office: Office) -> None:
        for meeting in await office.db.meetings_by_status(("scheduled",)):
            if meeting.format != "absentee" and meeting.starts_at > now and meeting.group_id in settings.groups:
                await _alert_quorum(office, meeting)
    return await _run(sessionmaker, settings, calendar, now, work)


async def _alert_quorum(office: Office, meeting: Meeting) -> None:
    group = office.group(meeting.group_id)
    day = office.calendar.subtract_working_days(local_day(meeting.starts_at, office.zone), group.quorum_alert_days)
    if office.now < office.office_open(day):
        return
    outlook, _ = await quorum_forecast(office, meeting)
    if outlook.yes >= outlook.needed:
        return
    for leader in await leaders(office, meeting.group_id):
        await office.tell(leader.user, QuorumAlert(meeting, outlook),
                          f"mt{meeting.id}:{_stamp(meeting.starts_at)}:quorum:{leader.user_id}",
                          once=True, group=meeting.group_id)


async def scan_quarter_reminders(sessionmaker: Sessionmaker, settings: Settings, calendar: ProductionCalendar,
                                 now: datetime) -> int:
    """НСИ: meetings at least once a quarter. No meeting in this quarter N days before its end: remind."""
    async def work(office: Office) -> None:
        today = local_day(now, office.zone)
        start, end = quarter_of(today)
        for group_id, group in settings.groups.items():
            if now < office.office_open(quarter_reminder_day(today, group.quarter_reminder_days, calendar)):
                continue
            span = (at_local(start, time(0), office.zone), at_local(end + timedelta(days=1), time(0), office.zone))
            if await office.db.count_meetings(group_id, *span):
                continue
            quarter = (start.month - 1) // 3 + 1
            for leader in await leaders(office, group_id):
                await office.tell(leader.user, QuarterReminder(group_id, quarter, start.year, end),
                                  f"grp:{group_id}:{start.year}q{quarter}:{leader.user_id}",
                                  once=True, group=group_id)
    return await _run(sessionmaker, settings, calendar, now, work)


async def scan_votes(sessionmaker: Sessionmaker, settings: Settings, calendar: ProductionCalendar,
                     now: datetime) -> int:
    """Close votes whose time has come; remind absentee voters who have not voted; an absentee vote
    whose ballots are all closed is finished and its protocol drafted."""
    async def work(office: Office) -> None:
        for due in await office.db.votes_due(now):
            vote = await office.db.vote_for_update(due.id)
            if vote is not None and vote.status == "open":
                await close_vote(office, vote)
        for meeting in await office.db.meetings_by_status(("in_progress",)):
            if meeting.format == "absentee" and meeting.group_id in settings.groups:
                await _absentee_round(office, meeting)
    return await _run(sessionmaker, settings, calendar, now, work)


async def _absentee_round(office: Office, meeting: Meeting) -> None:
    votes = await office.db.votes(meeting.id)
    if votes and all(v.status != "open" for v in votes):
        await wrap_up(office, meeting)
        return
    members = {m.user_id: m for m in await office.db.members(meeting.group_id)}
    for offset in office.group(meeting.group_id).absentee_reminders:
        due = meeting.starts_at - parse_offset(offset)
        if not meeting.notified_at < due <= office.now:
            continue
        for vote in votes:
            item = await item_of(office, vote)
            for ballot in await office.db.ballots(vote.id):
                member = members.get(ballot.user_id)
                if ballot.choice is not None or vote.status != "open" or member is None:
                    continue
                await office.tell(member.user, BallotNotice(meeting, item, vote, reminder=True),
                                  f"vote{vote.id}:{_stamp(meeting.starts_at)}:rem{offset}:"
                                  f"{ballot.user_id}", once=True, group=meeting.group_id)


async def scan_protocols(sessionmaker: Sessionmaker, settings: Settings, calendar: ProductionCalendar,
                         now: datetime) -> int:
    """Draft protocols whose dissent window has ended; remind the signers each working day once the
    term (``protocol_days`` working days after the meeting) has come and it is still unsigned."""
    async def work(office: Office) -> None:
        for protocol in await office.db.protocols_by_status(("waiting", "drafted", "returned")):
            meeting = await office.db.meeting(protocol.meeting_id)
            if meeting is None or meeting.group_id not in settings.groups:
                continue
            if protocol.status == "waiting":
                await advance_protocol(office, meeting, protocol)
            else:
                await _remind_signers(office, meeting, protocol)
    return await _run(sessionmaker, settings, calendar, now, work)


async def _remind_signers(office: Office, meeting: Meeting, protocol: Protocol) -> None:
    group = office.group(meeting.group_id)
    today = local_day(office.now, office.zone)
    due = protocol_due_day(local_day(meeting.starts_at, office.zone), group.protocol_days, office.calendar)
    if today < due or not office.calendar.is_working_day(today) or office.now < office.office_open(today):
        return
    if protocol.status == "returned":  # sent back: the correction is what is late
        await proceedings.remind_correction(office, meeting, protocol, due, today)
        return
    pending = []
    if meeting.presiding_id is not None and protocol.presiding_approved_at is None:
        pending.append(meeting.presiding_id)
    if meeting.secretary_id is not None and protocol.secretary_approved_at is None:
        pending.append(meeting.secretary_id)
    for user_id in dict.fromkeys(pending):
        user = await office.repo.users.get(user_id)
        if user is None:
            continue
        overdue = Overdue(due, today, office.calendar.working_days_between(due, today), group.protocol_days)
        await office.tell(user, ProtocolForApproval(meeting, protocol, overdue),
                          f"prot{protocol.id}:rem:{today.isoformat()}:{user_id}", once=True,
                          group=meeting.group_id)


SCANS = (scan_materials, scan_member_reminders, scan_quorum_alerts, scan_quarter_reminders, scan_votes,
         scan_protocols)
