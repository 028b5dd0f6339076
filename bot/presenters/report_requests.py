"""The report a supervisor asked for (/stats, /ranking, /export) as its message: the text and its chart, or
the workbook; and what is said when it failed.

``WORDING`` is what the report worker (``bot.services.report_jobs.ReportWorker``) is given: the worker sends
it to the report process, which composes the message there.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.events import Attachment, Reply
from bot.i18n import translator
from bot.presenters import report_files
from bot.presenters.reports import label, ranking_text, stats_text
from bot.services import exports, reports
from bot.services.periods import Period


def _file(path: Path, kind: str, name: str) -> Attachment:
    path.chmod(0o600)
    return Attachment(kind=kind, ref=str(path.resolve()), channel="local", name=name)  # type: ignore[arg-type]


async def compose(session: AsyncSession, settings: Settings, kind: str, period: Period, language: str,
                  now: datetime, directory: Path) -> Reply:
    """The report's message: the text and its chart, or the workbook."""
    slug = period.slug
    report = await reports.build_report(session, settings, period, now)
    if kind == "stats":
        chart = await report_files.stats_chart(report, settings, language,
                                               exports.new_file(directory, f"stats-{slug}", ".png"))
        return Reply(text=stats_text(report, settings, language),
                     attachments=[_file(chart, "photo", f"stats_{slug}.png")])
    standings = reports.ranking(report, settings)
    if kind == "ranking":
        text = ranking_text(report, standings, settings, language)
        if not standings:
            return Reply(text=text)
        chart = await report_files.ranking_chart(report, standings, settings, language,
                                                 exports.new_file(directory, f"ranking-{slug}", ".png"))
        return Reply(text=text, attachments=[_file(chart, "photo", f"ranking_{slug}.png")])
    path = exports.new_file(directory, f"appeals-{slug}", ".xlsx")
    cut = await report_files.workbook(session, report, standings, settings, language, path)
    t = translator(language)
    text = t("export.ready", period=label(period))
    if cut:
        text += "\n" + t("export.truncated", max=exports.MAX_ROWS)
    return Reply(text=text, attachments=[_file(path, "document", f"appeals_{slug}.xlsx")])


class ReportWording:
    """What the report worker is given (``ReportWorker(..., words=WORDING)``); sent to the report process."""

    async def compose(self, session: AsyncSession, settings: Settings, kind: str, period: Period, language: str,
                      now: datetime, directory: Path) -> Reply:
        return await compose(session, settings, kind, period, language, now, directory)

    def failed(self, language: str) -> Reply:
        return Reply(text=translator(language)("report.failed"))


WORDING = ReportWording()
