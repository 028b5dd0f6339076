"""Staff at work: their full name at joining, a menu of only what their role can use, appeals by short number.

Staff never see the citizens' menu ("New appeal", "My appeals"): an operator gets the queue, a
supervisor the queue, overdue appeals, statistics and the ranking. An appeal is found by whatever
part of its number a person remembers: ``123``, ``2026-123``, ``ЦУР-2026-000123`` or, typed on a
Latin keyboard, ``CUR-2026-000123``.
"""

from __future__ import annotations

import re

from bot.events import Button
from bot.services import staff, validation
from handlers import texts
from handlers.cards import short_name
from handlers.context import Context
from handlers.payloads import make
from handlers.router import Router
from storage.models import Appeal

NAME_STATE = "staff_name"
NUMBER_RE = re.compile(r"^(?:№\s*)?(?:[^\W\d_]{2,8}\s*-\s*)?(?:(\d{4})\s*-\s*)?0*(\d{1,9})$")
OPERATOR_MENU = ("queue",)
SUPERVISOR_MENU = ("queue", "overdue", "stats", "ranking")


def setup(router: Router) -> None:
    router.state(NAME_STATE, enter_name, ask_name)
    router.command("name", change_name)
    router.button("smenu", press_menu)
    fallback = router.idle
    assert fallback is not None

    async def idle(ctx: Context) -> None:
        if staff.is_staff(ctx.user) and parse_number(ctx.event.text) is not None:
            from handlers import operator

            await operator.show_appeal_command(ctx, ctx.event.text)
            return
        await fallback(ctx)

    router.idle = idle


# --- the full name ---------------------------------------------------------------------------------

async def ask_name(ctx: Context) -> None:
    ctx.say("staff.ask_name", buttons=[[ctx.button("button.cancel", make("cancel"))]])


async def change_name(ctx: Context) -> None:
    if not staff.is_staff(ctx.user):
        ctx.say("operator.staff_command")
        return
    ctx.reset()
    ctx.set_state(NAME_STATE)
    await ask_name(ctx)


async def enter_name(ctx: Context) -> None:
    if parse_number(ctx.event.text) is not None:  # an appeal number, typed before giving the name
        from handlers import operator

        await operator.show_appeal_command(ctx, ctx.event.text)
        return
    name = " ".join(ctx.event.text.split())
    problem = validation.check_name(name, ctx.settings.limits) if name else "error.name_not_full"
    if problem:
        ctx.say(problem, max=ctx.settings.limits.name_max_length)
        await ask_name(ctx)
        return
    ctx.user.full_name = name
    ctx.reset()
    ctx.say("staff.name_saved", name=short_name(ctx.user) or name, buttons=menu_buttons(ctx))


# --- the menu --------------------------------------------------------------------------------------

def menu_buttons(ctx: Context) -> list[list[Button]]:
    """Only what this person's role can use."""
    names = SUPERVISOR_MENU if staff.is_supervisor(ctx.user) else OPERATOR_MENU if staff.is_staff(ctx.user) else ()
    buttons = [ctx.button(f"staff.menu_{name}", make("smenu", name)) for name in names]
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]


async def show_menu(ctx: Context) -> None:
    ctx.say("help.staff", buttons=menu_buttons(ctx))


async def press_menu(ctx: Context) -> None:
    assert ctx.payload is not None
    name = ctx.payload.arg(0) or ""
    allowed = SUPERVISOR_MENU if staff.is_supervisor(ctx.user) else OPERATOR_MENU if staff.is_staff(ctx.user) else ()
    step = texts.router(ctx).commands.get(name) if name in allowed else None
    if step is None:
        ctx.say("operator.staff_only")
        ctx.toast("operator.refused_toast")
        return
    ctx.extras["argument"] = ""
    await step(ctx)


# --- a ministry or a sector by the name people use -------------------------------------------------

def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def find_scope(ctx: Context, text: str) -> list[tuple[str, str]]:
    """("ministry" | "sector", id) named by ``text``: an exact name, id or alias first, else a part of a name."""
    wanted = _fold(text)
    known: list[tuple[str, str, list[str]]] = []
    for ministry_id, ministry in ctx.settings.ministries.items():
        known.append(("ministry", ministry_id, [ministry_id, ministry.name, ministry.name_en, *ministry.aliases]))
    for sector_id, sector in ctx.settings.sectors.items():
        known.append(("sector", sector_id, [sector_id, sector.name, sector.name_en]))
    found = [(kind, key) for kind, key, names in known if wanted in {_fold(n) for n in names if n}]
    if not found and len(wanted) >= 3:
        found = [(kind, key) for kind, key, names in known if any(wanted in _fold(n) for n in names if n)]
    # "health" is both a ministry and its sector: the ministry, which holds the sector, is meant.
    ministries = {key for kind, key in found if kind == "ministry"}
    return [(kind, key) for kind, key in found
            if kind == "ministry" or ctx.settings.sectors[key].ministry not in ministries]


# --- appeals by number ---------------------------------------------------------------------------

def parse_number(text: str) -> tuple[int | None, int] | None:
    """(year or None, sequence number) of a typed appeal number, or None when it is not one."""
    match = NUMBER_RE.match(text.strip())
    if match is None:
        return None
    year, seq = match.group(1), int(match.group(2))
    return (int(year) if year else None, seq) if seq > 0 else None


async def find_appeal(ctx: Context, text: str) -> Appeal | None:
    """The appeal a typed number names; a number without a year is this year's, else the latest such."""
    parsed = parse_number(text)
    if parsed is None:
        return None
    year, seq = parsed
    if year is None:
        this_year = ctx.now.astimezone(ctx.settings.region.zone).year
        return await ctx.repo.appeals.by_seq(seq, this_year) or await ctx.repo.appeals.by_seq(seq)
    return await ctx.repo.appeals.by_seq(seq, year)
