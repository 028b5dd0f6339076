"""Scheduling a meeting: the secretary's draft, publishing, materials, answers to the notice,
moving and cancelling, the quorum forecast."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bot.config import ExpertGroup
from bot.events import Attachment
from bot.services.meetings import agenda, materials
from bot.services.meetings.common import ANSWERS, FORMATS, Office, Refusal, _stamp, member_name
from bot.services.meetings.membership import member_of, organizer_of
from bot.services.meetings.notices import MeetingNotice
from bot.services.meetings.timing import Forecast, forecast, local_day
from storage.expert_models import AgendaItem, Meeting, MeetingMaterial
from storage.models import User


@dataclass
class MeetingDraft:
    """A meeting being set up in the secretary's dialog; kept in the conversation until published."""

    group_id: str
    starts_at: str | None = None  # ISO, UTC
    format: str = ""
    place: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)  # {"title": str, "materials": [Attachment dicts]}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MeetingDraft:
        return cls(**(data or {"group_id": ""}))

    @property
    def when(self) -> datetime | None:
        return datetime.fromisoformat(self.starts_at) if self.starts_at else None


def check_when(office: Office, group: ExpertGroup, starts_at: datetime) -> list[tuple[str, dict[str, object]]]:
    """Refuse the past; warn (the secretary may keep it) on a day off and on notice shorter than the rule."""
    if starts_at <= office.now:
        raise Refusal("meeting.when_past")
    day = local_day(starts_at, office.zone)
    warnings: list[tuple[str, dict[str, object]]] = []
    if not office.calendar.is_working_day(day):
        warnings.append(("meeting.warn_day_off", {}))
    lead = max(group.notice_lead_days, group.materials_lead_days)
    if office.calendar.working_days_between(local_day(office.now, office.zone), day) < lead:
        warnings.append(("meeting.warn_short_notice", {"days": lead}))
    return warnings


async def schedule(office: Office, author: User, draft: MeetingDraft) -> Meeting:
    """Publish a meeting: the rows, then a notice to every member (an absentee vote opens its ballots at once)."""
    await organizer_of(office, author, draft.group_id)
    starts_at = draft.when
    if starts_at is None or draft.format not in FORMATS or not draft.items:
        raise Refusal("meeting.draft_incomplete")
    if starts_at <= office.now:
        raise Refusal("meeting.when_past")
    if any(not str(item.get("decision", "")).strip() for item in draft.items):
        raise Refusal("agenda.decision_missing")
    agenda.check_place(draft.format, draft.place)
    meeting = Meeting(group_id=draft.group_id, status="scheduled", format=draft.format, starts_at=starts_at,
                      place=draft.place, created_by_id=author.id, created_at=office.now, notified_at=office.now)
    meeting.items = [AgendaItem(position=n, title=item["title"], decision=item.get("decision", ""),
                                speaker=item.get("speaker", "")) for n, item in enumerate(draft.items, 1)]
    await office.db.add(meeting)
    for item, drafted in zip(meeting.items, draft.items, strict=True):
        for material in drafted.get("materials", []):
            await _store_material(office, meeting, item, Attachment(**material))
    await agenda.after_draft(office, author, meeting)
    return meeting


async def _store_material(office: Office, meeting: Meeting, item: AgendaItem | None,
                          attachment: Attachment) -> MeetingMaterial:
    material = MeetingMaterial(meeting_id=meeting.id, item_id=item.id if item else None, kind=attachment.kind,
                               ref=attachment.ref, channel=attachment.channel, name=attachment.name[:255],
                               size=attachment.size, mime=attachment.mime[:127], added_at=office.now)
    await office.db.add(material)
    return material


async def add_material(office: Office, by: User, meeting: Meeting, item_id: int, attachment: Attachment) -> bool:
    """A document for an agenda item. Once the materials have gone out, a late one follows at once.
    True when it was sent to members now."""
    await organizer_of(office, by, meeting.group_id)
    if meeting.status not in ("scheduled", "in_progress"):
        raise Refusal("meeting.not_editable")
    item = next((i for i in meeting.items if i.id == item_id), None)
    if item is None:
        raise Refusal("meeting.not_found")
    material = await _store_material(office, meeting, item, attachment)
    if meeting.format == "absentee" and meeting.status == "in_progress":
        meeting.materials_sent_at = meeting.materials_sent_at or office.now  # voting has begun: no waiting
    if meeting.materials_sent_at is None:
        return False
    await materials.send(office, meeting, [material], "late")
    return True


async def answer_notice(office: Office, user: User, meeting_id: int, code: str) -> tuple[Meeting, str]:
    """A member's answer to the notice: I will attend / I cannot / not sure. It may be changed until the meeting."""
    answer = ANSWERS.get(code)
    meeting = await office.db.meeting(meeting_id)
    if answer is None or meeting is None or meeting.format == "absentee":
        raise Refusal("meeting.not_found")
    await member_of(office, user, meeting.group_id)
    if meeting.status != "scheduled" or meeting.starts_at <= office.now:
        raise Refusal("meeting.answers_closed")
    row = await office.db.attendance_of(meeting.id, user.id)
    row.answer, row.answered_at = answer, office.now
    return meeting, answer


async def reschedule(office: Office, by: User, meeting: Meeting, starts_at: datetime) -> None:
    """A new date: everyone is told, and earlier answers are asked again (a "yes" was for the old date)."""
    await organizer_of(office, by, meeting.group_id)
    absentee_running = meeting.format == "absentee" and meeting.status == "in_progress"
    if meeting.status != "scheduled" and not absentee_running:
        raise Refusal("meeting.not_editable")
    if starts_at <= office.now:
        raise Refusal("meeting.when_past")
    old = meeting.starts_at
    meeting.starts_at, meeting.notified_at = starts_at, office.now
    for row in await office.db.attendance(meeting.id):
        row.answer = row.answered_at = None
    for vote in await office.db.votes(meeting.id):
        if vote.status == "open":
            vote.closes_at = starts_at
    for member in await office.db.members(meeting.group_id):
        await office.tell(member.user, MeetingNotice(meeting, "moved", old=old),
                          f"mt{meeting.id}:moved:{_stamp(starts_at)}:{member.user_id}",
                          group=meeting.group_id)


async def cancel(office: Office, by: User, meeting: Meeting) -> None:
    await organizer_of(office, by, meeting.group_id)
    absentee_running = meeting.format == "absentee" and meeting.status == "in_progress"
    if meeting.status not in ("scheduled", "proposed") and not absentee_running:
        raise Refusal("meeting.not_editable")
    proposed = meeting.status == "proposed"
    meeting.status, meeting.cancelled_at = "cancelled", office.now
    if proposed:
        return  # never announced: nobody to tell
    for vote in await office.db.votes(meeting.id):
        if vote.status == "open":
            vote.status, vote.closed_at = "cancelled", office.now
    for member in await office.db.members(meeting.group_id):
        await office.tell(member.user, MeetingNotice(meeting, "cancelled", rsvp=False),
                          f"mt{meeting.id}:cancelled:{member.user_id}", group=meeting.group_id)


async def quorum_forecast(office: Office, meeting: Meeting) -> tuple[Forecast, dict[str, list[str]]]:
    """The forecast and who answered what (names), for the chair and the secretary."""
    members = await office.db.members(meeting.group_id)
    answers = {row.user_id: row.answer for row in await office.db.attendance(meeting.id)}
    names: dict[str, list[str]] = {"yes": [], "maybe": [], "no": [], "none": []}
    for member in members:
        names[answers.get(member.user_id) or "none"].append(member_name(member))
    group = office.group(meeting.group_id)
    return forecast([answers.get(m.user_id) for m in members], len(members), group.quorum), names
