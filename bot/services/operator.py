"""The ministry's work on an appeal: take, answer, ask to clarify, redirect, extend, reassign.

Every function checks the actor's rights and the appeal's current state under a row lock
and raises ``Refusal`` (with the appeal's number and status) instead of acting when the action
is not allowed; every action is an event in the appeal's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Duration, Settings
from bot.domain.appeals import OPEN, AppealStatus, move
from bot.domain.errors import Refusal
from bot.domain.roles import Role
from bot.events import Attachment
from bot.services import routing_learning
from bot.services.calendar import ProductionCalendar
from bot.services.classifier import Classifier
from bot.services.deadlines import extend_deadline, parse_working_hours
from bot.services.reminders import Rules, next_reminder
from bot.services.staff import is_supervisor, may_handle
from storage.models import Appeal, AppealAttachment, AppealEvent, User
from storage.repositories import Repositories

# 59-ФЗ art. 8 p. 3: an appeal outside the body's competence is redirected within 7 days.
REDIRECT_WITHIN = timedelta(days=7)


def refusal(key: str, appeal: Appeal | None = None, **params: object) -> Refusal:
    """A no about an appeal: its number and its status (worded by the dialog) go with the key."""
    if appeal is None:
        return Refusal(key, **params)
    return Refusal(key, number=appeal.number, status=AppealStatus(appeal.status), **params)


@dataclass(frozen=True)
class AppealView:
    """An appeal as staff open it: the appeal with its files, who holds it, its history."""

    appeal: Appeal
    assignee: User | None
    events: Sequence[AppealEvent]


async def _locked(repo: Repositories, appeal_id: int | None, actor: User) -> Appeal:
    appeal = await repo.appeals.get_for_update(appeal_id) if appeal_id else None
    if appeal is None:
        raise refusal("error.appeal_not_found")
    if not may_handle(actor, appeal):
        raise refusal("operator.not_yours", appeal)
    if appeal.status not in OPEN:
        raise refusal("operator.not_open", appeal)
    return appeal


async def _event(repo: Repositories, appeal: Appeal, actor: User | None, kind: str, now: datetime,
                 reason: str | None = None, **details: object) -> None:
    await repo.appeals.add_event(AppealEvent(appeal_id=appeal.id, actor_id=actor.id if actor else None, kind=kind,
                                             status=appeal.status, reason=reason, details=dict(details), at=now))


async def appeal(repo: Repositories, appeal_id: int | None) -> Appeal | None:
    """The appeal by id, unlocked, for showing; None for no id or an unknown one."""
    return await repo.appeals.get(appeal_id) if appeal_id else None


async def appeal_view(repo: Repositories, appeal_id: int | None) -> AppealView | None:
    """The appeal with its files, its assignee and its history; None for no id or an unknown one."""
    found = await appeal(repo, appeal_id)
    if found is None:
        return None
    await repo.appeals.load_attachments(found)
    assignee = await repo.users.get(found.assignee_id) if found.assignee_id else None
    return AppealView(found, assignee, await repo.appeals.events(found.id))


async def check(repo: Repositories, appeal_id: int | None, actor: User) -> Appeal:
    """The appeal, if this person may act on it now (before starting a multi-step dialog); else a refusal."""
    return await _locked(repo, appeal_id, actor)


async def take(repo: Repositories, appeal_id: int, actor: User, now: datetime) -> Appeal:
    """The appeal becomes the actor's (in work); refused when someone, or they, holds it already."""
    appeal = await _locked(repo, appeal_id, actor)
    if appeal.assignee_id == actor.id:
        raise refusal("operator.yours_already", appeal)
    if appeal.assignee_id is not None:
        holder = await repo.users.get(appeal.assignee_id)
        raise Refusal("operator.already_taken", number=appeal.number, who=(holder.display_name if holder else None)
                      or "—")
    appeal.assignee_id = actor.id
    if appeal.status in (AppealStatus.REGISTERED, AppealStatus.REOPENED):
        move(appeal, AppealStatus.IN_WORK)
    await _event(repo, appeal, actor, "taken", now)
    return appeal


async def operators_for(repo: Repositories, appeal_id: int | None) -> Sequence[User]:
    """The operators of the appeal's ministry, whom a supervisor may hand it to (none for no appeal)."""
    appeal = await repo.appeals.get(appeal_id) if appeal_id else None
    return await repo.staff.operators_of(appeal.ministry_id) if appeal else []


async def reassign(repo: Repositories, appeal_id: int | None, actor: User, operator_id: int | None,
                   now: datetime) -> tuple[Appeal, User]:
    """A supervisor hands the appeal to an operator of its ministry: (the appeal, the operator)."""
    operator = await repo.users.get(operator_id) if operator_id else None
    if operator is None:
        raise refusal("error.stale_button")
    if not is_supervisor(actor):
        raise refusal("operator.supervisors_only")
    appeal = await _locked(repo, appeal_id, actor)
    if operator.role != Role.OPERATOR or operator.ministry_id != appeal.ministry_id:
        raise refusal("operator.not_of_ministry", appeal)
    appeal.assignee_id = operator.id
    if appeal.status in (AppealStatus.REGISTERED, AppealStatus.REOPENED):
        move(appeal, AppealStatus.IN_WORK)
    await _event(repo, appeal, actor, "reassigned", now, operator=operator.id)
    return appeal, operator


async def answer(repo: Repositories, appeal_id: int | None, actor: User, text: str, files: Sequence[Attachment],
                 now: datetime) -> Appeal:
    """The ministry's answer: the appeal is answered, its files kept, the reminders stop."""
    appeal = await _locked(repo, appeal_id, actor)
    move(appeal, AppealStatus.ANSWERED)
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
    return appeal


async def request_clarification(repo: Repositories, appeal_id: int | None, actor: User, question: str,
                                now: datetime) -> Appeal:
    """The ministry asks the citizen a question; the appeal waits for the reply."""
    appeal = await _locked(repo, appeal_id, actor)
    move(appeal, AppealStatus.CLARIFICATION_REQUESTED)
    appeal.clarification_since = now
    if appeal.assignee_id is None:
        appeal.assignee_id = actor.id
    await _event(repo, appeal, actor, "clarification_requested", now, reason=question)
    return appeal


async def receive_clarification(repo: Repositories, appeal_id: int, citizen: User, text: str,
                                files: Sequence[Attachment], now: datetime, pause_deadline: bool) -> Appeal:
    """The citizen's reply: attached to the appeal; the deadline moves only if the region pauses it."""
    appeal = await repo.appeals.get_for_update(appeal_id)
    if appeal is None or appeal.citizen_id != citizen.id:
        raise Refusal("error.appeal_not_found", number="")
    if appeal.status != AppealStatus.CLARIFICATION_REQUESTED:
        raise Refusal("clarify.not_waiting", number=appeal.number)
    if pause_deadline and appeal.clarification_since is not None:
        appeal.deadline_at += now - appeal.clarification_since
        appeal.next_reminder_at = now  # the scan works out the next moment for the moved deadline
    move(appeal, AppealStatus.IN_WORK)
    appeal.clarification_since = None
    for file in files:
        await repo.appeals.add_attachment(AppealAttachment(
            appeal_id=appeal.id, source="clarification", kind=file.kind, ref=file.ref, channel=file.channel,
            name=file.name, size=file.size, mime=file.mime))
    await _event(repo, appeal, citizen, "clarified", now, reason=text, files=len(files))
    return appeal


@dataclass(frozen=True)
class Redirected:
    """A redirected appeal, the ministry it left and whether the 7 days had passed."""

    appeal: Appeal
    previous: str
    late: bool


def ministry_chosen(settings: Settings, ministry_id: str | None) -> str:
    """The ministry a pressed button names; refused when the region has no such ministry."""
    if ministry_id not in settings.ministries:
        raise refusal("error.stale_button")
    return ministry_id


async def redirect(repo: Repositories, settings: Settings, appeal_id: int | None, actor: User, ministry_id: str,
                   reason: str, now: datetime, classifier: Classifier | None = None) -> Redirected:
    """The appeal goes to another ministry, with the reason; it is registered there anew."""
    if ministry_id not in settings.ministries:
        raise refusal("error.stale_button")
    appeal = await _locked(repo, appeal_id, actor)
    if ministry_id == appeal.ministry_id:
        raise refusal("redirect.same_ministry", appeal)
    previous, previous_sector = appeal.ministry_id, appeal.sector_id
    late = now - appeal.registered_at > REDIRECT_WITHIN
    appeal.ministry_id = ministry_id
    move(appeal, AppealStatus.REGISTERED)
    appeal.assignee_id = None
    appeal.redirect_count += 1
    # The new ministry's sector becomes the appeal's (it counts there in statistics, queues and reminders)
    # and the classifier's learned example.
    await routing_learning.correct_by_redirect(repo, settings, appeal, classifier, now)
    await _event(repo, appeal, actor, "redirected", now, reason=reason, late=late, to=ministry_id,
                 from_sector=previous_sector, to_sector=appeal.sector_id, **{"from": previous})
    return Redirected(appeal, previous, late)


def extension_chosen(text: str | None) -> Duration:
    """The duration a pressed button names; refused when it names none (a forged or outdated payload)."""
    try:
        return Duration.parse(text or "")
    except ValueError:
        raise refusal("error.stale_button") from None


def extension_options(settings: Settings) -> list[Duration]:
    """Choices offered to the operator, up to the configured maximum (59-ФЗ art. 12 p. 2: 30 days)."""
    maximum = Duration.parse(settings.deadlines.extension_max)
    steps = sorted({n for n in (5, 10, 15, 20, 30) if n < maximum.amount} | {maximum.amount})
    return [Duration(n, maximum.working) for n in steps]


async def extend(repo: Repositories, settings: Settings, calendar: ProductionCalendar, appeal_id: int | None,
                 actor: User, days: Duration, reason: str, now: datetime) -> Appeal:
    """The deadline moves once, by at most the configured maximum, with the reason."""
    appeal = await _locked(repo, appeal_id, actor)
    if appeal.extended:
        raise refusal("extend.only_once", appeal)
    maximum = Duration.parse(settings.deadlines.extension_max)
    if days.working != maximum.working or not 0 < days.amount <= maximum.amount:
        raise refusal("extend.too_long", appeal)
    old = appeal.deadline_at
    appeal.deadline_at = extend_deadline(old, days, calendar, settings.region.zone,
                                         parse_working_hours(settings.region.working_hours))
    appeal.extended = True
    appeal.next_reminder_at = next_reminder(Rules.from_settings(settings, calendar), appeal.deadline_at, now)
    await _event(repo, appeal, actor, "extended", now, reason=reason, old=old.isoformat(),
                 new=appeal.deadline_at.isoformat(), days=str(days))
    return appeal


async def queue(repo: Repositories, ministry_id: str | None, limit: int = 30,
                sector_id: str | None = None) -> Sequence[Appeal]:
    """Open appeals, nearest deadline first."""
    return await repo.appeals.open_by_deadline(OPEN, ministry_id, limit, sector_id)


async def overdue(repo: Repositories, now: datetime, limit: int = 50) -> Sequence[Appeal]:
    return await repo.appeals.overdue(OPEN, now, limit)
