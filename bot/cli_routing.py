"""`appeals-bot classify` and `appeals-bot routing train|import|report`: the sector classifier's tools."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bot.app import App
from bot.services import classifier as routing
from bot.services import routing_learning, routing_quality
from bot.services.classifier import RoutingDataError, classify_stream


def register(commands: Any) -> None:
    classify = commands.add_parser("classify", help="suggest sector and category for texts on stdin, one per line")
    classify.set_defaults(handler=classify_command, needs_classifier=True)
    routing_parser = commands.add_parser("routing", help="the classifier's knowledge and its accuracy")
    sub = routing_parser.add_subparsers(dest="routing_command", required=True)
    train = sub.add_parser("train", help="train on config.toml, routing.toml and the learned examples now")
    train.add_argument("--force", action="store_true", help="train even if a model for this knowledge is cached")
    train.set_defaults(handler=train_command)
    load = sub.add_parser("import", help="add the region's labelled appeals (CSV: text,sector,category)")
    load.add_argument("csv", type=Path)
    load.set_defaults(handler=import_command)
    report = sub.add_parser("report", help="accuracy of suggestions against the final sectors, by month and sector")
    report.set_defaults(handler=report_command)


async def classify_command(args: argparse.Namespace, app: App) -> int:
    classifier = app.deps.classifier
    if classifier is None:
        print("the routing model is not available (see the log above)", file=sys.stderr)
        return 2
    classify_stream(classifier, app.settings, sys.stdin, sys.stdout)
    return 0


async def train_command(args: argparse.Namespace, app: App) -> int:
    try:
        knowledge = await routing_learning.knowledge(app.sessionmaker, app.settings)
    except RoutingDataError as exc:
        print(exc, file=sys.stderr)
        return 2
    path = routing.model_path(app.settings, routing.model_key(app.settings, knowledge))
    started = time.perf_counter()
    if args.force or not path.is_file():
        path = routing.train_here(app.settings, knowledge)
        print(f"trained on {len(knowledge)} examples in {time.perf_counter() - started:.1f} s")
    else:
        print(f"a model for these {len(knowledge)} examples is already trained")
    classifier = routing.obtain_here(app.settings, knowledge)
    print(f"model: {path}")
    print(f"confident from: sector {classifier.model.sector_threshold:.2f}, "
          f"category {classifier.model.category_threshold:.2f}")
    print("a running bot picks it up at its next scheduled retrain or restart")
    return 0


async def import_command(args: argparse.Namespace, app: App) -> int:
    try:
        async with app.work() as repo:
            added = await routing_learning.import_csv(repo, app.settings, args.csv,
                                                      app.conversations.clock())
    except (RoutingDataError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"imported {added} new labelled appeals; `appeals-bot routing train` teaches them now "
          "(the bot also retrains on its schedule)")
    return 0


async def report_command(args: argparse.Namespace, app: App) -> int:
    async with app.work() as repo:
        quality = await routing_quality.measure(repo, app.settings)
    print(routing_quality.format_report(quality, app.settings))
    return 0
