"""`appeals-bot classify` and `appeals-bot routing import|report`: the sector classifier's tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.app import App
from bot.services import routing_quality
from bot.services.classifier import Classifier, RoutingDataError, classify_stream, import_labelled_csv
from storage.repositories import Repositories


def register(commands: Any) -> None:
    classify = commands.add_parser("classify", help="suggest sector and category for texts on stdin, one per line")
    classify.set_defaults(handler=classify_command, needs_app=False)
    routing = commands.add_parser("routing", help="the classifier's knowledge and its accuracy")
    sub = routing.add_subparsers(dest="routing_command", required=True)
    load = sub.add_parser("import", help="add the region's labelled appeals (CSV: text,sector,category)")
    load.add_argument("csv", type=Path)
    load.set_defaults(handler=import_command, needs_app=False)
    report = sub.add_parser("report", help="accuracy of suggestions against the citizens' final choices")
    report.set_defaults(handler=report_command)


async def classify_command(args: argparse.Namespace, app: App) -> int:
    try:
        classifier = Classifier.load(app.settings, Path(app.settings.routing.knowledge))
    except RoutingDataError as exc:
        print(exc, file=sys.stderr)
        return 2
    classify_stream(classifier, app.settings, sys.stdin, sys.stdout)
    return 0


async def import_command(args: argparse.Namespace, app: App) -> int:
    try:
        added = import_labelled_csv(app.settings, Path(app.settings.routing.knowledge), args.csv)
    except (RoutingDataError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"imported {added} new labelled appeals; the bot uses them after a restart")
    return 0


async def report_command(args: argparse.Namespace, app: App) -> int:
    async with app.sessionmaker() as session:
        quality = await routing_quality.measure(Repositories(session))
    print(routing_quality.format_report(quality, app.settings))
    return 0
