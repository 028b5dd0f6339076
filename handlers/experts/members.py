"""Joining a group (the lead's /start calls ``join_group`` after redeeming a group invite) and the
name written in protocols."""

from __future__ import annotations

from bot.payloads import make
from bot.services import meetings
from handlers.citizen import complained
from handlers.context import Context
from handlers.experts import agenda as expert_agenda
from handlers.experts.base import group_label, office
from handlers.router import refusals
from storage.models import Invite


async def join_group(ctx: Context, invite: Invite) -> None:
    if invite.role == "guest":
        await expert_agenda.join_as_guest(ctx, invite)
        return
    member = await meetings.join(office(ctx), ctx.user, invite.group_id or "", invite.role, ctx.user.display_name or "")
    ctx.say("experts.joined", group=group_label(ctx, member.group_id), role=ctx.t(f"experts.role_{member.role}"))
    ctx.set_state("expert_name")
    await ask_name(ctx)


async def ask_name(ctx: Context) -> None:
    rows = []
    if ctx.user.display_name:
        rows.append([ctx.button("experts.name_keep", make("xname"), name=ctx.user.display_name[:40])])
    ctx.say("experts.ask_name", buttons=rows)


@refusals(complained)
async def enter_name(ctx: Context) -> None:
    await meetings.set_full_name(office(ctx), ctx.user, ctx.event.text)
    await _named(ctx)


@refusals(complained)
async def keep_name(ctx: Context) -> None:
    await meetings.set_full_name(office(ctx), ctx.user, ctx.user.display_name or "")
    await _named(ctx)


async def _named(ctx: Context) -> None:
    ctx.reset()
    ctx.say("experts.name_saved")
    ctx.say("experts.help")
