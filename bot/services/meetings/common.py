"""What every meeting service works with: the fixed codes, the polite refusal, the unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.config import ExpertGroup, Settings
from bot.events import Reply
from bot.services.audience import of_group
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import parse_working_hours
from bot.services.meetings.timing import at_local
from bot.services.outbox import notify_user
from storage.expert_models import MEMBER_ROLES
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


class Refusal(Exception):
    """A polite no: ``key`` is the message to show, nothing has changed."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


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
