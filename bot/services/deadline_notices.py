"""What the deadlines owe people: reminders to the responsible staff, the citizen's overdue notice,
the supervisors' daily overdue digest. Decided here as ``Notice`` values; worded by
``bot.presenters.notices``; queued by the scans (``bot.scans.deadlines``).

Staff notices are held until working hours (quiet hours); each is keyed so that it is queued once.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.domain.appeals import OPEN
from bot.services import operator as operator_service
from bot.services.audience import SUPERVISORS, about_appeal
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import next_working_moment, parse_working_hours
from bot.services.notices import Notice
from bot.services.recipients import Recipient, responsible
from bot.services.reminders import Rules, describe
from storage.models import Appeal, AppealEvent
from storage.repositories import Repositories

DIGEST_LINES = 20


def staff_moment(settings: Settings, calendar: ProductionCalendar, now: datetime) -> datetime:
    """Quiet hours: a staff notice due outside working hours waits for the next working morning."""
    return next_working_moment(now, calendar, settings.region.zone, parse_working_hours(settings.region.working_hours))


async def reminders(repo: Repositories, settings: Settings, calendar: ProductionCalendar, appeal: Appeal,
                    moment: datetime, now: datetime, cache: dict[str, list[Recipient]] | None = None) -> list[Notice]:
    """One reminder about one appeal to whoever is responsible (kind "remind": the appeal and its ``Due``).

    On the first overdue day the day is recorded (an "overdue" event) and the citizen is owed a notice first."""
    due = describe(Rules.from_settings(settings, calendar), appeal.deadline_at, now)
    owed = []
    if due.kind == "overdue" and await repo.notices.claim(f"overdue:{appeal.id}:{appeal.deadline_at.isoformat()}",
                                                           now):
        await repo.appeals.add_event(AppealEvent(appeal_id=appeal.id, kind="overdue", status=appeal.status, at=now,
                                                 details={"deadline": appeal.deadline_at.isoformat()}))
        owed += await _citizen_overdue(repo, settings, calendar, appeal, now)
    for target in await responsible(repo, settings, appeal, cache):
        owed.append(Notice("remind", target, f"remind:{appeal.id}:{moment.isoformat()}:{target.channel}:"
                                             f"{target.chat_id}", {"appeal": appeal, "due": due},
                           due_at=staff_moment(settings, calendar, now),
                           audience=about_appeal(appeal.id, appeal.ministry_id)))
    return owed


async def _citizen_overdue(repo: Repositories, settings: Settings, calendar: ProductionCalendar, appeal: Appeal,
                           now: datetime) -> list[Notice]:
    """The citizen learns the legal deadline has passed and that the ЦУР now controls the appeal."""
    citizen = await repo.users.get(appeal.citizen_id)
    if citizen is None or citizen.unreachable_reason or citizen.role != "citizen":
        return []
    return [Notice("overdue_citizen", Recipient.of(citizen), f"overdue-citizen:{appeal.id}:"
                                                             f"{appeal.deadline_at.isoformat()}",
                   {"appeal": appeal}, due_at=staff_moment(settings, calendar, now))]


async def overdue_digests(repo: Repositories, settings: Settings, calendar: ProductionCalendar,
                          now: datetime) -> list[Notice]:
    """One digest a day per supervisor, on working days in working hours: counts and the oldest overdue,
    and the ministries without an operator (their cards come to the supervisors meanwhile).

    It is owed when something needs a supervisor: an overdue appeal, or an open appeal in a ministry
    nobody staffs. Kind "overdue_digest": ``by_ministry``, ``oldest``, ``unstaffed``."""
    if staff_moment(settings, calendar, now) != now:
        return []
    by_ministry = await repo.appeals.overdue_count_by_ministry(OPEN, now)
    unstaffed = await _unstaffed(repo, settings)
    if not by_ministry and not any(unstaffed.values()):
        return []
    oldest = await operator_service.overdue(repo, now, DIGEST_LINES)
    day = now.astimezone(settings.region.zone).date().isoformat()
    owed = []
    for supervisor in await repo.staff.supervisors():
        key = f"digest:overdue:{supervisor.id}:{day}"
        if supervisor.unreachable_reason or not await repo.notices.claim(key, now):
            continue
        owed.append(Notice("overdue_digest", Recipient.of(supervisor), key,
                           {"by_ministry": by_ministry, "oldest": oldest, "unstaffed": unstaffed},
                           audience=SUPERVISORS))
    return owed


async def _unstaffed(repo: Repositories, settings: Settings) -> dict[str, int]:
    """Ministries of config.toml with no operator the bot can reach, each with its open appeals."""
    staffed = await repo.staff.staffed_ministries()
    missing = [m for m in settings.ministries if m not in staffed]
    if not missing:
        return {}
    open_counts = await repo.staff.open_count_by_ministry(OPEN)
    return {m: open_counts.get(m, 0) for m in missing}
