"""The citizen's consent (152-ФЗ) and the beginning of an appeal: /new, the menu button, plain text."""

from __future__ import annotations

from bot.payloads import make
from bot.services import staff, users
from bot.services.appeals import Draft
from handlers import texts
from handlers.citizen.base import APPEAL, DIALOG_STATES, MIN_FREE_TEXT, hint_buttons
from handlers.citizen.steps import ask_name, suggest
from handlers.context import Context


async def ask_consent(ctx: Context) -> None:
    ctx.say("consent.text", operator=texts.operator_name(ctx), buttons=[
        [ctx.button("consent.accept", make("appeal.consent", "yes")),
         ctx.button("consent.decline", make("appeal.consent", "no"))],
    ])


def _kept_text(ctx: Context, *parts: str) -> str:
    """Text typed before consent, kept for the appeal: no NUL (PostgreSQL refuses it), within the limit."""
    text = "\n\n".join(p.replace("\x00", "").strip() for p in parts if p and p.replace("\x00", "").strip())
    return text[:ctx.settings.limits.text_max_length]


async def keep_consent_text(ctx: Context) -> None:
    """Words typed at the consent question are the problem itself: kept, and the question asked again."""
    text = _kept_text(ctx, ctx.data.get("pending_text", ""), ctx.event.text)
    if len(ctx.event.text.strip()) < MIN_FREE_TEXT:
        await hint_buttons(ctx)  # "да", "согласен" typed instead of pressed: the buttons, not the appeal's text
        return
    ctx.set_state(APPEAL.state("consent"), pending_text=text)
    ctx.say("consent.text_kept")
    await ask_consent(ctx)


async def answer_consent(ctx: Context) -> None:
    assert ctx.payload is not None
    accepted = ctx.payload.arg(0) == "yes"
    await users.record_consent(ctx.repo, ctx.user, accepted, ctx.settings.region.operator_name, ctx.now)
    if not accepted:
        ctx.reset()  # the text they began with is dropped too: nothing personal is kept
        ctx.say("consent.declined", replace=True)
        return
    ctx.say("consent.accepted", replace=True)
    await start_dialog(ctx)


async def new_appeal(ctx: Context) -> None:
    if staff.is_staff(ctx.user):
        ctx.say("staff.citizen_command")
        return
    if APPEAL.step(ctx.state) in DIALOG_STATES - {"consent"}:
        ctx.say("appeal.in_progress")
        await ctx.reprompt()
        return
    text = "" if ctx.event.is_button else ctx.argument
    await begin(ctx, text)


async def begin(ctx: Context, text: str = "") -> None:
    """A new appeal, possibly starting from the problem in the citizen's words (/new TEXT or plain text)."""
    if not ctx.user.consent_given:
        ctx.reset()
        ctx.set_state(APPEAL.state("consent"), pending_text=_kept_text(ctx, text))
        await ask_consent(ctx)
        return
    await start_dialog(ctx, text)


async def start_dialog(ctx: Context, text: str = "") -> None:
    draft = Draft()
    text = text or ctx.data.get("pending_text", "")
    if text:
        # The citizen began with the problem itself: keep it as the appeal's text and guess the sector.
        draft.text_parts.append(text[:ctx.settings.limits.text_max_length])
        suggest(ctx, draft, text)
    ctx.reset()
    ctx.set_state(APPEAL.state("name"), draft=draft.to_dict(), editing=False)
    ctx.say("appeal.intro_with_text" if text else "appeal.intro")
    await ask_name(ctx)
