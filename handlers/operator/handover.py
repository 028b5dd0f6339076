"""Who handles the appeal: redirected to another ministry (with a reason), reassigned by a supervisor."""

from __future__ import annotations

from bot.events import Button, Reply
from bot.payloads import make
from bot.services import operator as service
from bot.services.audience import about_appeal
from bot.services.outbox import notify_user
from handlers import cards, texts
from handlers.context import Context
from handlers.operator.base import acted, appeal_id_of, cancel_row, refuse, required_text, tell_citizen
from handlers.texts import Names


async def redirect_prompt(ctx: Context) -> None:
    appeal = await ctx.repo.appeals.get(appeal_id_of(ctx) or 0)
    rows = [[Button(texts.ministry_name(ctx, ministry_id), make("operator.redirect_to", ministry_id))]
            for ministry_id in ctx.settings.ministries if appeal is None or ministry_id != appeal.ministry_id]
    ctx.say("redirect.choose", number=ctx.data.get("number", ""), buttons=[*rows, cancel_row(ctx)])


async def redirect_choose(ctx: Context) -> None:
    assert ctx.payload is not None
    ministry_id = ctx.payload.arg(0) or ""
    if ministry_id not in ctx.settings.ministries:
        await refuse(ctx, "error.stale_button")
        return
    ctx.set_state("operator.redirect_reason", ministry=ministry_id)
    await redirect_reason_prompt(ctx)


async def redirect_reason_prompt(ctx: Context) -> None:
    ctx.say("redirect.reason", ministry=texts.ministry_name(ctx, ctx.data.get("ministry", "")),
            buttons=[cancel_row(ctx)])


async def redirect_reason_input(ctx: Context) -> None:
    reason = await required_text(ctx, redirect_reason_prompt)
    if reason is None:
        return
    ministry_id = ctx.data.get("ministry", "")
    outcome = await service.redirect(ctx.repo, ctx.settings, appeal_id_of(ctx) or 0, ctx.user, ministry_id, reason,
                                     ctx.now, ctx.deps.classifier)
    ctx.reset()
    appeal = await acted(ctx, outcome)
    if appeal is None:
        return
    events = await ctx.repo.appeals.events(appeal.id)
    previous = events[-1].details.get("from", "")
    late = bool(events[-1].details.get("late"))
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now, ministry_id=previous, redirected_to=ministry_id)
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now, with_files=True)
    await tell_citizen(ctx, appeal, "redirect", lambda names: Reply(text=names.t(
        "redirect.to_citizen", number=appeal.number, ministry=names.ministry(ministry_id), reason=reason)))
    ctx.say("redirect.done_late" if late else "redirect.done", number=appeal.number,
            ministry=texts.ministry_name(ctx, ministry_id))


async def reassign_prompt(ctx: Context) -> None:
    appeal = await ctx.repo.appeals.get(appeal_id_of(ctx) or 0)
    operators = await ctx.repo.staff.operators_of(appeal.ministry_id) if appeal else []
    if not operators:
        ctx.reset()
        ctx.say("reassign.nobody")
        return
    rows = [[Button(o.display_name or f"#{o.id}", make("operator.reassign_to", o.id))] for o in operators]
    ctx.say("reassign.choose", number=ctx.data.get("number", ""), buttons=[*rows, cancel_row(ctx)])


async def reassign_to(ctx: Context) -> None:
    assert ctx.payload is not None
    operator = await ctx.repo.users.get(ctx.payload.int_arg(0) or 0)
    appeal_id = appeal_id_of(ctx) or 0
    ctx.reset()
    if operator is None:
        await refuse(ctx, "error.stale_button")
        return
    appeal = await acted(ctx, await service.reassign(ctx.repo, appeal_id, ctx.user, operator, ctx.now))
    if appeal is None:
        return
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    await notify_user(ctx.repo, operator, Reply(text=Names(ctx.settings, operator.language).t(
        "reassign.to_operator", number=appeal.number),
        buttons=[[Button(Names(ctx.settings, operator.language).t("card.open"),
                         make("operator.card", "open", appeal_id))]]),
        dedup_key=f"reassign:{appeal_id}:{ctx.now.isoformat()}", now=ctx.now,
        audience=about_appeal(appeal_id, appeal.ministry_id))
    ctx.say("reassign.done", number=appeal.number, who=operator.display_name or f"#{operator.id}")
