"""From the meeting to the protocol: attendance marks, the result's explanation, dissenting opinions,
the protocol's record, approval in the bot, sending back for correction, copies, the public summary.

Uses the voting and approval services (``bot.services.meetings``) by module, as they use this one: each only calls
the other at run time. Services flush; the caller commits.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from bot.domain import meeting_rules as rules
from bot.events import Button, Reply
from bot.i18n import Translator, translator
from bot.services.meetings import approval, document, voting
from bot.services.meetings.common import NAME_MIN, Office, Refusal, _stamp
from bot.services.meetings.membership import member_of
from bot.services.meetings.replies import (
    _date,
    _names_by_choice,
    approval_reply,
    group_name,
    member_name,
    payload,
    protocol_file,
)
from storage.expert_models import AgendaItem, Dissent, GroupMember, Meeting, MeetingGuest, PresenceMark, Protocol, Vote
from storage.models import User

COMMENT_MAX = 2000


# --- attendance as it happened ---------------------------------------------------------------------

async def mark(office: Office, meeting: Meeting, user_id: int, present: bool, by_id: int | None) -> None:
    """Record an arrival or a departure with its time, beside the member's current state."""
    row = await office.db.attendance_of(meeting.id, user_id)
    row.present, row.present_at, row.marked_by_id = present, office.now, by_id
    await office.db.add(PresenceMark(meeting_id=meeting.id, user_id=user_id, present=present, at=office.now,
                                     marked_by_id=by_id))


async def leave(office: Office, user: User, meeting_id: int) -> Meeting:
    """A member leaves the meeting: from now on no ballot for them (the secretary may also mark it)."""
    meeting = await office.db.meeting(meeting_id)
    if meeting is None:
        raise Refusal("meeting.not_found")
    await member_of(office, user, meeting.group_id)
    if meeting.status != "in_progress" or meeting.format == "absentee":
        raise Refusal("meeting.not_running")
    if not (await office.db.attendance_of(meeting.id, user.id)).present:
        raise Refusal("meeting.not_present")
    await mark(office, meeting, user.id, False, user.id)
    return meeting


async def marks_of(office: Office, meeting: Meeting) -> list[rules.Mark]:
    return [rules.Mark(row.user_id, row.present, row.at) for row in await office.db.presence_marks(meeting.id)]


# --- the result, explained -----------------------------------------------------------------------

def explanation(t: Translator, vote: Vote, presiding: str, presiding_choice: str | None) -> str:
    """Which rule decided: "Решение принимается большинством голосов присутствующих: нужно 3 из 5, «за» — 2"
    and, on a tie, that the presiding member's vote decided."""
    if vote.result == "no_quorum":
        return ""
    key = "vote.rule_majority_absentee" if vote.absentee else "vote.rule_majority"
    lines = [t(key, needed=rules.majority_needed(vote.counted), counted=vote.counted, votes_for=vote.votes_for)]
    if vote.by_casting_vote:
        lines.append(t("vote.rule_casting", votes_for=vote.votes_for, against=vote.votes_against, name=presiding,
                       choice=t(f"vote.choice_{presiding_choice or 'for'}")))
    return "\n".join(lines)


# --- dissenting opinions -------------------------------------------------------------------------

def dissent_buttons(t: Translator, vote_id: int) -> list[list[Button]]:
    return [[Button(t("vote.dissent_button"), payload("dissent", vote_id)),
             Button(t("vote.dissent_decline_button"), payload("nodissent", vote_id))]]


async def offered(office: Office, vote: Vote) -> set[int]:
    """Who may state an opinion on this vote: Against an adopted decision."""
    return {b.user_id for b in await office.db.ballots(vote.id) if rules.dissent_offered(vote.result, b.choice)}


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
    named = _names_by_choice(list(by_user.values()), choices)
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
    path = approval.protocol_dir(office.settings, office.group(meeting.group_id)) / \
        f"protocol_{meeting.group_id}_{meeting.id}.docx"
    protocol.path = str(await asyncio.to_thread(document.render, await record(office, meeting, protocol), path))


# --- approval, sending back, copies ----------------------------------------------------------------

async def send_back(office: Office, by: User, protocol_id: int, comment: str) -> Protocol:
    """The presiding member or the secretary returns the draft with a comment; approvals start over and the
    secretary corrects it."""
    protocol = await office.db.protocol_for_update(protocol_id)
    meeting = await office.db.meeting(protocol.meeting_id) if protocol else None
    if protocol is None or meeting is None or by.id not in approval.approvers(meeting):
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
    for user_id in dict.fromkeys(filter(None, (meeting.secretary_id, *approval.approvers(meeting)))):
        user = await office.repo.users.get(user_id)
        if user is None or user_id == by.id:
            continue
        t = translator(user.language)
        buttons = ([[Button(t("protocol.correct_button"), payload("pfix", protocol.id))]]
                   if user_id == meeting.secretary_id else [])
        reply = Reply(text=t("protocol.returned", number=protocol.number, name=member_name(members.get(by.id)),
                             comment=cleaned), buttons=buttons)
        await office.tell(user, reply, f"prot{protocol.id}:back:{_stamp(office.now)}:{user_id}")
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
    for user_id in approval.approvers(meeting):
        user = await office.repo.users.get(user_id)
        if user is not None:
            await office.tell(user, approval_reply(office.settings, user.language, meeting, protocol),
                              f"prot{protocol.id}:approve:{_stamp(office.now)}:{user_id}")
    return protocol


async def send_copies(office: Office, meeting: Meeting, protocol: Protocol) -> None:
    """The approved protocol to every member and every invited person who has the bot."""
    file = protocol_file(office.settings, meeting, protocol)
    # Members are re-checked when sent (one removed meanwhile gets nothing); guests are no group's members.
    people: list[tuple[str, User, str | None]] = [(f"{mm.user_id}", mm.user, meeting.group_id)
                                                  for mm in await office.db.members(meeting.group_id)]
    for guest in await office.db.guests(meeting.id):
        user = await office.repo.users.get(guest.user_id) if guest.user_id else None
        if user is not None:
            people.append((f"g{guest.id}", user, None))
    for tag, user, group in people:
        t = translator(user.language)
        reply = Reply(text=t("protocol.sent", group=group_name(office.settings, meeting.group_id, user.language),
                             date=_date(office.settings, meeting.starts_at), number=protocol.number),
                      attachments=[file])
        await office.tell(user, reply, f"prot{protocol.id}:sent:{tag}", group=group)


async def remind_correction(office: Office, meeting: Meeting, protocol: Protocol, due: date, today: date) -> None:
    """Once the term has come, the secretary is reminded each working day of a protocol sent back."""
    secretary = await office.repo.users.get(meeting.secretary_id) if meeting.secretary_id else None
    if secretary is None:
        return
    t = translator(secretary.language)
    note = overdue_note(t, due, today, office.calendar.working_days_between(due, today),
                        office.group(meeting.group_id).protocol_days)
    reply = Reply(text="\n\n".join([note, t("protocol.returned_pending", number=protocol.number,
                                               comment=protocol.return_comment)]),
                  buttons=[[Button(t("protocol.correct_button"), payload("pfix", protocol.id))]])
    await office.tell(secretary, reply, f"prot{protocol.id}:fixrem:{today.isoformat()}", once=True)


def overdue_note(t: Translator, due: date, today: date, working_days_late: int, days: int) -> str:
    if today <= due:
        return t("protocol.sign_due", due=due.strftime("%d.%m.%Y"), days=days)
    return t("protocol.reminder_overdue", due=due.strftime("%d.%m.%Y"), days=days, late=working_days_late)


# --- the public summary -------------------------------------------------------------------------

async def public_summary(office: Office, meeting: Meeting, language: str = "ru") -> str:
    """Date, agenda and decisions, no names: what the region's website publishes after a meeting."""
    t = translator(language)
    votes = {v.item_id: v for v in await office.db.votes(meeting.id)}
    lines = [t("summary.title", group=group_name(office.settings, meeting.group_id, language),
               date=_date(office.settings, meeting.starts_at),
               format=t(f"protocol.doc_format_{meeting.format}"))]
    for item in meeting.items:
        vote = votes.get(item.id)
        if vote is None or vote.status != "closed":
            outcome = t("summary.not_voted")
        elif vote.result == "adopted":
            outcome = t("summary.adopted", decision=item.decision)
        else:
            outcome = t("summary.not_adopted")
        lines.append(t("summary.item", n=item.position, title=item.title, outcome=outcome))
    return "\n\n".join(lines)

