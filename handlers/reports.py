"""Supervisors' commands: /stats, /ranking, /export [period] — a text table with a chart, or a workbook.

The period is typed after the command in words ("прошлый месяц", "quarter") or as dates
("2026-01-01..2026-03-31"); nothing means this month. Anyone else gets a polite refusal.
The report itself is built away from the conversation (bot/services/report_jobs.py): the supervisor
is told "preparing…" at once, and the table and file follow through the outbox.
"""

from __future__ import annotations

from bot.presenters import dates
from bot.services import report_jobs, reports, staff
from bot.services.reports import Period, PeriodError
from handlers.citizen import complain
from handlers.context import Context
from handlers.router import Dialog, Router

REPORTS = Dialog("reports")


def setup(router: Router) -> None:
    dialog = router.dialog(REPORTS)
    dialog.command("stats", show_stats)
    dialog.command("ranking", show_ranking)
    dialog.command("export", send_export)


async def _period(ctx: Context) -> Period | None:
    """The period asked for, or None after a polite refusal (not a supervisor, words not understood)."""
    if not staff.is_supervisor(ctx.user):
        await complain(ctx, "stats.supervisors_only")
        return None
    try:
        return reports.parse_period(ctx.argument, ctx.now, ctx.settings.region.zone)
    except PeriodError:
        ctx.say("stats.bad_period")
        return None


async def _request(ctx: Context, kind: str) -> None:
    period = await _period(ctx)
    if period is None:
        return
    await report_jobs.request(ctx.repo, ctx.user, kind, period, ctx.now)
    ctx.say("report.preparing", first=dates.day(period.first), last=dates.day(period.last))


async def show_stats(ctx: Context) -> None:
    await _request(ctx, "stats")


async def show_ranking(ctx: Context) -> None:
    await _request(ctx, "ranking")


async def send_export(ctx: Context) -> None:
    await _request(ctx, "export")
