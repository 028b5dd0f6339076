"""What every meeting service works with: the fixed codes, the polite refusal, the unit of work, names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from bot.config import ExpertGroup, Settings
from bot.domain.errors import Refusal
from bot.events import Reply
from bot.services.audience import of_group
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import parse_working_hours
from bot.services.meetings.timing import at_local
from bot.services.outbox import notify_user
from storage.expert_models import MEMBER_ROLES, GroupMember, Meeting
from storage.expert_repo import ExpertRepo
from storage.models import User
from storage.repositories import Repositories

if TYPE_CHECKING:
    from bot.services.meetings.document import ProtocolRecord
    from bot.services.meetings.notices import Notice

ROLES = MEMBER_ROLES
ORGANIZERS = frozenset({"chair", "deputy", "secretary"})
ANSWERS = {"y": "yes", "n": "no", "m": "maybe"}
CHOICES = {"f": "for", "a": "against", "x": "abstain"}
FORMATS = ("in_person", "video", "absentee")
VOTE_MINUTES = (0, 5, 15, 30)
NAME_MIN, NAME_MAX = 2, 200
TITLE_MAX = 1000


def running(meeting: Meeting) -> None:
    """Refuse unless the meeting sits now (in person or by video: absentee voting has no check-in or roll)."""
    if meeting.status != "in_progress" or meeting.format == "absentee":
        raise Refusal("meeting.not_running")


class Key(str):
    """A message key given as a parameter (a vote's choice): the one who shows the message words it."""


class Wording(Protocol):
    """What the meeting services owe, worded: passed in (``bot.presenters.meetings.WORDING``), since a
    service never imports the translations or a presenter."""

    def notice(self, settings: Settings, language: str, notice: Notice) -> Reply: ...

    def protocol(self, record: ProtocolRecord, path: Path) -> Path: ...


@dataclass
class Office:
    """Repositories, settings, the calendar and the moment of one unit of work; counts the notices it queues."""

    repo: Repositories
    settings: Settings
    calendar: ProductionCalendar
    now: datetime
    queued: int = 0
    words: Wording | None = field(default=None, kw_only=True)

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

    @property
    def wording(self) -> Wording:
        if self.words is None:
            raise RuntimeError("this unit of work owes notices: give it the wording (Office(..., words=))")
        return self.words

    async def tell(self, user: User, notice: Notice | Reply, key: str, *, once: bool = False,
                   group: str | None = None) -> bool:
        """Queue a notice worded in the user's language (a ``Reply`` a caller has worded goes as it is);
        ``once`` claims the key first, so a timed notice never goes out twice.

        ``group``: the message is for that group's members, re-checked when sent (a member removed
        meanwhile gets nothing)."""
        if once and not await self.repo.notices.claim(key, self.now):
            return False
        reply = notice if isinstance(notice, Reply) else self.wording.notice(self.settings, user.language, notice)
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


def names_by_choice(members: Sequence[GroupMember], choices: dict[int, str | None]) -> dict[str, list[str]]:
    named: dict[str, list[str]] = {"for": [], "against": [], "abstain": [], "none": []}
    for member in members:
        if member.user_id in choices:
            named[choices[member.user_id] or "none"].append(member_name(member))
    return named
