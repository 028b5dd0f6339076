"""Who handles the appeal: redirected to another ministry (with a reason), reassigned by a supervisor."""

from __future__ import annotations

from bot.events import Button, Reply
from bot.payloads import make
from bot.services import operator as service
from bot.services.audience import about_appeal
from bot.services.outbox import notify_user
from handlers import cards, texts
from handlers.context import Context
from handlers.operator.base import appeal_id_of, cancel_row, refuse, required_text, tell_citizen
from handlers.router import refusals
from handlers.texts import Names


async def redirect_prompt(ctx: Context) -> None:
    appeal = await service.appeal(ctx.repo, appeal_id_of(ctx))
    rows = [[Button(texts.ministry_name(ctx, ministry_id), make("rto", ministry_id))]
            for ministry_id in ctx.settings.ministries if appeal is None or ministry_id != appeal.ministry_id]
    ctx.say("redirect.choose", number=ctx.data.get("number", ""), buttons=[*rows, cancel_row(ctx)])


@refusals(refuse)
async def redirect_choose(ctx: Context) -> None:
    ministry_id = service.ministry_chosen(ctx.settings, ctx.payload.arg(0) if ctx.payload else None)
    ctx.set_state("op_redirect_reason", ministry=ministry_id)
    await redirect_reason_prompt(ctx)


async def redirect_reason_prompt(ctx: Context) -> None:
    ctx.say("redirect.reason", ministry=texts.ministry_name(ctx, ctx.data.get("ministry", "")),
            buttons=[cancel_row(ctx)])


@refusals(refuse)
async def redirect_reason_input(ctx: Context) -> None:
    reason = await required_text(ctx, redirect_reason_prompt)
    if reason is None:
        return
    ministry_id = ctx.data.get("ministry", "")
    with ctx.ending_dialog():
        redirected = await service.redirect(ctx.repo, ctx.settings, appeal_id_of(ctx), ctx.user, ministry_id, reason,
                                            ctx.now, ctx.extras.get("classifier"))
    ctx.reset()
    appeal, previous, late = redirected.appeal, redirected.previous, redirected.late
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now, ministry_id=previous, redirected_to=ministry_id)
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now, with_files=True)
    await tell_citizen(ctx, appeal, "redirect", lambda names: Reply(text=names.t(
        "redirect.to_citizen", number=appeal.number, ministry=names.ministry(ministry_id), reason=reason)))
    ctx.say("redirect.done_late" if late else "redirect.done", number=appeal.number,
            ministry=texts.ministry_name(ctx, ministry_id))


async def reassign_prompt(ctx: Context) -> None:
    operators = await service.operators_for(ctx.repo, appeal_id_of(ctx))
    if not operators:
        ctx.reset()
        ctx.say("reassign.nobody")
        return
    rows = [[Button(o.display_name or f"#{o.id}", make("reas", o.id))] for o in operators]
    ctx.say("reassign.choose", number=ctx.data.get("number", ""), buttons=[*rows, cancel_row(ctx)])


@refusals(refuse)
async def reassign_to(ctx: Context) -> None:
    operator_id = ctx.payload.int_arg(0) if ctx.payload else None
    appeal_id = appeal_id_of(ctx) or 0
    ctx.reset()
    appeal, operator = await service.reassign(ctx.repo, appeal_id, ctx.user, operator_id, ctx.now)
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    await notify_user(ctx.repo, operator, Reply(text=Names(ctx.settings, operator.language).t(
        "reassign.to_operator", number=appeal.number),
        buttons=[[Button(Names(ctx.settings, operator.language).t("card.open"), make("op", "open", appeal_id))]]),
        dedup_key=f"reassign:{appeal_id}:{ctx.now.isoformat()}", now=ctx.now,
        audience=about_appeal(appeal_id, appeal.ministry_id))
    ctx.say("reassign.done", number=appeal.number, who=operator.display_name or f"#{operator.id}")
