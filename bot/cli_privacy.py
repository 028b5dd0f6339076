"""`appeals-bot privacy export|erase --user ...`; `appeals-bot db backup FILE` is served from here too."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot.app import App
from bot.services import privacy, validation
from bot.services.staff import revoke
from storage.models import User
from storage.repositories import Repositories


def register(commands: Any) -> None:
    parser = commands.add_parser("privacy", help="a person's data: export everything, or erase it")
    sub = parser.add_subparsers(dest="privacy_command", required=True)
    for name, handler, text in (("export", export_command, "print everything stored about a person as JSON"),
                                ("erase", erase_command, "erase a person's data; appeals stay, anonymised")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--user", required=True, help="channel:platform_id (telegram:12345) or user id")
        command.set_defaults(handler=handler)


async def _find(repo: Repositories, ref: str) -> User | None:
    if ref.strip().isdigit():  # any digits: an id ('²' or one beyond the column's range finds nobody)
        user_id = validation.parse_id(ref)
        return await repo.users.get(user_id) if user_id is not None else None
    channel, _, platform_id = ref.partition(":")
    return await repo.users.find(channel, platform_id) if platform_id else None


async def export_command(args: argparse.Namespace, app: App) -> int:
    async with app.work() as repo:
        user = await _find(repo, args.user)
        if user is None:
            print(f"no such user: {args.user}", file=sys.stderr)
            return 2
        data = await privacy.export(repo, user)
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


async def erase_command(args: argparse.Namespace, app: App) -> int:
    async with app.work() as repo:
        user = await _find(repo, args.user)
        if user is None:
            print(f"no such user: {args.user}", file=sys.stderr)
            return 2
        await revoke(repo, user)
        count = await privacy.erase(repo, user)
    print(f"erased: {args.user}; {count} appeals kept anonymised for statistics")
    return 0


async def backup_command(args: argparse.Namespace, app: App) -> int:
    url = make_url(app.settings.database.url)
    if url.get_backend_name() != "sqlite" or not url.database:
        print("db backup copies a SQLite file; for PostgreSQL use pg_dump (see docs/deploy.md)", file=sys.stderr)
        return 2
    await asyncio.to_thread(_online_backup, Path(url.database), args.file)
    print(f"backup written: {args.file}")
    return 0


def _online_backup(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while the bot keeps writing (WAL included)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
