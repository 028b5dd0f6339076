"""`appeals-bot scan --at "2026-12-20 09:00"`: every scheduled job, once, as of that moment.

For trying the bot and for training staff: the calendar moves on the configured database, and
whatever the jobs owe people (reminders, overdue escalations, digests, rating reminders) waits in
the outbox; `appeals-bot console --user NAME` shows each person what came for them.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.app import App
from bot.presenters import dates
from bot.scheduler import build_scheduler

FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%d", "%d.%m.%Y")


def moment(text: str, zone: ZoneInfo) -> datetime:
    """A local time of the region ("2026-12-20 09:00" or "20.12.2026 09:00"; a date alone is 09:00)."""
    for pattern in FORMATS:
        try:
            local = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        if len(pattern) <= len("%d.%m.%Y"):
            local = local.replace(hour=9)
        return local.replace(tzinfo=zone)
    raise ValueError(f"not a moment: {text!r} (write 2026-12-20 09:00 or 20.12.2026 09:00)")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    scan = commands.add_parser("scan", help="run every scheduled job once, as of a moment (to watch time pass)")
    scan.add_argument("--at", required=True, metavar="'YYYY-MM-DD HH:MM'",
                      help="the moment, in the region's time zone (also DD.MM.YYYY HH:MM)")
    scan.set_defaults(handler=scan_command)


async def scan_command(args: argparse.Namespace, app: App) -> int:
    zone = app.settings.region.zone
    try:
        at = moment(args.at, zone)
    except ValueError as exc:
        print(exc)
        return 2
    scheduler = build_scheduler(app, lambda: at)
    print(f"scan as of {dates.day_time(at)} ({zone.key}):")
    for job in scheduler.jobs:
        print(f"  {job.name}: {await scheduler.run(job.name)}")
    print("what the jobs owe people waits in the outbox: appeals-bot console --user NAME shows it")
    return 0
