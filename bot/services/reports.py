"""Statistics per ministry and sector, the ministry ranking, the weekly digest's figures.

The numbers come from SQL aggregates (``storage.report_repo``); what is here is pure: shares,
percentiles from the hour histogram, the composite index (docs/ranking.md). The periods a supervisor
names in words are ``bot.services.periods``; the texts, charts and workbook are ``bot.presenters``.
``now`` is always passed in.

Every figure is about the appeals *registered in the period* (a cohort), so shares are of one
set of appeals: of the appeals received in March, how many are answered, how many on time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Duration, Ranking, Settings
from bot.domain.appeals import ANSWERED, OPEN, AppealStatus
from bot.services.periods import (
    PERIOD_WORDS,
    Period,
    PeriodError,
    named_period,
    parse_date,
    parse_period,
    previous_week,
)
from storage.report_repo import Cell, OverdueRow, RatingCell, RedirectCell, ReportRepo

Grouping = Literal["ministry", "sector"]
SATISFIED_FROM = 4
DIGEST_OVERDUE_LINES = 10
# The names periods were known by here before they had a module of their own.
__all__ = ["PERIOD_WORDS", "Period", "PeriodError", "named_period", "parse_date", "parse_period", "previous_week"]
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


# --- the weekly digest's figures ------------------------------------------------------------------

@dataclass(frozen=True)
class Digest:
    """Last week's report and ranking, and the appeals that became overdue in it (``overdue_count`` in
    all, the first ``DIGEST_OVERDUE_LINES`` of them in ``overdue``)."""

    report: Report
    standings: list[Standing]
    overdue_count: int
    overdue: Sequence[OverdueRow]


async def digest(session: AsyncSession, settings: Settings, period: Period, now: datetime) -> Digest:
    report = await build_report(session, settings, period, now)
    count, overdue = await ReportRepo(session).became_overdue(period.start, period.end, DIGEST_OVERDUE_LINES)
    return Digest(report, ranking(report, settings), count, overdue)
