"""The expert group: membership, meetings, attendance, votes, dissenting opinions, protocols, timed notices.

The rules come from two regulations; every number is a per-group setting (`[groups.<id>]`):

- Положение о региональной экспертной группе НСИ: meetings at least once a quarter; materials reach
  members at least 2 working days before; quorum one third of the membership; decisions by simple
  majority of the members present, the presiding member's vote decides a tie; the protocol is signed
  within 3 working days and sent within 5 working days of signing.
- Положение о межведомственной рабочей группе: agenda at least 3 working days before; quorum one half;
  open vote; a member who disagrees may state a dissenting opinion in writing, which goes into the
  protocol; protocol within 5 working days.

The pure voting and attendance rules live in ``bot.domain.meeting_rules``; the agenda's approval and changes in
``meeting_agenda``; attendance marks, dissent offers and the protocol's record in ``meeting_minutes``.
Here: the forecast and the calendar days, then the texts owed to
members (built here because the scans send them and a service must not import handlers), then the
services a conversation calls, then the scans the scheduler calls. Services flush; the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import ExpertGroup, Settings
from bot.domain import meeting_rules as rules
from bot.domain.meeting_rules import Tally, decide, has_quorum, presiding_of, quorum_needed
from bot.events import Attachment, Button, Reply
from bot.i18n import translator
from bot.services import meeting_agenda as agenda
from bot.services import meeting_minutes as proceedings
from bot.services.audience import cancel_queued, of_group
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import parse_working_hours
from bot.services.outbox import notify_user
from storage.expert_models import (
    MEMBER_ROLES,
    AgendaItem,
    Ballot,
    Dissent,
    GroupMember,
    Meeting,
    MeetingMaterial,
    Protocol,
    Vote,
)
from storage.expert_repo import ExpertRepo
from storage.models import User
from storage.repositories import Repositories

ROLES = MEMBER_ROLES
ORGANIZERS = frozenset({"chair", "deputy", "secretary"})
ANSWERS = {"y": "yes", "n": "no", "m": "maybe"}
CHOICES = {"f": "for", "a": "against", "x": "abstain"}
FORMATS = ("in_person", "video", "absentee")
VOTE_MINUTES = (0, 5, 15, 30)
NAME_MIN, NAME_MAX = 2, 200
TITLE_MAX = 1000
OFFSET_RE = re.compile(r"^(\d{1,4})([dhm])$")
WHEN_RE = re.compile(r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{2,4}))?\s+(\d{1,2})[:.](\d{2})$")
ISO_WHEN_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})$")


class Refusal(Exception):
    """A polite no: ``key`` is the message to show, nothing has changed."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


# --- pure rules ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Forecast:
    """Quorum forecast from the answers to the notice."""

    members: int
    needed: int
    yes: int
    maybe: int
    no: int

    @property
    def silent(self) -> int:
        return self.members - self.yes - self.maybe - self.no

    @property
    def level(self) -> str:
        if self.yes >= self.needed:
            return "expected"
        if self.yes + self.maybe >= self.needed:
            return "possible"
        return "at_risk"


def forecast(answers: Iterable[str | None], members: int, fraction: float | str | Fraction) -> Forecast:
    listed = list(answers)
    return Forecast(members, quorum_needed(members, fraction), listed.count("yes"), listed.count("maybe"),
                    listed.count("no"))


def parse_offset(text: str) -> timedelta:
    """ "1d" / "1h" / "30m" -> a span before the meeting."""
    match = OFFSET_RE.match(text.strip())
    if match is None:
        raise ValueError(f"bad offset {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """ "25.12.2026 15:00", "25.12 15:00" (this year, or the next if already past), "2026-12-25 15:00"."""
    text = " ".join(text.split())
    if match := ISO_WHEN_RE.match(text):
        year, month, day, hour, minute = (int(part) for part in match.groups())
    elif match := WHEN_RE.match(text):
        day, month, hour, minute = (int(match.group(i)) for i in (1, 2, 4, 5))
        year = int(match.group(3)) if match.group(3) else now.astimezone(zone).year
        year = year + 2000 if year < 100 else year
    else:
        return None
    try:
        moment = datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError:
        return None
    if match.re is WHEN_RE and not match.group(3) and moment < now:
        moment = moment.replace(year=year + 1)
    return moment.astimezone(UTC)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def at_local(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def materials_days(meeting_day: date, lead_days: int, calendar: ProductionCalendar) -> tuple[date, date]:
    """(remind the secretary, send to members): N+1 and N working days before the meeting day.

    НСИ: materials reach members at least 2 working days before; for a Thursday meeting they go out
    on Tuesday, and the secretary is reminded on Monday if there are none.
    """
    return (calendar.subtract_working_days(meeting_day, lead_days + 1),
            calendar.subtract_working_days(meeting_day, lead_days))


def quarter_of(day: date) -> tuple[date, date]:
    """The first and the last day of the quarter ``day`` is in."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    following = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    return start, following - timedelta(days=1)


def quarter_reminder_day(day: date, days_before: int, calendar: ProductionCalendar) -> date:
    """N calendar days before the quarter ends, moved back to a working day so it is never late."""
    start, end = quarter_of(day)
    return max(start, calendar.subtract_working_days(end - timedelta(days=days_before), 0))


def protocol_due_day(meeting_day: date, days: int, calendar: ProductionCalendar) -> date:
    """НСИ: the protocol is signed within N working days of the meeting."""
    return calendar.add_working_days(meeting_day, days)


# --- texts owed to members -----------------------------------------------------------------------

def payload(verb: str, *args: object) -> str:
    """A button payload in the wire format of ``handlers.payloads`` ("1:verb:args", ≤ 64 bytes).

    Built here because the scans send buttons and a service must not import handlers;
    tests/test_meeting_rules.py checks both agree.
    """
    raw = ":".join(("1", verb, *(str(a) for a in args)))
    if len(raw.encode()) > 64:
        raise ValueError(f"payload {raw!r} is longer than 64 bytes")
    return raw


def group_name(settings: Settings, group_id: str, language: str) -> str:
    group = settings.groups.get(group_id)
    if group is None:
        return group_id
    return group.name_en if language == "en" and group.name_en else group.name


def member_name(member: GroupMember | None, user: User | None = None) -> str:
    if member is not None and member.full_name:
        return member.full_name
    person = user or (member.user if member is not None else None)
    if person is not None and person.display_name:
        return person.display_name
    return f"#{person.id}" if person is not None else "—"


def _date(settings: Settings, moment: datetime) -> str:
    return moment.astimezone(settings.region.zone).strftime("%d.%m.%Y")


def _time(settings: Settings, moment: datetime) -> str:
    return moment.astimezone(settings.region.zone).strftime("%H:%M")


def agenda_text(language: str, items: Sequence[AgendaItem]) -> str:
    t = translator(language)
    lines = []
    for item in items:
        lines.append(t("meeting.agenda_line", n=item.position, title=item.title))
        if item.speaker:
            lines.append(t("agenda.speaker_line", name=item.speaker))
        if item.decision:
            lines.append(t("agenda.decision_line", decision=item.decision))
    return "\n".join(lines)


def meeting_card(settings: Settings, language: str, meeting: Meeting) -> str:
    """Date, time, place and agenda in the message itself: a notice must be readable without opening anything."""
    t = translator(language)
    return t(f"meeting.card_{meeting.format}", group=group_name(settings, meeting.group_id, language),
             date=_date(settings, meeting.starts_at), time=_time(settings, meeting.starts_at), place=meeting.place,
             agenda=agenda_text(language, meeting.items))


def rsvp_buttons(language: str, meeting: Meeting) -> list[list[Button]]:
    t = translator(language)
    return [[Button(t("meeting.rsvp_yes"), payload("rsvp", meeting.id, "y")),
             Button(t("meeting.rsvp_no"), payload("rsvp", meeting.id, "n")),
             Button(t("meeting.rsvp_maybe"), payload("rsvp", meeting.id, "m"))]]


def notice_reply(settings: Settings, language: str, meeting: Meeting, header: str, answer: str | None = None,
                 **params: object) -> Reply:
    """A meeting notice with the attendance buttons (none for an absentee vote: its ballots follow)."""
    t = translator(language)
    if meeting.format == "absentee" and header in ("meeting.notice_new", "meeting.reminder"):
        header = f"{header}_absentee"  # an absentee vote is announced as a vote, not a meeting
    parts = [t(header, **params), meeting_card(settings, language, meeting)]
    if answer is not None:
        parts.append(t("meeting.your_answer", answer=t(f"meeting.answer_{answer}")))
    buttons = [] if meeting.format == "absentee" else rsvp_buttons(language, meeting)
    return Reply(text="\n\n".join(parts), buttons=buttons)


def ballot_reply(settings: Settings, language: str, meeting: Meeting, item: AgendaItem, vote: Vote,
                 choice: str | None = None, header: str = "vote.ballot") -> Reply:
    t = translator(language)
    deadline = (t("vote.closes_at", date=_date(settings, vote.closes_at), time=_time(settings, vote.closes_at))
                if vote.closes_at is not None else t("vote.closes_by_presiding"))
    text = t(header, group=group_name(settings, meeting.group_id, language), n=item.position, item=item.title,
             deadline=deadline)
    if item.decision:
        text += "\n\n" + t("vote.ballot_decision", decision=item.decision)
    if choice is not None:
        text += "\n\n" + t("vote.your_choice", choice=t(f"vote.choice_{choice}"))
    buttons = [[Button(t(f"vote.button_{code}"), payload("ballot", vote.id, code)) for code in CHOICES]]
    return Reply(text=text, buttons=buttons)


# --- what a service call works with --------------------------------------------------------------

@dataclass
class Office:
    """Repositories, settings, the calendar and the moment of one unit of work; counts the notices it queues."""

    repo: Repositories
    settings: Settings
    calendar: ProductionCalendar
    now: datetime
    queued: int = 0

    @property
    def db(self) -> ExpertRepo:
        return ExpertRepo(self.repo.session)

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.region.zone

    def group(self, group_id: str) -> ExpertGroup:
        group = self.settings.groups.get(group_id)
        if group is None:
            raise Refusal("experts.group_unknown")
        return group

    async def tell(self, user: User, reply: Reply, key: str, *, once: bool = False, group: str | None = None) -> bool:
        """Queue a message; ``once`` claims the key first, so a timed notice never goes out twice.

        ``group``: the message is for that group's members, re-checked when sent (a member removed
        meanwhile gets nothing)."""
        if once and not await self.repo.notices.claim(key, self.now):
            return False
        await notify_user(self.repo, user, reply, dedup_key=key, now=self.now,
                          audience=of_group(group) if group else None)
        self.queued += 1
        return True

    def office_open(self, day: date) -> datetime:
        """The start of the working day ``day`` in the region: when staff reminders for that day are due."""
        start, _ = parse_working_hours(self.settings.region.working_hours)
        return at_local(day, start, self.zone)


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


# --- membership ----------------------------------------------------------------------------------

async def join(office: Office, user: User, group_id: str, role: str, name: str = "") -> GroupMember:
    """Make ``user`` a member with ``role``. Chair, deputy and secretary are single posts: the previous
    holder stays in the group as a member."""
    office.group(group_id)
    if role not in ROLES:
        raise Refusal("experts.role_unknown")
    db = office.db
    if role != "member":
        for holder in await db.holders(group_id, role):
            if holder.user_id != user.id:
                holder.role = "member"
    member = await db.membership(group_id, user.id, active_only=False)
    if member is None:
        member = GroupMember(group_id=group_id, user_id=user.id, role=role, full_name=name[:NAME_MAX], active=True,
                             joined_at=office.now)
        await db.add(member)
    else:
        member.role, member.active = role, True
        member.full_name = member.full_name or name[:NAME_MAX]
    await office.repo.flush()
    return member


async def remove_member(office: Office, group_id: str, user_id: int) -> bool:
    """Out of the group: no more notices or ballots, and the quorum is counted without them."""
    member = await office.db.membership(group_id, user_id)
    if member is None:
        return False
    member.active = False
    user = await office.repo.users.get(user_id)
    if user is not None:
        await cancel_queued(office.repo, user, office.now, office.settings)
    return True


async def set_full_name(office: Office, user: User, name: str) -> None:
    """The name as it appears in protocols, in every group the person is in."""
    cleaned = " ".join(name.split())
    if not NAME_MIN <= len(cleaned) <= NAME_MAX or not any(ch.isalpha() for ch in cleaned):
        raise Refusal("experts.name_invalid", max=NAME_MAX)
    for member in await office.db.memberships_of(user.id):
        member.full_name = cleaned


async def memberships(office: Office, user: User) -> Sequence[GroupMember]:
    return [m for m in await office.db.memberships_of(user.id) if m.group_id in office.settings.groups]


async def member_of(office: Office, user: User, group_id: str) -> GroupMember:
    member = await office.db.membership(group_id, user.id)
    if member is None:
        raise Refusal("experts.not_member")
    return member


async def organizer_of(office: Office, user: User, group_id: str) -> GroupMember:
    member = await member_of(office, user, group_id)
    if member.role not in ORGANIZERS:
        raise Refusal("experts.not_organizer")
    return member


async def _leaders(office: Office, group_id: str) -> list[GroupMember]:
    """Chair and secretary (the deputy when there is no chair): who hears about quorum and the quarter."""
    db = office.db
    chairs = list(await db.holders(group_id, "chair")) or list(await db.holders(group_id, "deputy"))
    return [*chairs, *await db.holders(group_id, "secretary")]


# --- scheduling ----------------------------------------------------------------------------------

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
    await _send_materials(office, meeting, [material], "late")
    return True


async def _send_materials(office: Office, meeting: Meeting, materials: Sequence[MeetingMaterial], tag: str) -> None:
    files = [Attachment(kind="document" if m.kind == "document" else "photo", ref=m.ref, channel=m.channel,
                        name=m.name, size=m.size, mime=m.mime) for m in materials]
    for material in materials:
        material.sent_at = office.now
    first = min(m.id for m in materials)
    for member in await office.db.members(meeting.group_id):
        t = translator(member.user.language)
        reply = Reply(text=t("meeting.materials", group=group_name(office.settings, meeting.group_id,
                                                                    member.user.language),
                             date=_date(office.settings, meeting.starts_at), count=len(files)), attachments=files)
        await office.tell(member.user, reply, f"mt{meeting.id}:mat:{tag}:{first}:{member.user_id}",
                          group=meeting.group_id)
    for guest, user in await agenda.guests_reachable(office, meeting):
        await office.tell(user, agenda.materials_reply(office, meeting, materials, user.language),
                          f"mt{meeting.id}:mat:{tag}:{first}:g{guest.id}")


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
        reply = notice_reply(office.settings, member.user.language, meeting, "meeting.notice_moved",
                             old=f"{_date(office.settings, old)} {_time(office.settings, old)}")
        await office.tell(member.user, reply, f"mt{meeting.id}:moved:{_stamp(starts_at)}:{member.user_id}",
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
        reply = notice_reply(office.settings, member.user.language, meeting, "meeting.notice_cancelled")
        reply.buttons = []
        await office.tell(member.user, reply, f"mt{meeting.id}:cancelled:{member.user_id}", group=meeting.group_id)


async def quorum_forecast(office: Office, meeting: Meeting) -> tuple[Forecast, dict[str, list[str]]]:
    """The forecast and who answered what (names), for the chair and the secretary."""
    members = await office.db.members(meeting.group_id)
    answers = {row.user_id: row.answer for row in await office.db.attendance(meeting.id)}
    names: dict[str, list[str]] = {"yes": [], "maybe": [], "no": [], "none": []}
    for member in members:
        names[answers.get(member.user_id) or "none"].append(member_name(member))
    group = office.group(meeting.group_id)
    return forecast([answers.get(m.user_id) for m in members], len(members), group.quorum), names


# --- the meeting itself --------------------------------------------------------------------------

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
            await close_vote(office, vote)
    present = await roll(office, meeting)
    meeting.presiding_id = meeting.presiding_id or present.presiding
    return await _wrap_up(office, meeting)


async def _wrap_up(office: Office, meeting: Meeting) -> Protocol:
    meeting.status, meeting.finished_at = "finished", office.now
    meeting.secretary_id = meeting.secretary_id or await _secretary_id(office, meeting)
    protocol = Protocol(meeting_id=meeting.id, status="waiting", created_at=office.now)
    await office.db.add(protocol)
    await advance_protocol(office, meeting, protocol)
    return protocol


# --- votes ---------------------------------------------------------------------------------------

async def open_vote(office: Office, by: User, meeting: Meeting, item_id: int, minutes: int) -> Vote:
    """The presiding member opens an open vote on an item; every member present gets the ballot.
    No quorum, no vote."""
    await member_of(office, by, meeting.group_id)
    await office.db.meeting_for_update(meeting.id)  # two presses at once must not open two votes
    if meeting.status != "in_progress" or meeting.format == "absentee":
        raise Refusal("meeting.not_running")
    present = await roll(office, meeting)
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
    meeting.secretary_id = await _secretary_id(office, meeting)
    for item in meeting.items:
        vote = Vote(meeting_id=meeting.id, item_id=item.id, status="open", absentee=True, presiding_id=chair,
                    members=len(members), opened_at=office.now, closes_at=meeting.starts_at)
        await office.db.add(vote)
        await _hand_out_ballots(office, meeting, item, vote, members)
    materials = await office.db.materials(meeting.id)
    if materials:
        meeting.materials_sent_at = office.now
        await _send_materials(office, meeting, materials, "auto")


async def _hand_out_ballots(office: Office, meeting: Meeting, item: AgendaItem, vote: Vote,
                            voters: Sequence[GroupMember]) -> None:
    for member in voters:
        await office.db.add(Ballot(vote_id=vote.id, user_id=member.user_id))
        reply = ballot_reply(office.settings, member.user.language, meeting, item, vote)
        await office.tell(member.user, reply, f"vote{vote.id}:ballot:{member.user_id}", group=meeting.group_id)


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
        raise Refusal("vote.same_choice", choice=translator(user.language)(f"vote.choice_{choice}"))
    ballot.choice, ballot.cast_at = choice, office.now
    return Cast(meeting, await _item(office, vote), vote, choice)


async def _meeting(office: Office, vote: Vote) -> Meeting:
    meeting = await office.db.meeting(vote.meeting_id)
    assert meeting is not None
    return meeting


async def _item(office: Office, vote: Vote) -> AgendaItem:
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
    item = await _item(office, vote)
    members = await office.db.members(meeting.group_id)
    choices = {b.user_id: b.choice for b in ballots}
    by_choice = _names_by_choice(members, choices)
    hours = office.group(meeting.group_id).dissent_hours
    presiding = next((member_name(mm) for mm in members if mm.user_id == vote.presiding_id), "—")
    for member in members:
        language = member.user.language
        t = translator(language)
        text = result_text(office.settings, language, meeting, item, vote, by_choice)
        rule = proceedings.explanation(t, vote, presiding, choices.get(vote.presiding_id or -1))
        reply = Reply(text=text + ("\n\n" + rule if rule else ""))
        if hours > 0 and rules.dissent_offered(vote.result, choices.get(member.user_id)):
            reply.text += "\n\n" + t("vote.dissent_offer", hours=hours)
            reply.buttons = proceedings.dissent_buttons(t, vote.id)
        await office.tell(member.user, reply, f"vote{vote.id}:result:{member.user_id}", group=meeting.group_id)


def _names_by_choice(members: Sequence[GroupMember], choices: dict[int, str | None]) -> dict[str, list[str]]:
    named: dict[str, list[str]] = {"for": [], "against": [], "abstain": [], "none": []}
    for member in members:
        if member.user_id in choices:
            named[choices[member.user_id] or "none"].append(member_name(member))
    return named


def result_text(settings: Settings, language: str, meeting: Meeting, item: AgendaItem, vote: Vote,
                names: dict[str, list[str]]) -> str:
    t = translator(language)
    dash = "—"
    text = t("vote.result", group=group_name(settings, meeting.group_id, language), n=item.position,
             item=item.title + ("\n" + t("vote.ballot_decision", decision=item.decision) if item.decision else ""),
             votes_for=vote.votes_for, against=vote.votes_against, abstain=vote.votes_abstain,
             for_names=", ".join(names["for"]) or dash, against_names=", ".join(names["against"]) or dash,
             abstain_names=", ".join(names["abstain"]) or dash, decision=t(f"vote.decision_{vote.result}"))
    if names["none"] and not vote.absentee:
        text += "\n" + t("vote.result_silent", count=len(names["none"]), names=", ".join(names["none"]))
    return text


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
        await advance_protocol(office, meeting, protocol)
    return vote


# --- the protocol --------------------------------------------------------------------------------

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
            await office.tell(user, approval_reply(office.settings, user.language, meeting, protocol),
                              f"prot{protocol.id}:approve:{user_id}", group=meeting.group_id)


def protocol_file(settings: Settings, meeting: Meeting, protocol: Protocol) -> Attachment:
    name = translator("ru")("protocol.file_name", number=protocol.number, date=_date(settings, meeting.starts_at))
    return Attachment(kind="document", ref=str(protocol.path), channel="local", name=name)


def approval_reply(settings: Settings, language: str, meeting: Meeting, protocol: Protocol) -> Reply:
    t = translator(language)
    return Reply(text=t("protocol.for_approval", group=group_name(settings, meeting.group_id, language),
                        date=_date(settings, meeting.starts_at)),
                 buttons=[[Button(t("protocol.approve_button"), payload("papprove", protocol.id)),
                           Button(t("protocol.return_button"), payload("pback", protocol.id))]],
                 attachments=[protocol_file(settings, meeting, protocol)])


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


# --- timed work: the scheduler calls these -------------------------------------------------------

Sessionmaker = async_sessionmaker[AsyncSession]


async def _run(sessionmaker: Sessionmaker, settings: Settings, calendar: ProductionCalendar, now: datetime,
               work: Any) -> int:
    async with sessionmaker() as session, session.begin():
        office = Office(Repositories(session), settings, calendar, now)
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
        await _send_materials(office, meeting, materials, "auto")
        return
    lacking = [i for i in meeting.items if not any(m.item_id == i.id for m in materials)]
    if meeting.materials_sent_at is None and lacking and office.now >= office.office_open(remind_day):
        for secretary in await office.db.holders(meeting.group_id, "secretary"):
            t = translator(secretary.user.language)
            reply = Reply(text=t("meeting.materials_missing", date=_date(office.settings, meeting.starts_at),
                                 items=agenda_text(secretary.user.language, lacking), days=group.materials_lead_days),
                          buttons=[[Button(t("meeting.add_materials_button"), payload("mt_mat", meeting.id))]])
            await office.tell(secretary.user, reply, f"mt{meeting.id}:{_stamp(meeting.starts_at)}:matrem:"
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
            reply = notice_reply(office.settings, member.user.language, meeting, "meeting.reminder")
            await office.tell(member.user, reply, f"mt{meeting.id}:{_stamp(meeting.starts_at)}:rem{offset}:"
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
    for leader in await _leaders(office, meeting.group_id):
        t = translator(leader.user.language)
        reply = Reply(text=t("meeting.quorum_alert", date=_date(office.settings, meeting.starts_at),
                             yes=outlook.yes, maybe=outlook.maybe, needed=outlook.needed, members=outlook.members),
                      buttons=[[Button(t("meeting.open_button"), payload("mt_view", meeting.id))]])
        await office.tell(leader.user, reply, f"mt{meeting.id}:{_stamp(meeting.starts_at)}:quorum:{leader.user_id}",
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
            for leader in await _leaders(office, group_id):
                t = translator(leader.user.language)
                reply = Reply(text=t("meeting.quarter_reminder", group=group_name(settings, group_id,
                                                                                  leader.user.language),
                                     quarter=quarter, year=start.year, end=end.strftime("%d.%m.%Y")),
                              buttons=[[Button(t("meeting.new_button"), payload("mt_new"))]])
                await office.tell(leader.user, reply, f"grp:{group_id}:{start.year}q{quarter}:{leader.user_id}",
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
        await _wrap_up(office, meeting)
        return
    members = {m.user_id: m for m in await office.db.members(meeting.group_id)}
    for offset in office.group(meeting.group_id).absentee_reminders:
        due = meeting.starts_at - parse_offset(offset)
        if not meeting.notified_at < due <= office.now:
            continue
        for vote in votes:
            item = await _item(office, vote)
            for ballot in await office.db.ballots(vote.id):
                member = members.get(ballot.user_id)
                if ballot.choice is not None or vote.status != "open" or member is None:
                    continue
                reply = ballot_reply(office.settings, member.user.language, meeting, item, vote,
                                     header="vote.reminder")
                await office.tell(member.user, reply, f"vote{vote.id}:{_stamp(meeting.starts_at)}:rem{offset}:"
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
        reply = approval_reply(office.settings, user.language, meeting, protocol)
        t = translator(user.language)
        late = office.calendar.working_days_between(due, today)
        reply.text = proceedings.overdue_note(t, due, today, late, group.protocol_days) + "\n\n" + reply.text
        await office.tell(user, reply, f"prot{protocol.id}:rem:{today.isoformat()}:{user_id}", once=True,
                          group=meeting.group_id)


SCANS = (scan_materials, scan_member_reminders, scan_quorum_alerts, scan_quarter_reminders, scan_votes,
         scan_protocols)
