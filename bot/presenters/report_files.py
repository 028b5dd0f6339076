"""Report files for supervisors: a PNG chart of the statistics or the ranking, and the XLSX workbook.

Charts are drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global
state), so they render headless and from a worker thread. Files go where ``bot.services.exports`` says.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.domain.appeals import ANSWERED
from bot.i18n import translator
from bot.presenters import dates
from bot.presenters.reports import group_name, number_text
from bot.services import exports
from bot.services.exports import MAX_ROWS
from bot.services.reports import Figures, Report, Standing
from storage.report_repo import AppealRow, RatingRow

DATE_FORMAT = "DD.MM.YYYY HH:MM"
SHARE_FORMAT = "0%"
NUMBER_FORMAT = "0.0"
DPI = 100
LABEL_WIDTH = 30
COLOURS = ("#4C72B0", "#55A868", "#C44E52", "#8172B2")
# A cell typed by a citizen that begins like a formula (OWASP "CSV injection", also DDE in spreadsheets)
# is stored as text and marked so (quotePrefix), so editing it later does not turn it into a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- charts -------------------------------------------------------------------------------------

def _figure(rows: int) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, max(3.0, 0.6 * rows + 1.6)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _labels(names: Sequence[str]) -> list[str]:
    return ["\n".join(textwrap.wrap(name, LABEL_WIDTH)) or name for name in names]


def _legend_below(figure: Any, axes: Any, count: int) -> None:
    """The legend under the plot, never over a bar."""
    figure.legend(*axes.get_legend_handles_labels(), loc="outside lower center", ncols=min(count, 4), frameon=False)


def _stats_chart(items: Sequence[Figures], names: Sequence[str], language: str, title: str, path: Path) -> Path:
    _stats_figure(items, names, language, title).savefig(path, format="png")
    return path


def _stats_figure(items: Sequence[Figures], names: Sequence[str], language: str, title: str) -> Any:
    from matplotlib.ticker import MaxNLocator

    t = translator(language)
    figure = _figure(len(items))
    axes = figure.add_subplot()
    positions = list(range(len(items)))
    series = [
        (t("stats.chart_received"), [f.received for f in items]),
        (t("stats.chart_on_time"), [f.on_time for f in items]),
        (t("stats.chart_late"), [f.answered - f.on_time for f in items]),
        (t("stats.chart_overdue"), [f.overdue for f in items]),
    ]
    height = 0.8 / len(series)
    for n, (label, values) in enumerate(series):
        axes.barh([p + n * height for p in positions], values, height=height, label=label, color=COLOURS[n])
    axes.set_yticks([p + 0.4 - height / 2 for p in positions], _labels(names))
    axes.invert_yaxis()
    axes.set_title(title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts of appeals: 0, 1, 2, never 0.5
    _legend_below(figure, axes, len(series))
    axes.grid(axis="x", alpha=0.3)
    return figure


def _ranking_chart(standings: Sequence[Standing], names: Sequence[str], weights: Sequence[float], language: str,
                   title: str, path: Path) -> Path:
    _ranking_figure(standings, names, weights, language, title).savefig(path, format="png")
    return path


def _ranking_figure(standings: Sequence[Standing], names: Sequence[str], weights: Sequence[float], language: str,
                    title: str) -> Any:
    t = translator(language)
    figure = _figure(len(standings))
    axes = figure.add_subplot()
    total = sum(weights) or 1.0
    left = [0.0] * len(standings)
    parts = [("ranking.quantity", [s.quantity for s in standings]), ("ranking.speed", [s.speed for s in standings]),
             ("ranking.quality", [s.quality for s in standings]),
             ("ranking.completeness", [s.completeness for s in standings])]
    # Each bar is the index, split into what each component contributed to it.
    for n, ((key, values), weight) in enumerate(zip(parts, weights, strict=True)):
        widths = [100 * weight * v / total for v in values]
        axes.barh(range(len(standings)), widths, left=left, label=t(key), color=COLOURS[n])
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for row, standing in enumerate(standings):
        axes.text(left[row] + 1, row, number_text(standing.index, language), va="center")  # 76,7 in Russian
    axes.set_yticks(range(len(standings)), _labels([f"{s.place}. {name}" for s, name in zip(standings, names,
                                                                                         strict=True)]))
    axes.invert_yaxis()
    axes.set_xlim(0, 110)
    axes.set_title(title)
    _legend_below(figure, axes, len(parts))
    axes.grid(axis="x", alpha=0.3)
    return figure


async def stats_chart(report: Report, settings: Settings, language: str, path: Path) -> Path:
    items = report.ministries
    names = [group_name(settings, "ministry", f.key, language) for f in items]
    title = translator(language)("stats.chart_title", period=dates.period(report.period.first, report.period.last))
    return await asyncio.to_thread(_stats_chart, items, names, language, title, path)


async def ranking_chart(report: Report, standings: Sequence[Standing], settings: Settings, language: str,
                        path: Path) -> Path:
    names = [group_name(settings, "ministry", s.figures.key, language) for s in standings]
    w = settings.ranking
    title = translator(language)("ranking.chart_title", period=dates.period(report.period.first, report.period.last))
    return await asyncio.to_thread(_ranking_chart, standings, names, (w.quantity, w.speed, w.quality, w.completeness),
                                   language, title, path)


# --- the workbook -------------------------------------------------------------------------------

def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """Excel has no time zones: the region's wall-clock time, as staff read it."""
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None)


def _days(hours: float | None) -> float | None:
    return None if hours is None else hours / 24


FIGURE_COLUMNS: tuple[tuple[str, str | None, int], ...] = (
    # (message key of the header, number format, width)
    ("export.col_name", None, 46), ("export.col_received", None, 11), ("export.col_answered", None, 11),
    ("export.col_on_time", SHARE_FORMAT, 11), ("export.col_median_days", NUMBER_FORMAT, 13),
    ("export.col_p90_days", NUMBER_FORMAT, 13), ("export.col_overdue", None, 13),
    ("export.col_redirects", None, 13), ("export.col_late_redirects", None, 15), ("export.col_extensions", None, 11),
    ("export.col_mean_rating", NUMBER_FORMAT, 11), ("export.col_satisfied", SHARE_FORMAT, 13),
    ("export.col_reopened", SHARE_FORMAT, 13), ("export.col_unrated", SHARE_FORMAT, 13),
)
RANK_COLUMNS: tuple[tuple[str, str | None, int], ...] = (
    ("export.col_place", None, 8), ("export.col_index", NUMBER_FORMAT, 10),
)
APPEAL_COLUMNS: tuple[tuple[str, str | None, int], ...] = (
    ("export.col_number", None, 18), ("export.col_registered", DATE_FORMAT, 17), ("export.col_sector", None, 22),
    ("export.col_category", None, 28), ("export.col_ministry", None, 40), ("export.col_status", None, 22),
    ("export.col_deadline", DATE_FORMAT, 17), ("export.col_answered_at", DATE_FORMAT, 17),
    ("export.col_days_to_answer", NUMBER_FORMAT, 12), ("export.col_answered_on_time", None, 10),
    ("export.col_redirects", None, 13), ("export.col_extended", None, 11), ("export.col_reopens", None, 11),
    ("export.col_score", None, 9), ("export.col_applicant", None, 30), ("export.col_text", None, 80),
)
# Columns holding personal data (152-ФЗ): their headers say so and are coloured, so whoever passes the file on sees it.
PERSONAL_COLUMNS = frozenset({"export.col_applicant", "export.col_text"})
RATING_COLUMNS: tuple[tuple[str, str | None, int], ...] = (
    ("export.col_number", None, 18), ("export.col_ministry", None, 40), ("export.col_sector", None, 22),
    ("export.col_answer_no", None, 10), ("export.col_score", None, 9), ("export.col_comment", None, 60),
    ("export.col_rated_at", DATE_FORMAT, 17), ("export.col_changed_at", DATE_FORMAT, 17),
)


def figures_row(item: Figures, name: str) -> list[Any]:
    return [name, item.received, item.answered, item.on_time_share, _days(item.median_hours), _days(item.p90_hours),
            item.overdue, item.redirects, item.late_redirects, item.extensions, item.mean_rating,
            item.satisfied_share, item.reopened_share, item.unrated_share]


def _sheet(workbook: Any, title: str, columns: Sequence[tuple[str, str | None, int]], rows: Sequence[Sequence[Any]],
           language: str, first: bool = False) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    t = translator(language)
    sheet = workbook.active if first else workbook.create_sheet()
    sheet.title = title[:31]
    sheet.append([t(key) for key, _, _ in columns])
    for cell, (key, _, _) in zip(sheet[1], columns, strict=True):
        cell.font = Font(bold=True)
        if key in PERSONAL_COLUMNS:
            cell.fill = PatternFill("solid", fgColor="FCE4D6")
    for row in rows:
        sheet.append(list(row))
        if any(isinstance(value, str) and value.startswith(FORMULA_START) for value in row):
            _as_text(sheet[sheet.max_row])
    for index, (_, number_format, width) in enumerate(columns, 1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions  # every sheet can be filtered and sorted at once


def _as_text(cells: Sequence[Any]) -> None:
    for cell in cells:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
            cell.data_type = "s"
            cell.quotePrefix = True


def _write_workbook(path: Path, language: str, sheets: Sequence[tuple[str, Sequence[tuple[str, str | None, int]],
                                                                      Sequence[Sequence[Any]]]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    for n, (title, columns, rows) in enumerate(sheets):
        _sheet(workbook, title, columns, rows, language, first=n == 0)
    workbook.save(path)
    return path


def _appeal_row(row: AppealRow, settings: Settings, language: str) -> list[Any]:
    t, zone = translator(language), settings.region.zone
    answered = row.answered_at is not None and row.status in ANSWERED
    days = (row.answered_at - row.registered_at).total_seconds() / 86400 if answered and row.answered_at else None
    sector = settings.sectors.get(row.sector_id)
    category = sector.category(row.category_id) if sector else None
    category_name = (category.name_en if language == "en" and category.name_en else category.name) if category else ""
    on_time = None
    if answered and row.answered_at is not None:
        on_time = t("export.yes") if row.answered_at <= row.deadline_at else t("export.no")
    return [row.number, _local(row.registered_at, zone), group_name(settings, "sector", row.sector_id, language),
            category_name or row.category_id, group_name(settings, "ministry", row.ministry_id, language),
            t(f"status.{row.status}"), _local(row.deadline_at, zone), _local(row.answered_at, zone), days, on_time,
            row.redirect_count, t("export.yes") if row.extended else t("export.no"), row.reopen_count, row.score,
            row.citizen_name or "", row.text or ""]


def _rating_row(row: RatingRow, settings: Settings, language: str) -> list[Any]:
    zone = settings.region.zone
    return [row.number, group_name(settings, "ministry", row.ministry_id, language),
            group_name(settings, "sector", row.sector_id, language), row.answer_no, row.score, row.comment or "",
            _local(row.at, zone), _local(row.changed_at, zone)]


async def workbook(session: AsyncSession, report: Report, standings: Sequence[Standing], settings: Settings,
                   language: str, path: Path, max_rows: int = MAX_ROWS) -> bool:
    """Write the workbook; True if a sheet was cut at ``max_rows`` rows."""
    t = translator(language)
    appeal_rows, rating_rows = await exports.rows(session, report.period, max_rows + 1)
    appeals = [_appeal_row(r, settings, language) for r in appeal_rows]
    ratings = [_rating_row(r, settings, language) for r in rating_rows]
    cut = len(appeals) > max_rows or len(ratings) > max_rows
    places = {s.figures.key: s for s in standings}
    ministries = []
    for item in report.ministries:
        standing = places.get(item.key)
        rank = [standing.place, standing.index] if standing else [None, None]
        ministries.append([*figures_row(item, group_name(settings, "ministry", item.key, language)), *rank])
    ministries.append([*figures_row(report.total, t("stats.total")), None, None])
    sectors = [figures_row(f, group_name(settings, "sector", f.key, language)) for f in report.sectors]
    await asyncio.to_thread(_write_workbook, path, language, [
        (t("export.sheet_appeals"), APPEAL_COLUMNS, appeals[:max_rows]),
        (t("export.sheet_ministries"), FIGURE_COLUMNS + RANK_COLUMNS, ministries),
        (t("export.sheet_sectors"), FIGURE_COLUMNS, sectors),
        (t("export.sheet_ratings"), RATING_COLUMNS, ratings[:max_rows]),
    ])
    return cut
