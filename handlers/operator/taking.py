"""The buttons under an appeal's card: take it, or begin a dialog (answer, clarify, redirect, extend, reassign)."""

from __future__ import annotations

from dataclasses import replace

from bot.services import operator as service
from bot.services import staff
from bot.services.outbox import notify_user
from handlers import cards, texts
from handlers.context import Context
from handlers.operator.base import acted, refuse
from handlers.operator.queue import show_appeal, show_full_text

ACTIONS = ("take", "ans", "clar", "redir", "ext", "reas", "open", "text")


async def press_card_button(ctx: Context) -> None:
    assert ctx.payload is not None
    action, appeal_id = ctx.payload.arg(0), ctx.payload.int_arg(1)
    if action not in ACTIONS or appeal_id is None:
        await refuse(ctx, "error.stale_button")
        return
    if not staff.is_staff(ctx.user):
        await refuse(ctx, "operator.staff_only")
        return
    if action == "take":
        await take(ctx, appeal_id)
        return
    if action == "open":
        await show_appeal(ctx, appeal_id)
        return
    if action == "text":
        await show_full_text(ctx, appeal_id)
        return
    appeal = await acted(ctx, await service.check(ctx.repo, appeal_id, ctx.user))
    if appeal is None:
        return
    if action == "reas" and not staff.is_supervisor(ctx.user):
        await refuse(ctx, "operator.supervisors_only", appeal)
        return
    if action == "ext" and appeal.extended:
        await refuse(ctx, "extend.only_once", appeal)
        return
    state = {"ans": "operator.answer", "clar": "operator.clarify", "redir": "operator.redirect",
             "ext": "operator.extend", "reas": "operator.reassign"}[action]
    if ctx.event.is_group:
        await continue_in_private(ctx, state, appeal_id=appeal_id, parts=[], files=[], number=appeal.number)
        return
    ctx.reset()
    await ctx.go(state, appeal_id=appeal_id, parts=[], files=[], number=appeal.number)


async def continue_in_private(ctx: Context, state: str, **data: object) -> None:
    """A dialog started from a card in the staff group goes on in the operator's private chat.

    In a group, Telegram delivers to a bot (in its default privacy mode) only commands and button
    presses, not the text typed next (core.telegram.org/bots/features#privacy-mode); and an answer
    being drafted is nobody else's business. The prompt goes out through the outbox, as for any
    message to another chat.
    """
    private = await ctx.repo.conversations.load(ctx.event.channel, ctx.user.chat_id)
    there = replace(ctx, conversation=private, replies=[], payload=None,
                    event=replace(ctx.event, chat_id=ctx.user.chat_id, is_group=False, payload=None))
    there.reset()
    await there.go(state, **data)
    for index, reply in enumerate(there.replies):
        await notify_user(ctx.repo, ctx.user, reply, dedup_key=f"private:{ctx.event.update_key}:{index}", now=ctx.now)
    ctx.toast("operator.continue_private")


async def take(ctx: Context, appeal_id: int) -> None:
    outcome = await service.take(ctx.repo, appeal_id, ctx.user, ctx.now)
    if not outcome.ok or outcome.appeal is None:
        if outcome.problem == "operator.already_taken" and outcome.appeal is not None:
            holder = await ctx.repo.users.get(outcome.appeal.assignee_id or 0)
            ctx.say("operator.already_taken", number=outcome.appeal.number,
                    who=(holder.display_name if holder else None) or "—")
            ctx.toast("operator.refused_toast")
            return
        await refuse(ctx, outcome.problem or "error.stale_button", outcome.appeal)
        return
    await cards.publish_card(ctx.repo, ctx.settings, outcome.appeal, ctx.now)
    ctx.say("operator.taken", number=outcome.appeal.number,
            buttons=cards.action_buttons(texts.names(ctx), outcome.appeal, staff.is_supervisor(ctx.user)))
    ctx.toast("operator.taken_toast")
