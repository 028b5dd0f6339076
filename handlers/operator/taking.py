"""The buttons under an appeal's card: take it, or begin a dialog (answer, clarify, redirect, extend, reassign)."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.errors import Refusal
from bot.services import operator as service
from bot.services import staff, users
from bot.services.outbox import notify_user
from handlers import cards, texts
from handlers.context import Context
from handlers.operator.base import refuse
from handlers.operator.queue import show_appeal, show_full_text
from handlers.router import refusals

ACTIONS = ("take", "ans", "clar", "redir", "ext", "reas", "open", "text")


@refusals(refuse)
async def press_card_button(ctx: Context) -> None:
    action = ctx.payload.arg(0) if ctx.payload else None
    appeal_id = ctx.payload.int_arg(1) if ctx.payload else None
    if action not in ACTIONS or appeal_id is None:
        raise Refusal("error.stale_button")
    if not staff.is_staff(ctx.user):
        raise Refusal("operator.staff_only")
    if action == "take":
        await take(ctx, appeal_id)
        return
    if action == "open":
        await show_appeal(ctx, appeal_id)
        return
    if action == "text":
        await show_full_text(ctx, appeal_id)
        return
    appeal = await service.check(ctx.repo, appeal_id, ctx.user)
    if action == "reas" and not staff.is_supervisor(ctx.user):
        raise service.refusal("operator.supervisors_only", appeal)
    if action == "ext" and appeal.extended:
        raise service.refusal("extend.only_once", appeal)
    state = {"ans": "op_answer", "clar": "op_clarify", "redir": "op_redirect", "ext": "op_extend",
             "reas": "op_reassign"}[action]
    if ctx.event.is_group:
        await continue_in_private(ctx, state, appeal_id=appeal_id, parts=[], files=[], number=appeal.number)
        return
    ctx.reset()
    ctx.set_state(state, appeal_id=appeal_id, parts=[], files=[], number=appeal.number)
    await texts.router(ctx).prompt(ctx)


async def continue_in_private(ctx: Context, state: str, **data: object) -> None:
    """A dialog started from a card in the staff group goes on in the operator's private chat.

    In a group, Telegram delivers to a bot (in its default privacy mode) only commands and button
    presses, not the text typed next (core.telegram.org/bots/features#privacy-mode); and an answer
    being drafted is nobody else's business. The prompt goes out through the outbox, as for any
    message to another chat.
    """
    private = await users.dialog(ctx.repo, ctx.event.channel, ctx.user.chat_id)
    there = replace(ctx, conversation=private, replies=[], payload=None,
                    event=replace(ctx.event, chat_id=ctx.user.chat_id, is_group=False, payload=None))
    there.reset()
    there.set_state(state, **data)
    await texts.router(there).prompt(there)
    for index, reply in enumerate(there.replies):
        await notify_user(ctx.repo, ctx.user, reply, dedup_key=f"private:{ctx.event.update_key}:{index}", now=ctx.now)
    ctx.toast("operator.continue_private")


async def take(ctx: Context, appeal_id: int) -> None:
    appeal = await service.take(ctx.repo, appeal_id, ctx.user, ctx.now)
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    ctx.say("operator.taken", number=appeal.number,
            buttons=cards.action_buttons(texts.names(ctx), appeal, staff.is_supervisor(ctx.user)))
    ctx.toast("operator.taken_toast")
