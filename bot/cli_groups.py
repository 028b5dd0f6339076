"""`appeals-bot group invite|members|remove|summary`: the admin brings members into the expert groups and
exports a meeting's public summary for the region's website."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import App
from bot.channels import registry
from bot.presenters import dates
from bot.presenters import meetings as meeting_texts
from bot.services import meeting_minutes, meetings, staff
from storage.expert_repo import ExpertRepo


def register(commands: Any) -> None:
    parser = commands.add_parser("group", help="members of the expert and working groups")
    sub = parser.add_subparsers(dest="group_command", required=True)
    invite = sub.add_parser("invite", help="print a one-time invite code into a group")
    invite.add_argument("--group", required=True, help="the group id from config.toml ([groups.<id>])")
    invite.add_argument("--role", choices=("member", "chair", "deputy", "secretary"), default="member")
    invite.set_defaults(handler=invite_command)
    members = sub.add_parser("members", help="the group's members and roles")
    members.add_argument("group", help="the group id from config.toml")
    members.set_defaults(handler=members_command)
    remove = sub.add_parser("remove", help="take a member out of a group (the quorum counts the rest)")
    remove.add_argument("group", help="the group id from config.toml")
    remove.add_argument("user", help="user id (see `group members`)", type=int)
    remove.set_defaults(handler=remove_command)
    summary = sub.add_parser("summary", help="a finished meeting's date, agenda and decisions, for the website")
    summary.add_argument("meeting", help="meeting number (see /meetings in the bot)", type=int)
    summary.add_argument("--out", help="write to this file (UTF-8) instead of printing")
    summary.add_argument("--language", choices=("ru", "en"), default="ru")
    summary.set_defaults(handler=summary_command)


def _known(app: App, group_id: str) -> bool:
    if group_id in app.settings.groups:
        return True
    print(f"unknown group {group_id!r}; known: {', '.join(app.settings.groups) or '(none in config.toml)'}",
          file=sys.stderr)
    return False


async def invite_command(args: argparse.Namespace, app: App) -> int:
    if not _known(app, args.group):
        return 2
    async with app.work() as repo:
        invite = await staff.create_invite(repo, app.settings, args.role, None, datetime.now(UTC),
                                           group_id=args.group)
    expires = dates.day_time(invite.expires_at, app.settings.region.zone)
    print(f"group:     {app.settings.groups[args.group].name} ({args.role})")
    print(f"code:      {invite.code}  (one use, valid until {expires})")
    for channel, hint in registry.invite_hints(app.settings, invite.code):
        print(f"{channel + ':':<10} {hint}")
    return 0


async def members_command(args: argparse.Namespace, app: App) -> int:
    if not _known(app, args.group):
        return 2
    group = app.settings.groups[args.group]
    async with app.work() as repo:
        people = await ExpertRepo(repo.session).members(args.group)
        rows = [(m.user_id, m.role, f"{m.user.channel}:{m.user.platform_id}", meetings.member_name(m),
                 dates.day(m.joined_at, app.settings.region.zone)) for m in people]
    print(f"{group.name}: {len(rows)} members, quorum {meetings.quorum_needed(len(rows), group.quorum)}")
    if not rows:
        print(f"no members yet: appeals-bot group invite --group {args.group} --role member")
        return 0
    print(f"{'id':>5}  {'role':<10} {'who':<28} {'joined':<10} name")
    for user_id, role, who, name, joined in rows:
        print(f"{user_id:>5}  {role:<10} {who:<28} {joined:<10} {name}")
    return 0


async def remove_command(args: argparse.Namespace, app: App) -> int:
    if not _known(app, args.group):
        return 2
    async with app.work() as repo:
        office = meetings.Office(repo, app.settings, app.calendar, datetime.now(UTC))
        removed = await meetings.remove_member(office, args.group, args.user)
    if not removed:
        print(f"user {args.user} is not a member of {args.group}", file=sys.stderr)
        return 1
    print(f"user {args.user} removed from {args.group}")
    return 0


async def summary_command(args: argparse.Namespace, app: App) -> int:
    async with app.work() as repo:
        office = meetings.Office(repo, app.settings, app.calendar, datetime.now(UTC))
        meeting = await office.db.meeting(args.meeting)
        if meeting is None or meeting.group_id not in app.settings.groups or meeting.status != "finished":
            print(f"meeting {args.meeting} is not a finished meeting of a known group", file=sys.stderr)
            return 1
        text = meeting_texts.public_summary(app.settings, args.language, meeting,
                                            await meeting_minutes.outcomes(office, meeting))
    if args.out:
        await asyncio.to_thread(Path(args.out).write_text, text + "\n", encoding="utf-8")
        print(f"written: {args.out}")
    else:
        print(text)
    return 0
