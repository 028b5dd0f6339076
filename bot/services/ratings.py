"""The citizen's satisfaction with an answer, reopening a poor one, and the one reminder to rate.

One rating per answer (``answer_no``: the first answer is 1, the answer to a reopened appeal 2 ...).
It can be changed for ``[ratings] change_window_hours`` after it was given. A rating at or
below ``reopen_threshold`` lets the citizen send the appeal back to the same ministry as a
repeat appeal, within ``reopen_within_days`` of the answer and at most ``reopen_max`` times.
Every function checks ownership and state under the appeal's row lock and refuses
(``Refusal``: a message key) instead of acting; a forged or stale button therefore changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings
from bot.domain.appeals import ANSWERED, AppealStatus, move
from bot.domain.errors import Refusal
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import compute_deadline, deadline_for, next_working_moment, parse_working_hours
from bot.services.reminders import Rules, next_reminder
from storage.models import Appeal, AppealEvent, User
from storage.rating_models import AppealRating
from storage.report_repo import RatingRepo, ReportRepo
from storage.repositories import Repositories

SCORES = (1, 2, 3, 4, 5)
# A scan after downtime still reminds about answers this much older than the reminder moment;
# older ones are left alone (a reminder weeks late is noise), and the scan stays an index range.
REMINDER_LOOKBACK = timedelta(days=7)
REMINDER_BATCH = 500


@dataclass(frozen=True)
class Rated:
    """What a press did: the appeal and its rating (a refused press raises ``Refusal`` instead)."""

    appeal: Appeal
    rating: AppealRating
    changed: bool = False
    may_reopen: bool = False


def answer_no(appeal: Appeal) -> int:
    """Which answer the appeal holds now: each reopening is followed by one more answer."""
    return appeal.reopen_count + 1


def reopen_problem(settings: Settings, appeal: Appeal, rating: AppealRating | None, now: datetime) -> str | None:
    """Why this answer cannot be reopened now (a message key), or None if it can."""
    rules = settings.ratings
    if appeal.status not in ANSWERED:
        return "reopen.not_answered"
    if rating is None or rating.score > rules.reopen_threshold:
        return "reopen.not_low"
    if appeal.reopen_count >= rules.reopen_max:
        return "reopen.limit"
    if appeal.answered_at is None or now - appeal.answered_at > timedelta(days=rules.reopen_within_days):
        return "reopen.too_late"
    return None


async def _own_appeal(repo: Repositories, citizen: User, appeal_id: int) -> Appeal | None:
    """The appeal locked for the change, if it is this citizen's (a forged id reveals nothing)."""
    appeal = await repo.appeals.get_for_update(appeal_id)
    return appeal if appeal is not None and appeal.citizen_id == citizen.id else None


def _unanswered_problem(appeal: Appeal) -> str:
    redirected = appeal.status == AppealStatus.REDIRECTED or appeal.redirect_count
    return "rating.redirected" if redirected else "rating.not_answered"


async def _event(repo: Repositories, appeal: Appeal, citizen: User, kind: str, now: datetime,
                 reason: str | None = None, **details: object) -> None:
    await repo.appeals.add_event(AppealEvent(appeal_id=appeal.id, actor_id=citizen.id, kind=kind,
                                             status=appeal.status, reason=reason, details=dict(details), at=now))


async def rate(repo: Repositories, settings: Settings, citizen: User, appeal_id: int, score: int,
               now: datetime) -> Rated:
    """Give or change the rating of the appeal's current answer."""
    if score not in SCORES:
        raise Refusal("rating.invalid")
    appeal = await _own_appeal(repo, citizen, appeal_id)
    if appeal is None:
        raise Refusal("error.appeal_not_found")
    if appeal.status not in ANSWERED:
        raise Refusal(_unanswered_problem(appeal))
    ratings = RatingRepo(repo.session)
    rating = await ratings.get(appeal.id, answer_no(appeal))
    if rating is None:
        rating = await ratings.add(AppealRating(
            appeal_id=appeal.id, answer_no=answer_no(appeal), score=score, at=now, ministry_id=appeal.ministry_id,
            sector_id=appeal.sector_id, registered_at=appeal.registered_at))
        move(appeal, AppealStatus.RATED)
        await _event(repo, appeal, citizen, "rated", now, score=score, answer_no=rating.answer_no)
        return Rated(appeal, rating, may_reopen=reopen_problem(settings, appeal, rating, now) is None)
    if rating.score == score:
        raise Refusal("rating.unchanged")
    if now - rating.at > timedelta(hours=settings.ratings.change_window_hours):
        raise Refusal("rating.window_closed")
    old, rating.score, rating.changed_at = rating.score, score, now
    await _event(repo, appeal, citizen, "rated", now, score=score, old=old, answer_no=rating.answer_no)
    return Rated(appeal, rating, changed=True, may_reopen=reopen_problem(settings, appeal, rating, now) is None)


async def comment(repo: Repositories, settings: Settings, citizen: User, appeal_id: int, number: int,
                  text: str | None, now: datetime) -> Rated:
    """Attach the citizen's comment to the rating of answer ``number`` (None: skipped); may they reopen now?"""
    appeal = await _own_appeal(repo, citizen, appeal_id)
    if appeal is None:
        raise Refusal("error.appeal_not_found")
    rating = await RatingRepo(repo.session).get(appeal.id, number)
    if rating is None:
        raise Refusal("rating.not_rated")
    if text is not None:
        rating.comment = text[:settings.limits.comment_max_length]
    may_reopen = number == answer_no(appeal) and reopen_problem(settings, appeal, rating, now) is None
    return Rated(appeal, rating, may_reopen=may_reopen)


async def current_rating(repo: Repositories, appeal: Appeal) -> AppealRating | None:
    return await RatingRepo(repo.session).get(appeal.id, answer_no(appeal))


async def reopen(repo: Repositories, settings: Settings, calendar: ProductionCalendar, citizen: User,
                 appeal_id: int, now: datetime) -> Rated:
    """Back to the same ministry as a repeat appeal, with a new term and the citizen's comment."""
    appeal = await _own_appeal(repo, citizen, appeal_id)
    if appeal is None:
        raise Refusal("error.appeal_not_found")
    rating = await RatingRepo(repo.session).get(appeal.id, answer_no(appeal))
    problem = reopen_problem(settings, appeal, rating, now)
    if problem is not None:
        raise Refusal(problem)
    assert rating is not None
    old_deadline = appeal.deadline_at
    zone, hours = settings.region.zone, parse_working_hours(settings.region.working_hours)
    # A repeat appeal is considered anew: a full term from today (59-ФЗ art. 12), else it would
    # be overdue the moment it is reopened. The previous deadline stays in the event.
    appeal.deadline_at = compute_deadline(now, deadline_for(settings, appeal.sector_id, appeal.category_id), calendar,
                                          zone, hours)
    move(appeal, AppealStatus.REOPENED)
    appeal.reopen_count += 1
    appeal.assignee_id = None  # the card offers "Take" again: whoever reviews the repeat takes it anew
    appeal.next_reminder_at = next_reminder(Rules.from_settings(settings, calendar), appeal.deadline_at, now)
    await _event(repo, appeal, citizen, "reopened", now, reason=rating.comment, score=rating.score,
                 answer_no=rating.answer_no, old_deadline=old_deadline.isoformat(),
                 deadline=appeal.deadline_at.isoformat())
    return Rated(appeal, rating)


async def erase_comments(repo: Repositories, appeal_id: int) -> None:
    """For the privacy erasure: comments are the citizen's own words and may name them."""
    await RatingRepo(repo.session).erase_comments(appeal_id)


@dataclass(frozen=True)
class Reminder:
    """One reminder to rate, already claimed in the notice ledger: queue it in this transaction."""

    appeal: Appeal
    citizen: User
    key: str
    due_at: datetime


async def claim_reminders(repo: Repositories, settings: Settings, calendar: ProductionCalendar,
                          now: datetime) -> list[Reminder]:
    """Answers not rated within ``reminder_after_days``: each claimed once, so never a second reminder."""
    due = now - timedelta(days=settings.ratings.reminder_after_days)
    reports = ReportRepo(repo.session)
    appeals = await reports.unrated_answers(due - REMINDER_LOOKBACK, due, REMINDER_BATCH)
    citizens = await reports.users(a.citizen_id for a in appeals)
    # Not at night: the reminder waits for the region's working hours.
    hours = parse_working_hours(settings.region.working_hours)
    send_at = next_working_moment(now, calendar, settings.region.zone, hours)
    claimed = []
    for appeal in appeals:
        citizen = citizens.get(appeal.citizen_id)
        key = f"rate-remind:{appeal.id}:{answer_no(appeal)}"
        if citizen is None or citizen.unreachable_reason or not await repo.notices.claim(key, now):
            continue
        claimed.append(Reminder(appeal, citizen, key, send_at))
    return claimed
