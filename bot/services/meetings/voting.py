"""Votes and dissenting opinions: opening a vote, ballots, counting, the result to every member."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.domain import meeting_rules as rules
from bot.domain.meeting_rules import Tally, decide, has_quorum, presiding_of
from bot.services.meetings import approval, materials, presence
from bot.services.meetings.common import (
    CHOICES,
    NAME_MIN,
    VOTE_MINUTES,
    Key,
    Office,
    Refusal,
    member_name,
    names_by_choice,
    running,
)
from bot.services.meetings.membership import member_of
from bot.services.meetings.notices import BallotNotice, VoteResult
from storage.expert_models import AgendaItem, Ballot, Dissent, GroupMember, Meeting, Vote
from storage.models import User


async def open_vote(office: Office, by: User, meeting: Meeting, item_id: int, minutes: int) -> Vote:
    """The presiding member opens an open vote on an item; every member present gets the ballot.
    No quorum, no vote."""
    await member_of(office, by, meeting.group_id)
    await office.db.meeting_for_update(meeting.id)  # two presses at once must not open two votes
    running(meeting)
    present = await presence.roll(office, meeting)
    if not present.quorum:
        raise Refusal("vote.no_quorum", present=len(present.present), needed=present.needed)
    if present.presiding != by.id:
        raise Refusal("vote.not_presiding")
    item = next((i for i in meeting.items if i.id == item_id), None)
    votes = await office.db.votes(meeting.id)
    if item is None or minutes not in VOTE_MINUTES:
        raise Refusal("meeting.not_found")
    if not item.decision.strip():
        raise Refusal("agenda.decision_missing")
    if any(v.item_id == item.id for v in votes):
        raise Refusal("vote.already_held")
    if any(v.status == "open" for v in votes):
        raise Refusal("vote.other_open")
    vote = Vote(meeting_id=meeting.id, item_id=item.id, status="open", absentee=False, presiding_id=by.id,
                members=len(present.members), opened_at=office.now,
                closes_at=office.now + timedelta(minutes=minutes) if minutes else None)
    await office.db.add(vote)
    meeting.presiding_id = by.id
    voters = [m for m in present.members if m.user_id in present.present]
    await _hand_out_ballots(office, meeting, item, vote, voters)
    return vote


async def _open_absentee(office: Office, meeting: Meeting, members: Sequence[GroupMember]) -> None:
    """Absentee voting: a ballot per item to every member, open until the deadline (``starts_at``)."""
    meeting.status, meeting.started_at = "in_progress", office.now
    chair = presiding_of((m.user_id, m.role) for m in members)
    meeting.presiding_id = chair
    meeting.secretary_id = await presence.secretary_id(office, meeting)
    for item in meeting.items:
        vote = Vote(meeting_id=meeting.id, item_id=item.id, status="open", absentee=True, presiding_id=chair,
                    members=len(members), opened_at=office.now, closes_at=meeting.starts_at)
        await office.db.add(vote)
        await _hand_out_ballots(office, meeting, item, vote, members)
    found = await office.db.materials(meeting.id)
    if found:
        meeting.materials_sent_at = office.now
        await materials.send(office, meeting, found, "auto")


async def _hand_out_ballots(office: Office, meeting: Meeting, item: AgendaItem, vote: Vote,
                            voters: Sequence[GroupMember]) -> None:
    for member in voters:
        await office.db.add(Ballot(vote_id=vote.id, user_id=member.user_id))
        await office.tell(member.user, BallotNotice(meeting, item, vote),
                          f"vote{vote.id}:ballot:{member.user_id}", group=meeting.group_id)


@dataclass(frozen=True)
class Cast:
    meeting: Meeting
    item: AgendaItem
    vote: Vote
    choice: str


async def cast(office: Office, user: User, vote_id: int, code: str) -> Cast:
    """A ballot press. Changeable until the vote closes; anyone without a ballot (not a member, absent
    at an in-person vote) is refused and nothing changes."""
    choice = CHOICES.get(code)
    # The row lock orders a ballot and a close: no ballot lands after the count (PostgreSQL; SQLite is serial).
    vote = await office.db.vote_for_update(vote_id) if choice is not None else None
    if choice is None or vote is None:
        raise Refusal("vote.not_found")
    if vote.status != "open" or (vote.closes_at is not None and vote.closes_at <= office.now):
        raise Refusal("vote.closed")
    meeting = await _meeting(office, vote)
    ballot = await office.db.ballot(vote.id, user.id)
    if ballot is None or await office.db.membership(meeting.group_id, user.id) is None:
        raise Refusal("vote.not_eligible")
    if not vote.absentee and not (await office.db.attendance_of(meeting.id, user.id)).present:
        raise Refusal("vote.left_meeting")  # a member who has left cannot vote
    if ballot.choice == choice:
        raise Refusal("vote.same_choice", choice=Key(f"vote.choice_{choice}"))
    ballot.choice, ballot.cast_at = choice, office.now
    return Cast(meeting, await item_of(office, vote), vote, choice)


async def _meeting(office: Office, vote: Vote) -> Meeting:
    meeting = await office.db.meeting(vote.meeting_id)
    assert meeting is not None
    return meeting


async def item_of(office: Office, vote: Vote) -> AgendaItem:
    item = await office.db.item(vote.item_id)
    assert item is not None
    return item


async def close_by_presiding(office: Office, by: User, vote_id: int) -> Vote:
    vote = await office.db.vote_for_update(vote_id)
    if vote is None:
        raise Refusal("vote.not_found")
    if vote.presiding_id != by.id:
        raise Refusal("vote.not_presiding")
    if vote.status != "open":
        raise Refusal("vote.closed")
    await close_vote(office, vote)
    return vote


async def close_vote(office: Office, vote: Vote) -> None:
    """Count, decide, and tell every member the result with names (the vote is open)."""
    ballots = await office.db.ballots(vote.id)
    tally = Tally.of(b.choice for b in ballots)
    meeting = await _meeting(office, vote)
    group = office.group(meeting.group_id)
    # Absentee: those who took part are the ballots cast, and the quorum is counted on them.
    counted = tally.cast if vote.absentee else len(ballots)
    presiding_choice = next((b.choice for b in ballots if b.user_id == vote.presiding_id), None)
    vote.status, vote.closed_at = "closed", office.now
    vote.votes_for, vote.votes_against, vote.votes_abstain, vote.counted = (tally.votes_for, tally.against,
                                                                             tally.abstain, counted)
    if vote.absentee and not has_quorum(counted, vote.members, group.quorum):
        vote.result = "no_quorum"
    else:
        decision = decide(tally, counted, presiding_choice, group.casting_vote, group.tie_rule)
        vote.result = "adopted" if decision.adopted else "rejected"
        vote.by_casting_vote = decision.by_casting_vote
    await _announce_result(office, meeting, vote, ballots)


async def _announce_result(office: Office, meeting: Meeting, vote: Vote, ballots: Sequence[Ballot]) -> None:
    item = await item_of(office, vote)
    members = await office.db.members(meeting.group_id)
    choices = {b.user_id: b.choice for b in ballots}
    by_choice = names_by_choice(members, choices)
    hours = office.group(meeting.group_id).dissent_hours
    presiding = next((member_name(mm) for mm in members if mm.user_id == vote.presiding_id), "—")
    for member in members:
        offered = hours > 0 and rules.dissent_offered(vote.result, choices.get(member.user_id))
        notice = VoteResult(meeting, item, vote, by_choice, presiding, choices.get(vote.presiding_id or -1),
                            dissent_hours=hours if offered else 0)
        await office.tell(member.user, notice, f"vote{vote.id}:result:{member.user_id}", group=meeting.group_id)


# --- dissenting opinions -------------------------------------------------------------------------

async def may_dissent(office: Office, user: User, vote_id: int) -> Vote:
    """Only a member who voted Against, within ``dissent_hours`` of the close, before the protocol is drafted."""
    vote = await office.db.vote(vote_id)
    if vote is None or vote.status != "closed" or vote.closed_at is None:
        raise Refusal("vote.not_found")
    ballot = await office.db.ballot(vote.id, user.id)
    if ballot is None or not rules.dissent_offered(vote.result, ballot.choice):
        raise Refusal("vote.dissent_not_against")
    meeting = await _meeting(office, vote)
    hours = office.group(meeting.group_id).dissent_hours
    protocol = await office.db.protocol_of(meeting.id)
    if office.now >= vote.closed_at + timedelta(hours=hours) or (protocol is not None and protocol.status != "waiting"):
        raise Refusal("vote.dissent_late")
    return vote


async def file_dissent(office: Office, user: User, vote_id: int, text: str) -> Vote:
    vote = await may_dissent(office, user, vote_id)
    cleaned = text.strip()
    if len(cleaned) < NAME_MIN:
        raise Refusal("vote.dissent_empty")
    existing = await office.db.dissent(vote.id, user.id)
    if existing is None:
        await office.db.add(Dissent(vote_id=vote.id, user_id=user.id, text=cleaned, at=office.now))
    else:
        existing.text, existing.at, existing.declined = cleaned, office.now, False
    meeting = await _meeting(office, vote)
    protocol = await office.db.protocol_of(meeting.id)
    if protocol is not None:
        await approval.advance_protocol(office, meeting, protocol)
    return vote
