"""Timed notices to staff: deadline reminders and the supervisors' daily overdue digest.

Called by the scheduler's scans inside one transaction; messages go through the outbox, held
until working hours (quiet hours), and each is keyed so that it is queued once.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.events import Button, Reply
from bot.payloads import make
from bot.services import operator as operator_service
from bot.services.audience import SUPERVISORS, about_appeal
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import next_working_moment, parse_working_hours
from bot.services.outbox import notify
from bot.services.reminders import Rules, describe, next_reminder
from handlers.cards import Recipient, responsible
from handlers.texts import Names
from storage.models import Appeal, AppealEvent
from storage.repositories import Repositories

# One transaction handles this many due appeals; the scheduler repeats while batches come back full,
# so a morning burst of reminders never holds the database's write lock for long.
BATCH = 100
DIGEST_LINES = 20


def staff_moment(settings: Settings, calendar: ProductionCalendar, now: datetime) -> datetime:
    """Quiet hours: a staff notice due outside working hours waits for the next working morning."""
    return next_working_moment(now, calendar, settings.region.zone, parse_working_hours(settings.region.working_hours))


async def remind(repo: Repositories, settings: Settings, calendar: ProductionCalendar, appeal: Appeal,
                 moment: datetime, now: datetime, cache: dict[str, list[Recipient]] | None = None) -> int:
    """One reminder about one appeal to whoever is responsible; records the first overdue day."""
    rules = Rules.from_settings(settings, calendar)
    due = describe(rules, appeal.deadline_at, now)
    if due.kind == "overdue" and await repo.notices.claim(f"overdue:{appeal.id}:{appeal.deadline_at.isoformat()}",
                                                           now):
        await repo.appeals.add_event(AppealEvent(appeal_id=appeal.id, kind="overdue", status=appeal.status, at=now,
                                                 details={"deadline": appeal.deadline_at.isoformat()}))
        await tell_citizen_overdue(repo, settings, calendar, appeal, now)
    queued = 0
    for target in await responsible(repo, settings, appeal, cache):
        names = Names(settings, target.language)
        params = {"number": appeal.number, "deadline": names.date(appeal.deadline_at),
                  "sector": names.sector(appeal.sector_id)}
        # "осталось 3 рабочих дня", "1 рабочий день": the count decides the form.
        text = (names.t.plural(f"remind.{due.kind}_days", due.days, **params) if due.kind in ("before", "overdue")
                else names.t(f"remind.{due.kind}", days=due.days, **params))
        reply = Reply(text=text, buttons=[[Button(names.t("card.open"), make("operator.card", "open", appeal.id))]])
        await notify(repo, target.channel, target.chat_id, reply, now=now,
                     due_at=staff_moment(settings, calendar, now), audience=about_appeal(appeal.id, appeal.ministry_id),
                     dedup_key=f"remind:{appeal.id}:{moment.isoformat()}:{target.channel}:{target.chat_id}")
        queued += 1
    return queued


async def tell_citizen_overdue(repo: Repositories, settings: Settings, calendar: ProductionCalendar, appeal: Appeal,
                               now: datetime) -> None:
    """The citizen learns the legal deadline has passed and that the ЦУР now controls the appeal."""
    citizen = await repo.users.get(appeal.citizen_id)
    if citizen is None or citizen.unreachable_reason or citizen.role != "citizen":
        return
    names = Names(settings, citizen.language)
    reply = Reply(text=names.t("overdue.to_citizen", number=appeal.number, deadline=names.date(appeal.deadline_at),
                               ministry=names.ministry(appeal.ministry_id)))
    await notify(repo, citizen.channel, citizen.chat_id, reply, now=now, due_at=staff_moment(settings, calendar, now),
                 dedup_key=f"overdue-citizen:{appeal.id}:{appeal.deadline_at.isoformat()}")


async def scan_deadlines(repo: Repositories, settings: Settings, calendar: ProductionCalendar,
                         now: datetime) -> int:
    """Reminders whose moment has come; each appeal then gets its next moment (or none once closed).

    Returns the number of due appeals handled (BATCH means: there may be more)."""
    rules = Rules.from_settings(settings, calendar)
    cache: dict[str, list[Recipient]] = {}
    due = await repo.appeals.due_reminders(now, BATCH)
    with repo.session.no_autoflush:
        for appeal in due:
            moment = appeal.next_reminder_at or now
            if appeal.status in operator_service.OPEN:
                await remind(repo, settings, calendar, appeal, moment, now, cache)
            appeal.next_reminder_at = (next_reminder(rules, appeal.deadline_at, now)
                                       if appeal.status in operator_service.OPEN else None)
    return len(due)


async def scan_overdue_digests(repo: Repositories, settings: Settings, calendar: ProductionCalendar,
                               now: datetime) -> int:
    """One digest a day per supervisor, on working days in working hours: counts and the oldest overdue,
    and the ministries without an operator (their cards come to the supervisors meanwhile).

    It goes out when something needs a supervisor: an overdue appeal, or an open appeal in a ministry
    nobody staffs."""
    if staff_moment(settings, calendar, now) != now:
        return 0
    by_ministry = await repo.appeals.overdue_count_by_ministry(operator_service.OPEN, now)
    unstaffed = await _unstaffed(repo, settings)
    if not by_ministry and not any(unstaffed.values()):
        return 0
    oldest = await operator_service.overdue(repo, now, DIGEST_LINES)
    day = now.astimezone(settings.region.zone).date().isoformat()
    queued = 0
    for supervisor in await repo.staff.supervisors():
        if supervisor.unreachable_reason or not await repo.notices.claim(f"digest:overdue:{supervisor.id}:{day}", now):
            continue
        names = Names(settings, supervisor.language)
        lines = []
        if by_ministry:
            lines += [names.t.plural("escalation.title", sum(by_ministry.values()))]
            lines += [names.t("escalation.ministry_line", ministry=names.ministry(m), count=c)
                      for m, c in sorted(by_ministry.items(), key=lambda item: -item[1])]
            lines.append(names.t("escalation.oldest"))
            lines += [names.t("escalation.appeal_line", number=a.number, ministry=names.ministry(a.ministry_id),
                              deadline=names.date(a.deadline_at)) for a in oldest]
        if unstaffed:
            lines += ["", names.t("escalation.unstaffed")] if lines else [names.t("escalation.unstaffed")]
            lines += [names.t.plural("escalation.unstaffed_line", count, ministry=names.ministry(m))
                      for m, count in unstaffed.items()]
        await notify(repo, supervisor.channel, supervisor.chat_id, Reply(text="\n".join(lines)), now=now,
                     dedup_key=f"digest:overdue:{supervisor.id}:{day}", audience=SUPERVISORS)
        queued += 1
    return queued


async def _unstaffed(repo: Repositories, settings: Settings) -> dict[str, int]:
    """Ministries of config.toml with no operator the bot can reach, each with its open appeals."""
    staffed = await repo.staff.staffed_ministries()
    missing = [m for m in settings.ministries if m not in staffed]
    if not missing:
        return {}
    open_counts = await repo.staff.open_count_by_ministry(operator_service.OPEN)
    return {m: open_counts.get(m, 0) for m in missing}
