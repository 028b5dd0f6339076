"""Appeals: the draft a citizen fills in, registration with a number and a deadline, history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.domain.appeals import OPEN, AppealStatus
from bot.events import Attachment, Location
from bot.services import routing_learning
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import compute_deadline, deadline_for, parse_working_hours
from bot.services.reminders import Rules, next_reminder
from storage.models import Appeal, AppealAttachment, AppealEvent, User
from storage.repositories import Repositories

OPEN_STATUSES = OPEN  # the old name, kept for importers


@dataclass
class Draft:
    """What the citizen has entered so far; kept in the conversation state between messages."""

    name: str | None = None
    phone: str | None = None
    sector_id: str | None = None
    category_id: str | None = None
    text_parts: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    suggested_sector_id: str | None = None
    suggested_category_id: str | None = None
    # The classifier's proposal waiting for the citizen's yes/no; top sectors when unsure.
    suggestion_pending: bool = False
    suggestion_confident: bool = False
    suggestion_category_confident: bool = False
    suggested_sectors: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.text_parts)

    @property
    def location(self) -> Location | None:
        if self.latitude is None or self.longitude is None:
            return None
        return Location(self.latitude, self.longitude)

    def add_attachment(self, attachment: Attachment) -> None:
        self.attachments.append(asdict(attachment))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Draft:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


def format_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year}-{seq:06d}"


async def register(repo: Repositories, settings: Settings, calendar: ProductionCalendar, citizen: User,
                   draft: Draft, now: datetime) -> Appeal:
    """Give the appeal its number, ministry and deadline (59-ФЗ art. 8, 12), all in one transaction."""
    if draft.sector_id is None or draft.category_id is None or draft.name is None:
        raise ValueError("the draft is not complete")
    sector = settings.sectors[draft.sector_id]
    year = now.astimezone(settings.region.zone).year
    seq = await repo.appeals.next_seq(year)
    deadline = compute_deadline(now, deadline_for(settings, draft.sector_id, draft.category_id), calendar,
                                settings.region.zone, parse_working_hours(settings.region.working_hours))
    appeal = await repo.appeals.add(Appeal(
        number=format_number(settings.region.number_prefix, year, seq), year=year, seq=seq,
        citizen_id=citizen.id, citizen_name=draft.name, phone=draft.phone,
        sector_id=draft.sector_id, category_id=draft.category_id, ministry_id=sector.ministry,
        text=draft.text, address=draft.address, latitude=draft.latitude, longitude=draft.longitude,
        status=AppealStatus.REGISTERED.value, registered_at=now, deadline_at=deadline,
        suggested_sector_id=draft.suggested_sector_id, suggested_category_id=draft.suggested_category_id,
        next_reminder_at=next_reminder(Rules.from_settings(settings, calendar), deadline, now),
    ))
    for item in draft.attachments:
        await repo.appeals.add_attachment(AppealAttachment(appeal_id=appeal.id, source="appeal", **item))
    await routing_learning.record(repo, appeal, now)
    await repo.appeals.add_event(AppealEvent(appeal_id=appeal.id, actor_id=citizen.id, kind="registered",
                                             status=AppealStatus.REGISTERED.value, at=now,
                                             details={"deadline": deadline.isoformat()}))
    await repo.appeals.add_event(AppealEvent(appeal_id=appeal.id, actor_id=None, kind="routed",
                                             status=AppealStatus.REGISTERED.value, at=now,
                                             details={"ministry": sector.ministry}))
    return appeal


async def registered_today(repo: Repositories, settings: Settings, citizen: User, now: datetime) -> int:
    """Appeals the citizen registered since local midnight (the per-day limit)."""
    local = now.astimezone(settings.region.zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return await repo.appeals.registered_since(citizen.id, midnight)


async def citizen_appeals(repo: Repositories, citizen: User, limit: int, offset: int = 0) -> Sequence[Appeal]:
    return await repo.appeals.of_citizen(citizen.id, limit, offset)


async def citizen_appeal(repo: Repositories, citizen: User, appeal_id: int) -> Appeal | None:
    """The appeal if it belongs to this citizen; None otherwise (a forged button must not reveal others')."""
    appeal = await repo.appeals.get(appeal_id)
    return appeal if appeal is not None and appeal.citizen_id == citizen.id else None


async def history(repo: Repositories, appeal: Appeal) -> Sequence[AppealEvent]:
    return await repo.appeals.events(appeal.id)


async def count_of_citizen(repo: Repositories, citizen: User) -> int:
    """How many appeals the citizen has registered (the /my list's length)."""
    return await repo.appeals.count_of_citizen(citizen.id)


async def by_typed_number(repo: Repositories, seq: int, year: int | None, this_year: int) -> Appeal | None:
    """The appeal a typed number names: ``year``'s; without a year, this year's, else the latest such."""
    if year is None:
        return await repo.appeals.by_seq(seq, this_year) or await repo.appeals.by_seq(seq)
    return await repo.appeals.by_seq(seq, year)


async def latest_event(repo: Repositories, appeal: Appeal) -> AppealEvent:
    """The appeal's newest history event (the one an action just recorded)."""
    return (await repo.appeals.events(appeal.id))[-1]
