"""Supervisors' commands: /stats, /ranking, /export [period] — a text table with a chart, or a workbook.

The period is typed after the command in words ("прошлый месяц", "quarter") or as dates
("2026-01-01..2026-03-31"); nothing means this month. Anyone else gets a polite refusal.
"""

from __future__ import annotations

from pathlib import Path

from bot.events import Attachment, Reply
from bot.services import exports, reports, staff
from bot.services.reports import Period, PeriodError
from handlers.citizen import complain
from handlers.context import Context
from handlers.router import Router


def setup(router: Router) -> None:
    router.command("stats", show_stats)
    router.command("ranking", show_ranking)
    router.command("export", send_export)


async def _period(ctx: Context) -> Period | None:
    """The period asked for, or None after a polite refusal (not a supervisor, words not understood)."""
    if not staff.is_supervisor(ctx.user):
        await complain(ctx, "stats.supervisors_only")
        return None
    try:
        return reports.parse_period(str(ctx.extras.get("argument", "")), ctx.now, ctx.settings.region.zone)
    except PeriodError:
        ctx.say("stats.bad_period")
        return None


def _directory(ctx: Context) -> Path:
    base = ctx.extras.get("exports_dir")
    return exports.exports_dir(Path(base) if base else None)


def _file(path: Path, kind: str, name: str) -> Attachment:
    return Attachment(kind=kind, ref=str(path.resolve()), channel="local", name=name)  # type: ignore[arg-type]


async def show_stats(ctx: Context) -> None:
    period = await _period(ctx)
    if period is None:
        return
    language = ctx.user.language
    report = await reports.build_report(ctx.repo.session, ctx.settings, period, ctx.now)
    chart = await exports.stats_chart(report, ctx.settings, language,
                                      exports.new_file(_directory(ctx), f"stats-{period.slug}", ".png"))
    ctx.replies.append(Reply(text=reports.stats_text(report, ctx.settings, language),
                             attachments=[_file(chart, "photo", f"stats_{period.slug}.png")]))


async def show_ranking(ctx: Context) -> None:
    period = await _period(ctx)
    if period is None:
        return
    language = ctx.user.language
    report = await reports.build_report(ctx.repo.session, ctx.settings, period, ctx.now)
    standings = reports.ranking(report, ctx.settings)
    text = reports.ranking_text(report, standings, ctx.settings, language)
    if not standings:
        ctx.say_text(text)
        return
    chart = await exports.ranking_chart(report, standings, ctx.settings, language,
                                        exports.new_file(_directory(ctx), f"ranking-{period.slug}", ".png"))
    ctx.replies.append(Reply(text=text, attachments=[_file(chart, "photo", f"ranking_{period.slug}.png")]))


async def send_export(ctx: Context) -> None:
    period = await _period(ctx)
    if period is None:
        return
    language = ctx.user.language
    report = await reports.build_report(ctx.repo.session, ctx.settings, period, ctx.now)
    path = exports.new_file(_directory(ctx), f"appeals-{period.slug}", ".xlsx")
    cut = await exports.workbook(ctx.repo.session, report, reports.ranking(report, ctx.settings), ctx.settings,
                                 language, path)
    text = ctx.t("export.ready", period=period.label)
    if cut:
        text += "\n" + ctx.t("export.truncated", max=exports.MAX_ROWS)
    ctx.replies.append(Reply(text=text, attachments=[_file(path, "document", f"appeals_{period.slug}.xlsx")]))
