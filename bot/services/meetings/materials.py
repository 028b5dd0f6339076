"""Materials to members and invited persons: as files, when they go out, who can be reached."""

from __future__ import annotations

from collections.abc import Sequence

from bot.events import Attachment
from bot.services.meetings.common import Office
from bot.services.meetings.notices import Materials
from storage.expert_models import Meeting, MeetingGuest, MeetingMaterial
from storage.models import User


def files(materials: Sequence[MeetingMaterial]) -> list[Attachment]:
    return [Attachment(kind="document" if x.kind == "document" else "photo", ref=x.ref, channel=x.channel,
                       name=x.name, size=x.size, mime=x.mime) for x in materials]


async def guests_reachable(office: Office, meeting: Meeting) -> list[tuple[MeetingGuest, User]]:
    found = []
    for guest in await office.db.guests(meeting.id):
        user = await office.repo.users.get(guest.user_id) if guest.user_id else None
        if user is not None:
            found.append((guest, user))
    return found


async def send(office: Office, meeting: Meeting, materials: Sequence[MeetingMaterial], tag: str) -> None:
    notice = Materials(meeting, files(materials))
    for material in materials:
        material.sent_at = office.now
    first = min(m.id for m in materials)
    for member in await office.db.members(meeting.group_id):
        await office.tell(member.user, notice, f"mt{meeting.id}:mat:{tag}:{first}:{member.user_id}",
                          group=meeting.group_id)
    for guest, user in await guests_reachable(office, meeting):
        await office.tell(user, notice, f"mt{meeting.id}:mat:{tag}:{first}:g{guest.id}")
