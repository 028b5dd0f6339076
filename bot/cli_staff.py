"""`appeals-bot staff invite|list|revoke|move`: the admin brings operators and supervisors in, and out."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from bot.app import App
from bot.channels import registry
from bot.domain.roles import GRANTABLE, capabilities
from bot.presenters import dates
from bot.services import staff, validation
from handlers import cards
from storage.models import User
from storage.repositories import Repositories


def register(commands: Any) -> None:
    parser = commands.add_parser("staff", help="invite, list and revoke ministry staff")
    sub = parser.add_subparsers(dest="staff_command", required=True)
    invite = sub.add_parser("invite", help="print a one-time invite code")
    invite.add_argument("--role", choices=[role.value for role in GRANTABLE], required=True)
    invite.add_argument("--ministry", help="the ministry id from config.toml (operators)")
    invite.set_defaults(handler=invite_command)
    listing = sub.add_parser("list", help="everyone with a staff role")
    listing.set_defaults(handler=list_command)
    revoke = sub.add_parser("revoke", help="take a staff role away")
    revoke.add_argument("user", help="user id, or channel:platform_id (e.g. telegram:12345, console:olga)")
    revoke.set_defaults(handler=revoke_command)
    move = sub.add_parser("move", help="move an operator to another ministry")
    move.add_argument("user", help="user id, or channel:platform_id")
    move.add_argument("--ministry", required=True, help="the new ministry id from config.toml")
    move.set_defaults(handler=move_command)


async def invite_command(args: argparse.Namespace, app: App) -> int:
    if capabilities(args.role).has_ministry and not args.ministry:
        print("an operator belongs to a ministry: add --ministry "
              f"({', '.join(app.settings.ministries)})", file=sys.stderr)
        return 2
    async with app.work() as repo:
        try:
            invite = await staff.create_invite(repo, app.settings, args.role, args.ministry,
                                               datetime.now(UTC))
        except staff.InviteError as exc:
            print(exc, file=sys.stderr)
            return 2
    expires = dates.day_time(invite.expires_at, app.settings.region.zone)
    print(f"code:      {invite.code}  (one use, valid until {expires})")
    for channel, hint in registry.invite_hints(app.settings, invite.code):
        print(f"{channel + ':':<10} {hint}")
    return 0


def _describe(user: User) -> str:
    return (f"{user.id:>5}  {user.channel}:{user.platform_id:<20} {user.role:<11} {user.ministry_id or '-':<18} "
            f"{user.display_name or ''}")


async def list_command(args: argparse.Namespace, app: App) -> int:
    async with app.work() as repo:
        people = await staff.staff_list(repo)
    if not people:
        print("no staff yet: appeals-bot staff invite --role operator --ministry ID")
        return 0
    print(f"{'id':>5}  {'who':<29} {'role':<11} {'ministry':<18} name")
    for user in people:
        print(_describe(user))
    return 0


async def _find(repo: Repositories, ref: str) -> User | None:
    if ref.strip().isdigit():  # any digits: an id ('²' or one beyond the column's range finds nobody)
        user_id = validation.parse_id(ref)
        return await repo.users.get(user_id) if user_id is not None else None
    channel, _, platform_id = ref.partition(":")
    return await repo.users.find(channel, platform_id) if platform_id else None


async def _cards_back(repo: Repositories, app: App, departure: staff.Departure, now: datetime) -> None:
    """A fresh card for each appeal handed back, to the ministry's staff chat and operators."""
    for appeal in departure.returned:
        await cards.publish_card(repo, app.settings, appeal, now, fresh=True)


def _report(departure: staff.Departure) -> None:
    numbers = ", ".join(a.number for a in departure.returned) or "none"
    print(f"appeals handed back to the ministry: {len(departure.returned)} ({numbers})")
    print(f"queued messages cancelled: {len(departure.cancelled)}")


async def revoke_command(args: argparse.Namespace, app: App) -> int:
    now = app.conversations.clock()
    async with app.work() as repo:
        user = await _find(repo, args.user)
        if user is None or not staff.is_staff(user):
            print(f"no staff member {args.user!r} (see appeals-bot staff list)", file=sys.stderr)
            return 2
        departure = await staff.revoke(repo, user, now, app.settings)
        await _cards_back(repo, app, departure, now)
    print(f"revoked: {args.user}")
    _report(departure)
    return 0


async def move_command(args: argparse.Namespace, app: App) -> int:
    now = app.conversations.clock()
    async with app.work() as repo:
        user = await _find(repo, args.user)
        if user is None:
            print(f"no staff member {args.user!r} (see appeals-bot staff list)", file=sys.stderr)
            return 2
        try:
            departure = await staff.move(repo, app.settings, user, args.ministry, now)
        except staff.MoveError as exc:
            print(exc, file=sys.stderr)
            return 2
        await _cards_back(repo, app, departure, now)
    print(f"moved: {args.user} to {args.ministry}")
    _report(departure)
    return 0
