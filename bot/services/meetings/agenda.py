"""The agenda before and after it goes out: the chair's approval, changes with a notice to members,
invited persons, and materials on request.

The working group's rule (Положение о межведомственной рабочей группе): the agenda is ready five working
days ahead and approved by the chair. A group with ``agenda_approval`` keeps a meeting "proposed" until
its chair (the deputy when the post is vacant) approves it; then the notices go out.
"""

from __future__ import annotations

from bot.domain import meeting_rules as rules
from bot.services import staff
from bot.services.meetings import voting
from bot.services.meetings.common import NAME_MAX, NAME_MIN, Office, Refusal, _stamp
from bot.services.meetings.materials import files, guests_reachable
from bot.services.meetings.membership import organizer_of
from bot.services.meetings.notices import AgendaForApproval, AgendaReturned, Materials, MeetingNotice
from storage.expert_models import AgendaItem, GroupMember, Meeting, MeetingGuest
from storage.expert_repo import ExpertRepo
from storage.models import Invite, User

FIELDS = ("title", "decision", "speaker")
LIMITS = {"title": 1000, "decision": 4000, "speaker": 200}  # as meetings.TITLE_MAX, NAME_MAX


async def approver_of(office: Office, group_id: str) -> GroupMember | None:
    chairs = list(await office.db.holders(group_id, "chair")) or list(await office.db.holders(group_id, "deputy"))
    return chairs[0] if chairs else None


async def after_draft(office: Office, author: User, meeting: Meeting) -> None:
    """A new meeting: to the chair for approval when the group says so and the author is not the chair."""
    approver = await approver_of(office, meeting.group_id)
    if office.group(meeting.group_id).agenda_approval and approver is not None and approver.user_id != author.id:
        meeting.status = "proposed"
        await _ask_approval(office, meeting, approver)
        return
    await publish(office, meeting, approver.user_id if approver else author.id)


async def _ask_approval(office: Office, meeting: Meeting, approver: GroupMember) -> None:
    await office.tell(approver.user, AgendaForApproval(meeting),
                      f"mt{meeting.id}:agenda:{_stamp(office.now)}:{approver.user_id}",
                      group=meeting.group_id)


async def publish(office: Office, meeting: Meeting, approved_by: int) -> None:
    """The notice to every member and invited person; an absentee vote opens its ballots at once."""
    meeting.status = "scheduled"
    meeting.agenda_approved_at, meeting.agenda_approved_by_id = office.now, approved_by
    meeting.notified_at = office.now
    members = await office.db.members(meeting.group_id)
    for member in members:
        await office.tell(member.user, MeetingNotice(meeting, "new"), f"mt{meeting.id}:new:{member.user_id}",
                      group=meeting.group_id)
    for guest, user in await guests_reachable(office, meeting):
        await _tell_guest(office, meeting, guest, user)
    if meeting.format == "absentee":
        await voting._open_absentee(office, meeting, members)


async def approve(office: Office, by: User, meeting_id: int) -> Meeting:
    meeting = await _proposed(office, by, meeting_id)
    await publish(office, meeting, by.id)
    return meeting


async def send_back(office: Office, by: User, meeting_id: int, comment: str) -> Meeting:
    """The chair returns the agenda with a comment; the author corrects it from the meeting's view."""
    meeting = await _proposed(office, by, meeting_id)
    cleaned = " ".join(comment.split())
    if not NAME_MIN <= len(cleaned) <= 2000:
        raise Refusal("protocol.comment_invalid", max=2000)
    author = await office.repo.users.get(meeting.created_by_id)
    if author is not None:
        await office.tell(author, AgendaReturned(meeting, cleaned), f"mt{meeting.id}:agback:{_stamp(office.now)}")
    return meeting


async def resubmit(office: Office, by: User, meeting_id: int) -> Meeting:
    meeting = await office.db.meeting(meeting_id)
    if meeting is None or meeting.status != "proposed":
        raise Refusal("meeting.not_editable")
    await organizer_of(office, by, meeting.group_id)
    approver = await approver_of(office, meeting.group_id)
    if approver is None or approver.user_id == by.id:
        await publish(office, meeting, by.id)
    else:
        await _ask_approval(office, meeting, approver)
    return meeting


async def _proposed(office: Office, by: User, meeting_id: int) -> Meeting:
    meeting = await office.db.meeting_for_update(meeting_id)
    if meeting is None or meeting.group_id not in office.settings.groups:
        raise Refusal("meeting.not_found")
    approver = await approver_of(office, meeting.group_id)
    if approver is None or approver.user_id != by.id:
        raise Refusal("agenda.not_chair")
    if meeting.status != "proposed":
        raise Refusal("agenda.already_approved")
    return meeting


# --- changes to the agenda -------------------------------------------------------------------------

def _editable(meeting: Meeting) -> None:
    if meeting.status not in ("proposed", "scheduled", "in_progress"):
        raise Refusal("meeting.not_editable")


async def _voted(office: Office, item: AgendaItem) -> bool:
    return any(v.item_id == item.id for v in await office.db.votes(item.meeting_id))


def clean(field: str, text: str) -> str:
    cleaned = text.strip() if field == "decision" else " ".join(text.split())
    if field not in FIELDS or not cleaned or len(cleaned) > LIMITS[field]:
        raise Refusal("agenda.field_invalid", max=LIMITS.get(field, 0))
    return cleaned


async def change_item(office: Office, by: User, meeting: Meeting, item_id: int, field: str, text: str) -> None:
    """Change an item's wording, draft decision or speaker. The draft decision is fixed once its vote opens
    (members vote on that wording); after publishing, members are told."""
    await organizer_of(office, by, meeting.group_id)
    protocol = await office.db.protocol_of(meeting.id)
    correcting = protocol is not None and protocol.status == "returned" and field == "speaker"
    if not correcting:
        _editable(meeting)
    item = next((i for i in meeting.items if i.id == item_id), None)
    if item is None:
        raise Refusal("meeting.not_found")
    if field in ("title", "decision") and await _voted(office, item):
        raise Refusal("agenda.vote_opened")
    setattr(item, field, clean(field, text))
    if not correcting:
        await _notify_change(office, meeting, f"ed{item.id}{field[0]}")


async def add_item(office: Office, by: User, meeting: Meeting, title: str, decision: str) -> AgendaItem:
    await organizer_of(office, by, meeting.group_id)
    _editable(meeting)
    if meeting.format == "absentee" and meeting.status == "in_progress":
        raise Refusal("meeting.not_editable")
    item = AgendaItem(meeting_id=meeting.id, position=len(meeting.items) + 1, title=clean("title", title),
                      decision=clean("decision", decision))
    meeting.items.append(item)
    await office.repo.flush()
    await _notify_change(office, meeting, f"add{item.id}")
    return item


async def remove_item(office: Office, by: User, meeting: Meeting, item_id: int) -> None:
    await organizer_of(office, by, meeting.group_id)
    _editable(meeting)
    item = next((i for i in meeting.items if i.id == item_id), None)
    if item is None:
        raise Refusal("meeting.not_found")
    if await _voted(office, item) or len(meeting.items) == 1:
        raise Refusal("agenda.cannot_remove")
    meeting.items.remove(item)
    for position, rest in enumerate(meeting.items, 1):
        rest.position = position
    await office.repo.flush()
    await _notify_change(office, meeting, f"rm{item_id}")


async def _notify_change(office: Office, meeting: Meeting, tag: str) -> None:
    if meeting.status == "proposed":
        return
    stamp = _stamp(office.now)
    for member in await office.db.members(meeting.group_id):
        await office.tell(member.user, MeetingNotice(meeting, "changed"),
                          f"mt{meeting.id}:{tag}:{stamp}:{member.user_id}", group=meeting.group_id)
    for guest, user in await guests_reachable(office, meeting):
        await office.tell(user, MeetingNotice(meeting, "changed", rsvp=False),
                          f"mt{meeting.id}:{tag}:{stamp}:g{guest.id}")


# --- invited persons -------------------------------------------------------------------------------

async def invite_guest(office: Office, by: User, meeting: Meeting, text: str) -> tuple[MeetingGuest, str]:
    """"Фамилия Имя Отчество, должность": a guest and the code of their one-time link."""
    await organizer_of(office, by, meeting.group_id)
    _editable(meeting)
    name, _, position = text.partition(",")
    name, position = " ".join(name.split()), " ".join(position.split())
    if not NAME_MIN <= len(name) <= NAME_MAX or not any(ch.isalpha() for ch in name) or len(position) > 300:
        raise Refusal("guest.invalid", max=NAME_MAX)
    invite = await staff.create_invite(office.repo, office.settings, "guest", None, office.now,
                                       group_id=meeting.group_id)
    guest = MeetingGuest(meeting_id=meeting.id, full_name=name, position=position, invite_code=invite.code,
                         added_at=office.now)
    await office.db.add(guest)
    return guest, invite.code


async def accept_guest(office: Office, user: User, invite: Invite) -> Meeting:
    """The guest opened their link: from now on they get the notice, materials and the protocol copy."""
    guest = await office.db.guest_by_code(invite.code)
    meeting = await office.db.meeting(guest.meeting_id) if guest else None
    if guest is None or meeting is None:
        raise Refusal("invite.unknown")
    guest.user_id = user.id
    if meeting.status in ("scheduled", "in_progress"):
        await _tell_guest(office, meeting, guest, user)
    return meeting


async def _tell_guest(office: Office, meeting: Meeting, guest: MeetingGuest, user: User) -> None:
    await office.tell(user, MeetingNotice(meeting, "guest", rsvp=False),
                      f"mt{meeting.id}:guest:{guest.id}:{_stamp(meeting.notified_at)}")
    materials = await office.db.materials(meeting.id)
    if meeting.materials_sent_at is not None and materials:
        await office.tell(user, Materials(meeting, files(materials)), f"mt{meeting.id}:guestmat:{guest.id}")


async def is_guest(office: Office, user: User, meeting: Meeting) -> bool:
    return any(g.user_id == user.id for g in await office.db.guests(meeting.id))


# --- materials on request --------------------------------------------------------------------------

async def materials_for(office: Office, user: User, meeting: Meeting) -> Materials:
    """A member (or an invited person) asks for the materials from the meeting's view: all of them, now."""
    materials = await office.db.materials(meeting.id)
    if not materials:
        raise Refusal("meeting.no_materials")
    return Materials(meeting, files(materials))


def check_place(format: str, place: str) -> None:
    if format == "video" and not rules.is_meeting_link(place):
        raise Refusal("meeting.link_invalid")


# --- personal data (bot/services/privacy.py calls these) -------------------------------------------

async def guest_export(db: ExpertRepo, user_id: int) -> list[dict[str, object]]:
    """The meetings a person was invited to, with the name and position the secretary wrote."""
    return [{"meeting": g.meeting_id, "name": g.full_name, "position": g.position,
             "invited_at": g.added_at.isoformat()} for g in await db.guest_meetings(user_id)]


async def guest_erase(db: ExpertRepo, user_id: int, marker: str) -> None:
    for guest in await db.guest_meetings(user_id):
        guest.full_name, guest.position, guest.user_id = marker, "", None
