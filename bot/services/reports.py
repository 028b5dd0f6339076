"""Statistics per ministry and sector, the ministry ranking, report periods, the weekly digest.

The numbers come from SQL aggregates (``storage.report_repo``); what is here is pure: shares,
percentiles from the hour histogram, the composite index (docs/ranking.md), the periods a
supervisor names in words, and the texts. ``now`` is always passed in.

Every figure is about the appeals *registered in the period* (a cohort), so shares are of one
set of appeals: of the appeals received in March, how many are answered, how many on time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Duration, Ranking, Settings
from bot.domain.appeals import ANSWERED, OPEN, AppealStatus
from bot.events import Reply
from bot.i18n import translator
from bot.services.audience import SUPERVISORS
from bot.services.calendar import ProductionCalendar
from bot.services.deadlines import next_working_moment, parse_working_hours
from bot.services.outbox import notify_user
from storage.engine import read_in_thread
from storage.models import User
from storage.report_repo import Cell, RatingCell, RedirectCell, ReportRepo
from storage.repositories import Repositories

Grouping = Literal["ministry", "sector"]
SATISFIED_FROM = 4
DIGEST_OVERDUE_LINES = 10
DIGEST_RANKING_LINES = 10
# A date as the bot prints it (dd.mm.yyyy) or as ISO (yyyy-mm-dd); a period is two of them.
DATE_RE = r"(\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})"
EXPLICIT_RE = re.compile(rf"^(?:с\s+|from\s+)?{DATE_RE}\s*(?:\.\.|…|—|–|\s-\s|-|\s|\s?по\s|\s?to\s)\s*{DATE_RE}$")
DAY_RE = re.compile(rf"^{DATE_RE}$")
# What a supervisor may type after /stats, in Russian or English ("ё" is folded to "е").
PERIOD_WORDS: dict[str, tuple[str, ...]] = {
    "week": ("week", "this week", "неделя", "эта неделя", "текущая неделя", "за неделю"),
    "last_week": ("last week", "previous week", "прошлая неделя", "предыдущая неделя", "за прошлую неделю"),
    "month": ("month", "this month", "месяц", "этот месяц", "текущий месяц", "за месяц"),
    "last_month": ("last month", "previous month", "прошлый месяц", "предыдущий месяц", "за прошлый месяц"),
    "quarter": ("quarter", "this quarter", "квартал", "этот квартал", "текущий квартал", "за квартал"),
    "year": ("year", "this year", "год", "этот год", "текущий год", "за год"),
}


class PeriodError(ValueError):
    """The words name no period; the supervisor is shown the examples."""


# --- periods --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Local dates ``first``..``last`` inclusive; ``start``/``end`` the UTC bounds, end excluded."""

    first: date
    last: date
    start: datetime
    end: datetime

    @classmethod
    def between(cls, first: date, last: date, zone: ZoneInfo) -> Period:
        if last < first:
            raise PeriodError(f"the period ends ({last}) before it starts ({first})")
        start = datetime.combine(first, time(0), tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
        return cls(first, last, start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC")))

    @property
    def label(self) -> str:
        return f"{self.first:%d.%m.%Y}–{self.last:%d.%m.%Y}"

    @property
    def slug(self) -> str:
        return f"{self.first.isoformat()}_{self.last.isoformat()}"


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def named_period(name: str, today: date, zone: ZoneInfo) -> Period:
    monday = today - timedelta(days=today.weekday())
    if name == "week":
        return Period.between(monday, monday + timedelta(days=6), zone)
    if name == "last_week":
        return Period.between(monday - timedelta(days=7), monday - timedelta(days=1), zone)
    if name == "month":
        return Period.between(_month_start(today), _month_start(today, -1) - timedelta(days=1), zone)
    if name == "last_month":
        return Period.between(_month_start(today, 1), _month_start(today) - timedelta(days=1), zone)
    if name == "quarter":
        first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return Period.between(first, _month_start(first, -3) - timedelta(days=1), zone)
    if name == "year":
        return Period.between(date(today.year, 1, 1), date(today.year, 12, 31), zone)
    raise PeriodError(f"unknown period {name!r}")


def parse_period(text: str, now: datetime, zone: ZoneInfo) -> Period:
    """A period from the supervisor's words; nothing typed means this month."""
    words = " ".join(text.lower().replace("ё", "е").split())
    today = now.astimezone(zone).date()
    if not words:
        return named_period("month", today, zone)
    for name, spellings in PERIOD_WORDS.items():
        if words in spellings:
            return named_period(name, today, zone)
    match = EXPLICIT_RE.match(words)
    if match is None:
        day = DAY_RE.match(words)
        if day is not None and "." in words:  # one day, as the bot prints it: that day alone
            first = parse_date(day.group(1))
            return Period.between(first, first, zone)
        raise PeriodError(f"not a period: {text!r}")
    return Period.between(parse_date(match.group(1)), parse_date(match.group(2)), zone)


def parse_date(text: str) -> date:
    """``31.03.2026`` (as the bot prints dates) or ``2026-03-31``; PeriodError when it is neither."""
    try:
        if "." in text:
            day, month, year = (int(part) for part in text.strip().split("."))
            return date(year, month, day)
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise PeriodError(f"not a date: {text!r}") from exc


# --- figures --------------------------------------------------------------------------------------

def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(histogram: Mapping[int, int], p: float) -> float | None:
    """Nearest-rank percentile (the value at rank ⌈p·n⌉) of a {value: count} histogram."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(p * n))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return float(max(histogram))


@dataclass(frozen=True)
class Figures:
    """One ministry's or sector's numbers for a period; the shares are derived, None when undefined."""

    key: str
    received: int = 0
    answered: int = 0
    on_time: int = 0
    overdue: int = 0
    extensions: int = 0
    ever_answered: int = 0
    reopened: int = 0
    unrated: int = 0
    redirects: int = 0
    late_redirects: int = 0
    ratings: int = 0
    rating_total: int = 0
    satisfied: int = 0
    hours: Mapping[int, int] = field(default_factory=dict)

    @property
    def on_time_share(self) -> float | None:
        return _share(self.on_time, self.answered)

    @property
    def answered_share(self) -> float | None:
        return _share(self.answered, self.received)

    @property
    def median_hours(self) -> float | None:
        return percentile(self.hours, 0.5)

    @property
    def p90_hours(self) -> float | None:
        return percentile(self.hours, 0.9)

    @property
    def mean_rating(self) -> float | None:
        return self.rating_total / self.ratings if self.ratings else None

    @property
    def satisfied_share(self) -> float | None:
        return _share(self.satisfied, self.ratings)

    @property
    def reopened_share(self) -> float | None:
        return _share(self.reopened, self.ever_answered)

    @property
    def unrated_share(self) -> float | None:
        return _share(self.unrated, self.answered)


COUNT_FIELDS = ("received", "answered", "on_time", "overdue", "extensions", "ever_answered", "reopened", "unrated",
                "redirects", "late_redirects", "ratings", "rating_total", "satisfied")


def combine(key: str, parts: Iterable[Figures]) -> Figures:
    """The sum of several groups' figures: counts and hour histograms add up, so totals are exact."""
    items = list(parts)
    hours: dict[int, int] = {}
    for item in items:
        for bucket, count in item.hours.items():
            hours[bucket] = hours.get(bucket, 0) + count
    sums = {name: sum(getattr(item, name) for item in items) for name in COUNT_FIELDS}
    return Figures(key, hours=hours, **sums)




def _empty(keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {key: {"hours": {}} for key in keys}


def _add(into: dict[str, dict[str, Any]], key: str, **counts: int) -> dict[str, Any]:
    entry = into.setdefault(key, {"hours": {}})
    for name, value in counts.items():
        entry[name] = entry.get(name, 0) + value
    return entry


def _add_cell(into: dict[str, dict[str, Any]], key: str, cell: Cell) -> None:
    answered = cell.status in ANSWERED
    entry = _add(into, key, received=cell.appeals, extensions=cell.extended, ever_answered=cell.ever_answered,
                 reopened=cell.reopened, answered=cell.appeals if answered else 0,
                 on_time=cell.on_time if answered else 0, overdue=cell.past_deadline if cell.status in OPEN else 0,
                 unrated=cell.appeals if cell.status == AppealStatus.ANSWERED else 0)
    if answered and cell.hours is not None:
        entry["hours"][cell.hours] = entry["hours"].get(cell.hours, 0) + cell.appeals


def fold(grouping: Grouping, keys: Iterable[str], cells: Iterable[Cell], ratings: Iterable[RatingCell],
         redirects: Iterable[RedirectCell]) -> list[Figures]:
    """Cells into one Figures per ministry (or sector): configured keys first, in config order, with zeros.

    A ministry answers for the redirects it made (the event's "from"); a sector for its appeals'.
    """
    by_key = _empty(keys)
    for cell in cells:
        _add_cell(by_key, cell.ministry_id if grouping == "ministry" else cell.sector_id, cell)
    for rating in ratings:
        _add(by_key, rating.ministry_id if grouping == "ministry" else rating.sector_id, ratings=rating.ratings,
             rating_total=rating.score * rating.ratings,
             satisfied=rating.ratings if rating.score >= SATISFIED_FROM else 0)
    for redirect in redirects:
        _add(by_key, redirect.from_ministry if grouping == "ministry" else redirect.sector_id,
             redirects=redirect.redirects, late_redirects=redirect.late)
    return [Figures(key, **values) for key, values in by_key.items()]


@dataclass(frozen=True)
class Report:
    period: Period
    now: datetime
    ministries: list[Figures]
    sectors: list[Figures]

    @property
    def total(self) -> Figures:
        return combine("total", self.ministries)


async def build_report(session: AsyncSession, settings: Settings, period: Period, now: datetime) -> Report:
    """Three aggregate queries for the period, folded per ministry and per sector."""
    db = ReportRepo(session)
    cells = await db.cells(period.start, period.end, now)
    ratings = await db.rating_cells(period.start, period.end)
    redirects = await db.redirect_cells(period.start, period.end)
    return Report(period, now, fold("ministry", settings.ministries, cells, ratings, redirects),
                  fold("sector", settings.sectors, cells, ratings, redirects))


# --- the ranking (docs/ranking.md) ------------------------------------------------------------------

@dataclass(frozen=True)
class Standing:
    place: int
    figures: Figures
    quantity: float
    speed: float
    quality: float
    completeness: float
    index: float


def legal_term_hours(settings: Settings) -> float:
    """The default answer term in hours (59-ФЗ art. 12: 30 days); working days count as 7/5 calendar days."""
    term = Duration.parse(settings.deadlines.default)
    days = term.amount * 7 / 5 if term.working else term.amount
    return max(days, 1) * 24.0


def components(item: Figures, most_answered: int, term_hours: float) -> tuple[float, float, float, float]:
    """Quantity, speed, quality, completeness, each in 0..1."""
    quantity = item.answered / most_answered if most_answered else 0.0
    median = item.median_hours
    speed = 0.0
    if item.answered and median is not None:
        speed = 0.5 * (item.on_time_share or 0.0) + 0.5 * (1 - min(median, term_hours) / term_hours)
    quality = 0.5  # no ratings: neither rewarded nor punished for citizens' silence
    if item.ratings:
        quality = 0.5 * ((item.mean_rating or 1.0) - 1) / 4 + 0.5 * (item.satisfied_share or 0.0)
    kept = 1 - item.reopened_share if item.reopened_share is not None else 0.0
    completeness = 0.5 * (item.answered_share or 0.0) + 0.5 * kept
    return quantity, speed, quality, completeness


def rank(figures: Iterable[Figures], weights: Ranking, term_hours: float) -> list[Standing]:
    """Ministries that answered appeals of the period, best first; the index is 0..100; equal indexes share a place.

    A ministry with no answer has nothing to judge its speed or quality by: it is not given a score
    made of defaults, the texts say "нет данных" for it instead."""
    ranked = [f for f in figures if f.answered > 0]
    most = max((f.answered for f in ranked), default=0)
    w = (weights.quantity, weights.speed, weights.quality, weights.completeness)
    if sum(w) == 0:
        w = (1.0, 1.0, 1.0, 1.0)
    scored = []
    for item in ranked:
        parts = components(item, most, term_hours)
        index = 100 * sum(weight * part for weight, part in zip(w, parts, strict=True)) / sum(w)
        scored.append((item, parts, round(index, 1)))
    # Ties: the better on-time share, then the key, so the order is stable from run to run.
    scored.sort(key=lambda s: (-s[2], -(s[0].on_time_share or 0.0), s[0].key))
    standings: list[Standing] = []
    for position, (item, parts, index) in enumerate(scored, 1):
        # Competition ranking ("1, 1, 3"): the same index is the same place.
        place = standings[-1].place if standings and standings[-1].index == index else position
        standings.append(Standing(place, item, *parts, index))
    return standings


def ranking(report: Report, settings: Settings) -> list[Standing]:
    return rank(report.ministries, settings.ranking, legal_term_hours(settings))


# --- texts --------------------------------------------------------------------------------------

def _pick(language: str, ru: str, en: str) -> str:
    return en if language == "en" and en else ru


def group_name(settings: Settings, grouping: Grouping, key: str, language: str) -> str:
    if grouping == "ministry":
        ministry = settings.ministries.get(key)
        return _pick(language, ministry.name, ministry.name_en) if ministry else key
    sector = settings.sectors.get(key)
    return _pick(language, sector.name, sector.name_en) if sector else key


def share_text(value: float | None, language: str) -> str:
    return "—" if value is None else format_percent(value, format="0%", locale=language)


def number_text(value: float | None, language: str) -> str:
    return "—" if value is None else format_decimal(value, format="0.0", locale=language)


def days_text(hours: float | None, language: str) -> str:
    return number_text(None if hours is None else hours / 24, language)


def figures_line(item: Figures, name: str, language: str) -> str:
    t = translator(language)
    return t("stats.line", name=name, received=item.received, answered=item.answered,
             on_time=share_text(item.on_time_share, language), median=days_text(item.median_hours, language),
             p90=days_text(item.p90_hours, language), overdue=item.overdue, redirects=item.redirects,
             late=item.late_redirects, extensions=item.extensions,
             rating=number_text(item.mean_rating, language), satisfied=share_text(item.satisfied_share, language),
             reopened=share_text(item.reopened_share, language), unrated=share_text(item.unrated_share, language))


def stats_text(report: Report, settings: Settings, language: str) -> str:
    """Readable on a phone: a short summary, then one line per ministry that had appeals.

    The per-sector figures and the other measures are in the chart and the workbook (/export)."""
    t = translator(language)
    total = report.total
    lines = [t("stats.title", period=report.period.label),
             t("stats.summary", received=total.received, answered=total.answered,
               on_time=share_text(total.on_time_share, language), overdue=total.overdue,
               rating=number_text(total.mean_rating, language), median=days_text(total.median_hours, language))]
    busy = [f for f in report.ministries if f.received > 0]
    if busy:
        lines += ["", t("stats.by_ministry")]
        lines += [t("stats.ministry_line", name=group_name(settings, "ministry", f.key, language), received=f.received,
                    answered=f.answered, on_time=share_text(f.on_time_share, language), overdue=f.overdue,
                    rating=number_text(f.mean_rating, language)) for f in busy]
    lines += ["", t("stats.details")]
    return "\n".join(lines)


def stats_table(report: Report, settings: Settings, language: str) -> str:
    """Every measure per ministry and sector: for the command line, where the lines may be long."""
    t = translator(language)
    lines = [t("stats.title", period=report.period.label), "", t("stats.by_ministry")]
    lines += [figures_line(f, group_name(settings, "ministry", f.key, language), language) for f in report.ministries]
    lines += ["", t("stats.by_sector")]
    lines += [figures_line(f, group_name(settings, "sector", f.key, language), language) for f in report.sectors]
    lines += ["", figures_line(report.total, t("stats.total"), language)]
    return "\n".join(lines)


def ranking_lines(standings: list[Standing], settings: Settings, language: str, limit: int | None = None) -> list[str]:
    t = translator(language)
    return [t("ranking.line", place=s.place, name=group_name(settings, "ministry", s.figures.key, language),
              index=number_text(s.index, language), quantity=share_text(s.quantity, language),
              speed=share_text(s.speed, language), quality=share_text(s.quality, language),
              completeness=share_text(s.completeness, language))
            for s in standings[:limit]]


def ranking_text(report: Report, standings: list[Standing], settings: Settings, language: str) -> str:
    t = translator(language)
    w = settings.ranking
    lines = [t("ranking.title", period=report.period.label),
             t("ranking.weights", quantity=w.quantity, speed=w.speed, quality=w.quality, completeness=w.completeness)]
    lines += ranking_lines(standings, settings, language) or [t("ranking.empty")]
    ranked = {s.figures.key for s in standings}
    unranked = [f for f in report.ministries if f.key not in ranked]
    if unranked:
        lines += ["", t("ranking.no_data_title")]
        lines += [t("ranking.no_data", name=group_name(settings, "ministry", f.key, language), received=f.received)
                  for f in unranked]
    return "\n".join(lines)


# --- the weekly digest to supervisors -------------------------------------------------------------

def previous_week(now: datetime, zone: ZoneInfo) -> Period:
    return named_period("last_week", now.astimezone(zone).date(), zone)


async def _digest_text(session: AsyncSession, settings: Settings, report: Report, standings: list[Standing],
                       language: str) -> str:
    t = translator(language)
    total = report.total
    lines = [t("digest.title", period=report.period.label),
             figures_line(total, t("stats.total"), language), "", t("digest.ranking")]
    lines += ranking_lines(standings, settings, language, DIGEST_RANKING_LINES) or [t("ranking.empty")]
    count, overdue = await ReportRepo(session).became_overdue(report.period.start, report.period.end,
                                                              DIGEST_OVERDUE_LINES)
    lines += ["", t("digest.overdue", count=count)]
    lines += [t("digest.overdue_line", number=row.number, ministry=group_name(settings, "ministry", row.ministry_id,
                                                                              language),
                deadline=row.deadline_at.astimezone(settings.region.zone).strftime("%d.%m.%Y"))
              for row in overdue]
    if count > len(overdue):
        lines.append(t("digest.overdue_more", count=count - len(overdue)))
    return "\n".join(lines)


async def scan_weekly_digest(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                             calendar: ProductionCalendar, now: datetime) -> int:
    """Once a week, in working hours: last week's figures, the ranking and what became overdue.

    The notice ledger keys each digest by week and supervisor, so any number of runs (or
    instances) queue it once; after downtime the missed week still goes out on the next run.
    The figures are read on an engine of their own (``storage.engine.read_in_thread``), outside any
    transaction the conversations wait for; only the claim and the queueing write.
    """
    zone = settings.region.zone
    moment = next_working_moment(now, calendar, zone, parse_working_hours(settings.region.working_hours))
    if moment != now:
        return 0  # outside working hours: a later run sends it
    period = previous_week(now, zone)

    def key(supervisor: User) -> str:
        return f"digest:weekly:{period.first.isoformat()}:{supervisor.id}"

    async with sessionmaker() as session:
        repo = Repositories(session)
        supervisors = [s for s in await repo.staff.supervisors() if not s.unreachable_reason]
        done = await repo.notices.claimed([key(s) for s in supervisors])
    waiting = [s for s in supervisors if key(s) not in done]
    if not waiting:
        return 0

    async def compose(session: AsyncSession) -> dict[str, str]:
        report = await build_report(session, settings, period, now)
        standings = ranking(report, settings)
        return {language: await _digest_text(session, settings, report, standings, language)
                for language in sorted({s.language for s in waiting})}

    texts = await read_in_thread(settings.database.url, compose)
    queued = 0
    async with sessionmaker() as session, session.begin():
        repo = Repositories(session)
        for supervisor in waiting:
            if not await repo.notices.claim(key(supervisor), now):
                continue
            await notify_user(repo, supervisor, Reply(text=texts[supervisor.language]), dedup_key=key(supervisor),
                              now=now, audience=SUPERVISORS)
            queued += 1
    return queued
