"""`appeals-bot` — one command for everything: run, console, db, and the admin's tools."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import config as config_module
from bot.app import App, SchemaOutdated, build_app
from bot.channels import registry
from bot.observability import configure_logging

# Modules that add admin commands: each has `register(subparsers)`, and its parsers set
# `handler=async def (args, app) -> int` with set_defaults.
COMMAND_MODULES: tuple[str, ...] = ("bot.cli_staff", "bot.cli_routing", "bot.cli_privacy", "bot.cli_groups",
                                    "bot.cli_reports", "bot.cli_scan")


def build_parser() -> argparse.ArgumentParser:
    channels = ", ".join(registry.names())
    parser = argparse.ArgumentParser(prog="appeals-bot", description=f"Citizens' appeals bot ({channels}).")
    parser.add_argument("--config", help=f"path to config.toml (default: ${config_module.CONFIG_ENV} or ./config.toml)")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default INFO; console: WARNING)")
    commands = parser.add_subparsers(dest="command")

    commands.add_parser("run", help="run the enabled messenger channels (the default)")
    console = commands.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument("--user", default="citizen", help="who you are in the console (each name is a person)")
    console.add_argument("--at", default=None, metavar="'YYYY-MM-DD HH:MM'",
                         help="pretend it is this moment (region time), to try deadlines and reminders")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate to the latest schema")
    down = db_commands.add_parser("downgrade", help="migrate down to a revision")
    down.add_argument("revision")
    backup = db_commands.add_parser("backup", help="copy the SQLite database safely while the bot runs")
    backup.add_argument("file", type=Path)
    backup.set_defaults(handler=_backup)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    # The console is a chat: log lines there would read as the bot's words, so only errors are logged.
    level = args.log_level or ("INFO" if command == "run" else "ERROR" if command == "console" else "WARNING")
    try:
        settings = config_module.load(args.config)
    except config_module.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(level, settings.ops.log_format)
    try:
        if getattr(args, "handler", None) is not None:
            return asyncio.run(_admin(args, settings))
        if command == "db":
            return _db(args, settings)
        if command == "console":
            from bot.runner import run_console

            return asyncio.run(run_console(settings, args.user, sys.stdin, sys.stdout, at=args.at))
        from bot.runner import run_channels

        return asyncio.run(run_channels(settings))
    except SchemaOutdated as exc:
        print(f"appeals-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _backup(args: argparse.Namespace, app: App) -> int:
    from bot.cli_privacy import backup_command

    return await backup_command(args, app)


def _db(args: argparse.Namespace, settings: config_module.Settings) -> int:
    from storage import migrate

    if args.db_command == "upgrade":
        migrate.upgrade(settings.database.url)
    else:
        migrate.downgrade(settings.database.url, args.revision)
    print(f"database {args.db_command}: done")
    return 0


async def _admin(args: argparse.Namespace, settings: config_module.Settings) -> int:
    if not getattr(args, "needs_app", True):
        # Tools that need only the configuration (classify, routing import) open no database.
        return await args.handler(args, _NoDatabase(settings))
    # Only the tools that classify wait for the routing model (trained once for new knowledge).
    app: App = await build_app(settings, with_classifier=getattr(args, "needs_classifier", False))
    try:
        return await args.handler(args, app)
    finally:
        await app.close()


class _NoDatabase:
    """What a database-free tool gets instead of the App: the settings."""

    def __init__(self, settings: config_module.Settings) -> None:
        self.settings = settings
