"""The protocol's record: whether a dissenting opinion may still come, what the document holds (gathered
from the rows; attendance agrees with the votes), writing it, and the copies of the approved protocol."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import ExpertGroup, Settings
from bot.domain import meeting_rules as rules
from bot.services.meetings import document
from bot.services.meetings.common import Office, member_name, names_by_choice
from bot.services.meetings.notices import ProtocolCopy
from bot.services.meetings.presence import marks_of
from storage.expert_models import AgendaItem, GroupMember, Meeting, MeetingGuest, Protocol, Vote
from storage.models import User


def protocol_dir(settings: Settings, group: ExpertGroup) -> Path:
    """The group's setting, else "protocols/" beside the SQLite database, else in the working directory."""
    if group.protocol_dir:
        return Path(group.protocol_dir).expanduser().resolve()
    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().resolve().parent / "protocols"
    return Path("protocols").resolve()


def approvers(meeting: Meeting) -> set[int]:
    return {uid for uid in (meeting.presiding_id, meeting.secretary_id) if uid is not None}


# --- dissenting opinions still to come ------------------------------------------------------------

async def offered(office: Office, vote: Vote) -> set[int]:
    """Who may state an opinion on this vote: Against an adopted decision."""
    return {b.user_id for b in await office.db.ballots(vote.id) if rules.dissent_offered(vote.result, b.choice)}


async def pending(office: Office, meeting: Meeting) -> bool:
    """True while someone offered a dissent has neither filed nor declined, within ``dissent_hours``."""
    hours = office.group(meeting.group_id).dissent_hours
    for vote in await office.db.votes(meeting.id):
        if vote.status != "closed" or vote.closed_at is None:
            continue
        answered = {d.user_id for d in await office.db.dissents([vote.id])}
        if rules.dissent_pending(await offered(office, vote), answered, vote.closed_at, office.now, hours):
            return True
    return False


# --- the protocol's record -----------------------------------------------------------------------

async def record(office: Office, meeting: Meeting, protocol: Protocol) -> document.ProtocolRecord:
    """Everything the document needs, gathered from the rows; attendance agrees with the votes."""
    members = list(await office.db.members(meeting.group_id))
    by_user = {member.user_id: member for member in members}
    group = office.group(meeting.group_id)
    marks = await marks_of(office, meeting)
    votes = {v.item_id: v for v in await office.db.votes(meeting.id)}
    voters: set[int] = set()
    items, previous = [], None
    for item in meeting.items:
        vote = votes.get(item.id)
        ballots = list(await office.db.ballots(vote.id)) if vote is not None else []
        taking_part = [b for b in ballots if b.choice is not None] if meeting.format == "absentee" else ballots
        voters |= {b.user_id for b in taking_part}
        changes = []
        if vote is not None and previous is not None and meeting.format != "absentee":
            changes = [document.Change(_name(by_user, c.user_id), c.present, c.at.astimezone(office.zone))
                       for c in rules.changes_between(marks, previous, vote.opened_at)]
        items.append(await _item_record(office, item, vote, by_user, changes))
        previous = vote.opened_at if vote is not None else previous
    present, absent = rules.split_attendance([mm.user_id for mm in members], marks, voters)
    presiding = by_user.get(meeting.presiding_id or -1)
    return document.ProtocolRecord(
        group=group.name, number=protocol.number, format=meeting.format,
        starts_at=meeting.starts_at.astimezone(office.zone), place=meeting.place,
        presiding=member_name(presiding) if presiding else "—", presiding_role=presiding.role if presiding else "",
        secretary=_name(by_user, meeting.secretary_id), members=len(members),
        needed=rules.quorum_needed(len(members), group.quorum), present=[_name(by_user, u) for u in present],
        absent=[_name(by_user, u) for u in absent], items=items,
        guests=[_guest_line(g) for g in await office.db.guests(meeting.id)],
        approvals=_approvals(office, meeting, protocol, by_user))


def _name(by_user: dict[int, GroupMember], user_id: int | None) -> str:
    return member_name(by_user.get(user_id or -1)) if user_id is not None and user_id in by_user else "—"


def _guest_line(guest: MeetingGuest) -> str:
    return f"{guest.full_name} ({guest.position})" if guest.position else guest.full_name


def _approvals(office: Office, meeting: Meeting, protocol: Protocol,
               by_user: dict[int, GroupMember]) -> list[tuple[str, str, datetime | None]]:
    zone = office.zone
    rows = []
    for role, user_id, at in (("presiding", meeting.presiding_id, protocol.presiding_approved_at),
                              ("secretary", meeting.secretary_id, protocol.secretary_approved_at)):
        name = rules.short_name(_name(by_user, user_id))
        rows.append((role, name, at.astimezone(zone) if at is not None else None))
    return rows


async def _item_record(office: Office, item: AgendaItem, vote: Vote | None, by_user: dict[int, GroupMember],
                       changes: list[document.Change]) -> document.ItemRecord:
    if vote is None or vote.status != "closed":
        return document.ItemRecord(item.position, item.title, decision=item.decision, speaker=item.speaker,
                                   changes=changes)
    ballots = await office.db.ballots(vote.id)
    choices = {b.user_id: b.choice for b in ballots}
    named = names_by_choice(list(by_user.values()), choices)
    dissents = [(member_name(by_user.get(d.user_id)), d.text) for d in await office.db.dissents([vote.id])
                if not d.declined]
    return document.ItemRecord(
        item.position, item.title, decision=item.decision, speaker=item.speaker, changes=changes, result=vote.result,
        votes_for=named["for"], against=named["against"], abstain=named["abstain"],
        silent=[] if vote.absentee else named["none"], by_casting_vote=vote.by_casting_vote, dissents=dissents,
        counted=vote.counted, needed=rules.majority_needed(vote.counted),
        presiding_choice=choices.get(vote.presiding_id or -1) or "")


async def render(office: Office, meeting: Meeting, protocol: Protocol) -> None:
    """(Re)write the document: after drafting, after each approval, after a correction."""
    path = protocol_dir(office.settings, office.group(meeting.group_id)) / \
        f"protocol_{meeting.group_id}_{meeting.id}.docx"
    protocol.path = str(await asyncio.to_thread(office.wording.protocol, await record(office, meeting, protocol), path))


async def send_copies(office: Office, meeting: Meeting, protocol: Protocol) -> None:
    """The approved protocol to every member and every invited person who has the bot."""
    notice = ProtocolCopy(meeting, protocol)
    # Members are re-checked when sent (one removed meanwhile gets nothing); guests are no group's members.
    people: list[tuple[str, User, str | None]] = [(f"{mm.user_id}", mm.user, meeting.group_id)
                                                  for mm in await office.db.members(meeting.group_id)]
    for guest in await office.db.guests(meeting.id):
        user = await office.repo.users.get(guest.user_id) if guest.user_id else None
        if user is not None:
            people.append((f"g{guest.id}", user, None))
    for tag, user, group in people:
        await office.tell(user, notice, f"prot{protocol.id}:sent:{tag}", group=group)
