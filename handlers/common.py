"""What every user has: /start, /help, /lang, /cancel, the menu, stale buttons, unsupported input."""

from __future__ import annotations

from typing import Any

from bot.domain.errors import Refusal
from bot.domain.roles import Role
from bot.events import Button
from bot.i18n import LANGUAGES
from bot.payloads import make
from bot.services import staff, users
from handlers import citizen, texts, workplace
from handlers.citizen import MIN_FREE_TEXT
from handlers.context import Context
from handlers.router import Router

LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}


def setup(router: Router) -> None:
    router.before.append(refuse_unsupported)
    router.before.append(refuse_citizen_in_group)
    router.command("start", start)
    router.command("help", show_help)
    router.command("lang", ask_language)
    router.command("cancel", cancel)
    router.command("menu", show_menu)
    router.button("lang", choose_language)
    router.button("cancel", cancel)
    router.button("help", show_help)
    router.idle = idle
    router.stale = stale_button


def menu_buttons(ctx: Context) -> list[list[Button]]:
    return [[ctx.button("menu.new", make("new")), ctx.button("menu.my", make("my", 0))],
            [ctx.button("menu.help", make("help"))]]


async def show_menu(ctx: Context) -> None:
    if staff.is_staff(ctx.user):
        await workplace.show_menu(ctx)  # staff never get the citizens' menu
        return
    ctx.say("menu.text", buttons=menu_buttons(ctx))


async def start(ctx: Context) -> None:
    code = str(ctx.extras.get("argument") or "").strip()
    if code:
        await redeem_code(ctx, code)
        return
    genitive = ctx.settings.region.name_genitive if ctx.user.language == "ru" else ""
    ctx.say("start.greeting", region=genitive or texts.region_name(ctx))
    if ctx.state:
        ctx.say("start.continue")
        await texts.router(ctx).prompt(ctx)
    elif staff.is_staff(ctx.user):
        await show_menu(ctx)
    elif not ctx.user.consent_given:
        ctx.set_state("consent")
        await texts.router(ctx).prompt(ctx)
    else:
        await show_menu(ctx)


async def redeem_code(ctx: Context, code: str) -> None:
    """An invite from `appeals-bot staff invite` (deep link /start CODE, or the code typed, as in VK)."""
    invite = await staff.redeem(ctx.repo, ctx.user, code, ctx.now)
    users.keep_messenger_name(ctx.user, ctx.event.user_name)
    ctx.reset()
    if invite.group_id is not None:
        from handlers import experts

        await experts.join_group(ctx, invite)
        return
    if invite.role == Role.OPERATOR:
        ctx.say("invite.operator", ministry=texts.ministry_name(ctx, invite.ministry_id or ""))
    else:
        ctx.say("invite.supervisor")
    ctx.say("help.staff")
    # Cards name the assignee ("Исполнитель: Иванов И. И."): the messenger's nickname will not do.
    ctx.set_state(workplace.NAME_STATE)
    await workplace.ask_name(ctx)


async def show_help(ctx: Context) -> None:
    if staff.is_staff(ctx.user):
        await workplace.show_menu(ctx)
        return
    ctx.say("help.citizen", min=ctx.settings.limits.text_min_length,
            max_files=ctx.settings.limits.attachments_max_count)
    if ctx.state:
        await texts.router(ctx).prompt(ctx)


async def ask_language(ctx: Context) -> None:
    buttons = [[Button(LANGUAGE_NAMES[code], make("lang", code)) for code in LANGUAGES]]
    ctx.say("lang.choose", buttons=buttons)


async def choose_language(ctx: Context) -> None:
    assert ctx.payload is not None
    code = ctx.payload.arg(0)
    if code not in LANGUAGES:
        await stale_button(ctx)
        return
    users.set_language(ctx.user, code)
    ctx.say("lang.changed", replace=True)
    if ctx.state:
        await texts.router(ctx).prompt(ctx)


async def cancel(ctx: Context) -> None:
    if ctx.state:
        ctx.reset()
        ctx.say("cancel.done", replace=ctx.event.is_button)
    else:
        ctx.say("cancel.nothing")
    await show_menu(ctx)


async def idle(ctx: Context) -> None:
    if staff.looks_like_code(ctx.event.text):
        await redeem_code(ctx, ctx.event.text)
        return
    if staff.is_staff(ctx.user):
        await workplace.show_menu(ctx)
        return
    text = ctx.event.text.strip()
    if len(text) >= MIN_FREE_TEXT and not text.startswith("/") and not ctx.event.is_group:
        await citizen.begin(ctx, text)
        return
    ctx.say("menu.hint", buttons=menu_buttons(ctx))


async def stale_button(ctx: Context) -> None:
    await outdated(ctx, Refusal("error.stale_button"))


async def outdated(ctx: Context, refusal: Any) -> None:
    """A press on a button its object has outgrown: the reason, the stale-button toast, the step's question again."""
    ctx.say(refusal.key, **refusal.params)
    ctx.toast("error.stale_toast")
    await texts.router(ctx).prompt(ctx)


async def refuse_unsupported(ctx: Context) -> bool:
    if ctx.event.unsupported is None:
        return True
    ctx.say("error.unsupported")
    if ctx.state:
        await texts.router(ctx).prompt(ctx)
    return False


async def refuse_citizen_in_group(ctx: Context) -> bool:
    if not ctx.event.is_group or ctx.user.role != Role.CITIZEN:
        return True
    if ctx.event.is_button or ctx.event.text.startswith("/"):
        # Only what was addressed to the bot gets an answer: group chatter is not for us.
        ctx.say("error.group_citizen")
    return False
