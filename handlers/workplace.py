"""Staff at work: their full name at joining, a menu of only what their role can use, appeals by short number.

Staff never see the citizens' menu ("New appeal", "My appeals"): an operator gets the queue, a
supervisor the queue, overdue appeals, statistics and the ranking. An appeal is found by whatever
part of its number a person remembers: ``123``, ``2026-123``, ``ЦУР-2026-000123`` or, typed on a
Latin keyboard, ``CUR-2026-000123``.
"""

from __future__ import annotations

from bot.domain.errors import Refusal
from bot.events import Button
from bot.payloads import make
from bot.services import staff, validation
from handlers import texts
from handlers.cards import short_name
from handlers.context import Context
from handlers.operator import parse_number, refuse, show_appeal_command
from handlers.router import Router

NAME_STATE = "staff_name"
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
            await show_appeal_command(ctx, ctx.event.text)
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
        await show_appeal_command(ctx, ctx.event.text)
        return
    name = " ".join(ctx.event.text.split())
    problem = validation.check_name(name, ctx.settings.limits) if name else "error.name_not_full"
    if problem:
        ctx.say(problem, max=ctx.settings.limits.name_max_length)
        await ask_name(ctx)
        return
    staff.set_full_name(ctx.user, name)
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
        await refuse(ctx, Refusal("operator.staff_only"))
        return
    ctx.extras["argument"] = ""
    await step(ctx)
