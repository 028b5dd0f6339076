"""Reports worded: the statistics and the ranking as text, the weekly digest; names, shares and numbers
as a supervisor reads them. The report a supervisor asked for is ``report_requests``; its charts and
workbook ``report_files``."""

from __future__ import annotations

from babel.numbers import format_decimal, format_percent

from bot.config import Settings
from bot.i18n import translator
from bot.presenters import dates
from bot.services.periods import Period
from bot.services.reports import Digest, Figures, Grouping, Report, Standing

DIGEST_RANKING_LINES = 10


def label(period: Period) -> str:
    return dates.period(period.first, period.last)


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
    lines = [t("stats.title", period=label(report.period)),
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
    lines = [t("stats.title", period=label(report.period)), "", t("stats.by_ministry")]
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
    lines = [t("ranking.title", period=label(report.period)),
             t("ranking.weights", quantity=w.quantity, speed=w.speed, quality=w.quality, completeness=w.completeness)]
    lines += ranking_lines(standings, settings, language) or [t("ranking.empty")]
    ranked = {s.figures.key for s in standings}
    unranked = [f for f in report.ministries if f.key not in ranked]
    if unranked:
        lines += ["", t("ranking.no_data_title")]
        lines += [t("ranking.no_data", name=group_name(settings, "ministry", f.key, language), received=f.received)
                  for f in unranked]
    return "\n".join(lines)


def digest_text(settings: Settings, digest: Digest, language: str) -> str:
    """The weekly digest: last week's total, the ranking's top, what became overdue."""
    t = translator(language)
    report = digest.report
    lines = [t("digest.title", period=label(report.period)),
             figures_line(report.total, t("stats.total"), language), "", t("digest.ranking")]
    lines += ranking_lines(digest.standings, settings, language, DIGEST_RANKING_LINES) or [t("ranking.empty")]
    lines += ["", t("digest.overdue", count=digest.overdue_count)]
    lines += [t("digest.overdue_line", number=row.number, ministry=group_name(settings, "ministry", row.ministry_id,
                                                                              language),
                deadline=dates.day(row.deadline_at, settings.region.zone))
              for row in digest.overdue]
    if digest.overdue_count > len(digest.overdue):
        lines.append(t("digest.overdue_more", count=digest.overdue_count - len(digest.overdue)))
    return "\n".join(lines)
