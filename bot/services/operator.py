"""The ministry's work on an appeal: take, answer, ask to clarify, redirect, extend, reassign.

Every function checks the actor's rights and the appeal's current state under a row lock
and returns a problem key instead of acting when the action is not allowed; every action is
an event in the appeal's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Duration, Settings
from bot.events import Attachment
from bot.services import routing_learning
from bot.services.calendar import ProductionCalendar
from bot.services.classifier import Classifier
from bot.services.deadlines import extend_deadline, parse_working_hours
from bot.services.reminders import Rules, next_reminder
from bot.services.staff import is_supervisor, may_handle
from storage.models import Appeal, AppealAttachment, AppealEvent, User
from storage.repositories import Repositories

OPEN = frozenset({"registered", "in_work", "clarification_requested", "reopened"})
# 59-ФЗ art. 8 p. 3: an appeal outside the body's competence is redirected within 7 days.
REDIRECT_WITHIN = timedelta(days=7)


@dataclass(frozen=True)
class Outcome:
    """What happened: the appeal (locked, current) and a problem key if the action was refused."""

    appeal: Appeal | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


async def _locked(repo: Repositories, appeal_id: int, actor: User) -> Outcome:
    appeal = await repo.appeals.get_for_update(appeal_id)
    if appeal is None:
        return Outcome(None, "error.appeal_not_found")
    if not may_handle(actor, appeal):
        return Outcome(appeal, "operator.not_yours")
    if appeal.status not in OPEN:
        return Outcome(appeal, "operator.not_open")
    return Outcome(appeal)


async def _event(repo: Repositories, appeal: Appeal, actor: User | None, kind: str, now: datetime,
                 reason: str | None = None, **details: object) -> None:
    await repo.appeals.add_event(AppealEvent(appeal_id=appeal.id, actor_id=actor.id if actor else None, kind=kind,
                                             status=appeal.status, reason=reason, details=dict(details), at=now))


async def check(repo: Repositories, appeal_id: int, actor: User) -> Outcome:
    """May this person act on this appeal now? (before starting a multi-step dialog)"""
    return await _locked(repo, appeal_id, actor)


async def take(repo: Repositories, appeal_id: int, actor: User, now: datetime) -> Outcome:
    outcome = await _locked(repo, appeal_id, actor)
    if not outcome.ok or outcome.appeal is None:
        return outcome
    appeal = outcome.appeal
    if appeal.assignee_id is not None:
        return Outcome(appeal, "operator.already_taken" if appeal.assignee_id != actor.id else "operator.yours_already")
    appeal.assignee_id = actor.id
    if appeal.status in ("registered", "reopened"):
        appeal.status = "in_work"
    await _event(repo, appeal, actor, "taken", now)
    return Outcome(appeal)


async def reassign(repo: Repositories, appeal_id: int, actor: User, operator: User, now: datetime) -> Outcome:
    if not is_supervisor(actor):
        return Outcome(None, "operator.supervisors_only")
    outcome = await _locked(repo, appeal_id, actor)
    if not outcome.ok or outcome.appeal is None:
        return outcome
    appeal = outcome.appeal
    if operator.role != "operator" or operator.ministry_id != appeal.ministry_id:
        return Outcome(appeal, "operator.not_of_ministry")
    appeal.assignee_id = operator.id
    if appeal.status in ("registered", "reopened"):
        appeal.status = "in_work"
    await _event(repo, appeal, actor, "reassigned", now, operator=operator.id)
    return Outcome(appeal)


async def answer(repo: Repositories, appeal_id: int, actor: User, text: str, files: Sequence[Attachment],
                 now: datetime) -> Outcome:
    outcome = await _locked(repo, appeal_id, actor)
    if not outcome.ok or outcome.appeal is None:
        return outcome
    appeal = outcome.appeal
    appeal.status = "answered"
    appeal.answered_at = now
    appeal.answer_text = text
    appeal.answered_by_id = actor.id
    appeal.clarification_since = None
    appeal.next_reminder_at = None
    if appeal.assignee_id is None:
        appeal.assignee_id = actor.id
    for file in files:
        await repo.appeals.add_attachment(AppealAttachment(
            appeal_id=appeal.id, source="answer", kind=file.kind, ref=file.ref, channel=file.channel,
            name=file.name, size=file.size, mime=file.mime))
    await _event(repo, appeal, actor, "answered", now, on_time=now <= appeal.deadline_at)
    return Outcome(appeal)


async def request_clarification(repo: Repositories, appeal_id: int, actor: User, question: str,
                                now: datetime) -> Outcome:
    outcome = await _locked(repo, appeal_id, actor)
    if not outcome.ok or outcome.appeal is None:
        return outcome
    appeal = outcome.appeal
    appeal.status = "clarification_requested"
    appeal.clarification_since = now
    if appeal.assignee_id is None:
        appeal.assignee_id = actor.id
    await _event(repo, appeal, actor, "clarification_requested", now, reason=question)
    return Outcome(appeal)


async def receive_clarification(repo: Repositories, appeal_id: int, citizen: User, text: str,
                                files: Sequence[Attachment], now: datetime, pause_deadline: bool) -> Outcome:
    """The citizen's reply: attached to the appeal; the deadline moves only if the region pauses it."""
    appeal = await repo.appeals.get_for_update(appeal_id)
    if appeal is None or appeal.citizen_id != citizen.id:
        return Outcome(None, "error.appeal_not_found")
    if appeal.status != "clarification_requested":
        return Outcome(appeal, "clarify.not_waiting")
    if pause_deadline and appeal.clarification_since is not None:
        appeal.deadline_at += now - appeal.clarification_since
        appeal.next_reminder_at = now  # the scan works out the next moment for the moved deadline
    appeal.status = "in_work"
    appeal.clarification_since = None
    for file in files:
        await repo.appeals.add_attachment(AppealAttachment(
            appeal_id=appeal.id, source="clarification", kind=file.kind, ref=file.ref, channel=file.channel,
            name=file.name, size=file.size, mime=file.mime))
    await _event(repo, appeal, citizen, "clarified", now, reason=text, files=len(files))
    return Outcome(appeal)


async def redirect(repo: Repositories, settings: Settings, appeal_id: int, actor: User, ministry_id: str,
                   reason: str, now: datetime, classifier: Classifier | None = None) -> Outcome:
    if ministry_id not in settings.ministries:
        return Outcome(None, "error.stale_button")
    outcome = await _locked(repo, appeal_id, actor)
    if not outcome.ok or outcome.appeal is None:
        return outcome
    appeal = outcome.appeal
    if ministry_id == appeal.ministry_id:
        return Outcome(appeal, "redirect.same_ministry")
    previous, previous_sector = appeal.ministry_id, appeal.sector_id
    late = now - appeal.registered_at > REDIRECT_WITHIN
    appeal.ministry_id = ministry_id
    moved = _sector_of(settings, ministry_id, appeal.sector_id)
    if moved is not None:
        # The appeal counts for its new ministry's sector in statistics, queues and reminders.
        appeal.sector_id, appeal.category_id = moved
    appeal.status = "registered"
    appeal.assignee_id = None
    appeal.redirect_count += 1
    # The new ministry's sector becomes the appeal's and the classifier's learned example.
    await routing_learning.correct_by_redirect(repo, settings, appeal, classifier, now, previous_sector)
    await _event(repo, appeal, actor, "redirected", now, reason=reason, late=late, to=ministry_id,
                 from_sector=previous_sector, to_sector=appeal.sector_id, **{"from": previous})
    return Outcome(appeal)


def _sector_of(settings: Settings, ministry_id: str, sector_id: str) -> tuple[str, str] | None:
    """(sector, category) of the new ministry when the appeal's sector is another ministry's; else None.

    The new ministry's first sector, under its "other" category (the last one when none is called so)."""
    current = settings.sectors.get(sector_id)
    if current is not None and current.ministry == ministry_id:
        return None
    for new_id, sector in settings.sectors.items():
        if sector.ministry == ministry_id and sector.categories:
            category = next((c.id for c in sector.categories if c.id == "other"), sector.categories[-1].id)
            return new_id, category
    return None


def extension_options(settings: Settings) -> list[Duration]:
    """Choices offered to the operator, up to the configured maximum (59-ФЗ art. 12 p. 2: 30 days)."""
    maximum = Duration.parse(settings.deadlines.extension_max)
    steps = sorted({n for n in (5, 10, 15, 20, 30) if n < maximum.amount} | {maximum.amount})
    return [Duration(n, maximum.working) for n in steps]


async def extend(repo: Repositories, settings: Settings, calendar: ProductionCalendar, appeal_id: int, actor: User,
                 days: Duration, reason: str, now: datetime) -> Outcome:
    outcome = await _locked(repo, appeal_id, actor)
    if not outcome.ok or outcome.appeal is None:
        return outcome
    appeal = outcome.appeal
    if appeal.extended:
        return Outcome(appeal, "extend.only_once")
    maximum = Duration.parse(settings.deadlines.extension_max)
    if days.working != maximum.working or not 0 < days.amount <= maximum.amount:
        return Outcome(appeal, "extend.too_long")
    old = appeal.deadline_at
    appeal.deadline_at = extend_deadline(old, days, calendar, settings.region.zone,
                                         parse_working_hours(settings.region.working_hours))
    appeal.extended = True
    appeal.next_reminder_at = next_reminder(Rules.from_settings(settings, calendar), appeal.deadline_at, now)
    await _event(repo, appeal, actor, "extended", now, reason=reason, old=old.isoformat(),
                 new=appeal.deadline_at.isoformat(), days=str(days))
    return Outcome(appeal)


async def queue(repo: Repositories, ministry_id: str | None, limit: int = 30,
                sector_id: str | None = None) -> Sequence[Appeal]:
    """Open appeals, nearest deadline first."""
    return await repo.appeals.open_by_deadline(OPEN, ministry_id, limit, sector_id)


async def overdue(repo: Repositories, now: datetime, limit: int = 50) -> Sequence[Appeal]:
    return await repo.appeals.overdue(OPEN, now, limit)
