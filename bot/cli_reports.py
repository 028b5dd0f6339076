"""`appeals-bot report ranking|stats|export --from YYYY-MM-DD --to YYYY-MM-DD [--out FILE]`.

The same figures as the supervisors' /stats, /ranking and /export, for a shell or a cron job:
the text goes to stdout; ``--out`` writes a chart (``.png``), a workbook (``.xlsx``, what export
always writes) or the text (any other name).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.presenters import report_files
from bot.presenters import reports as report_texts
from bot.services import reports
from bot.services.reports import Period, PeriodError
from storage.engine import create_read_engine

# The shell has no chat limits: the workbook holds every row Excel can show.
EXCEL_MAX_ROWS = 1_048_575


def register(commands: Any) -> None:
    parser = commands.add_parser("report", help="statistics, the ministry ranking and exports for a period")
    sub = parser.add_subparsers(dest="report_command", required=True)
    for name, text in (("ranking", "the ministry ranking (text; --out FILE.png for the chart)"),
                       ("stats", "figures per ministry and sector (text; --out FILE.png for the chart)"),
                       ("export", "the XLSX workbook: appeals, ministries, sectors, ratings")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--from", dest="date_from", type=reports.parse_date, metavar="DD.MM.YYYY",
                             help="first day of the period (default: the first day of this month)")
        command.add_argument("--to", dest="date_to", type=reports.parse_date, metavar="DD.MM.YYYY",
                             help="last day of the period, included (default: the last day of this month)")
        command.add_argument("--out", type=Path, metavar="FILE", help="write to FILE (.png, .xlsx or text)")
        command.add_argument("--language", choices=("ru", "en"), help="default: the region's language")
        command.set_defaults(handler=report_command)
    # The classifier's accuracy lives with the other reports too (issue: `appeals-bot report routing`).
    from bot.cli_routing import report_command as routing_report

    routing = sub.add_parser("routing", help="accuracy of sector suggestions against the citizens' final choices")
    routing.set_defaults(handler=routing_report)


def period_of(args: argparse.Namespace, app: App, now: datetime) -> Period:
    zone = app.settings.region.zone
    month = reports.named_period("month", now.astimezone(zone).date(), zone)
    return Period.between(args.date_from or month.first, args.date_to or month.last, zone)


async def report_command(args: argparse.Namespace, app: App) -> int:
    now = datetime.now(UTC)
    try:
        period = period_of(args, app, now)
    except PeriodError as exc:
        print(f"appeals-bot report: {exc}", file=sys.stderr)
        return 2
    settings = app.settings
    language = args.language or settings.region.default_language
    out: Path | None = args.out
    # A read-only connection of its own: on SQLite the app's sessions take the write lock (BEGIN IMMEDIATE),
    # and an export holding it for minutes would stop a running bot's conversations.
    engine = create_read_engine(settings.database.url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            report = await reports.build_report(session, settings, period, now)
            standings = reports.ranking(report, settings)
            if args.report_command == "export" or (out is not None and out.suffix.lower() == ".xlsx"):
                out = out or Path(f"appeals_{period.slug}.xlsx")
                cut = await report_files.workbook(session, report, standings, settings, language, out, EXCEL_MAX_ROWS)
                print(f"{out}: the workbook for {report_texts.label(period)}"
                      + (" (cut at Excel's row limit)" if cut else ""))
                return 0
    finally:
        await engine.dispose()
    if args.report_command == "ranking":
        text = report_texts.ranking_text(report, standings, settings, language)
    else:
        text = report_texts.stats_table(report, settings, language)
    if out is None:
        print(text)
    elif out.suffix.lower() == ".png":
        if args.report_command == "ranking":
            await report_files.ranking_chart(report, standings, settings, language, out)
        else:
            await report_files.stats_chart(report, settings, language, out)
        print(f"{out}: the chart for {report_texts.label(period)}")
    else:
        out.write_text(text + "\n", encoding="utf-8")
        print(f"{out}: {args.report_command} for {report_texts.label(period)}")
    return 0
