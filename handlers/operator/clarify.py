"""A question to the citizen: typed, previewed, sent; the appeal waits for the reply."""

from __future__ import annotations

from bot.events import Button, Reply
from bot.payloads import make
from bot.services import operator as service
from handlers import cards
from handlers.context import Context
from handlers.operator.base import appeal_id_of, cancel_row, current, refuse, required_text, tell_citizen
from handlers.router import refusals


async def clarify_prompt(ctx: Context) -> None:
    ctx.say("clarify.ask", number=ctx.data.get("number", ""), buttons=[cancel_row(ctx)])


@refusals(refuse)
async def clarify_input(ctx: Context) -> None:
    question = await required_text(ctx, clarify_prompt)
    if question is None:
        return
    await current(ctx)
    ctx.set_state("op_clarify_preview", question=question[:ctx.settings.limits.text_max_length])
    await clarify_preview(ctx)


async def clarify_preview(ctx: Context) -> None:
    """The question as the citizen will see it, with Send / Edit / Cancel, like the answer."""
    data = ctx.data
    ctx.say("clarify.preview", number=data.get("number", ""), question=data.get("question", ""), buttons=[
        [ctx.button("clarify.send", make("opclsend"))],
        [ctx.button("clarify.rewrite", make("opclredo")), ctx.button("button.cancel", make("cancel"))]])


async def clarify_restart(ctx: Context) -> None:
    ctx.set_state("op_clarify", question="")
    await clarify_prompt(ctx)


@refusals(refuse)
async def clarify_send(ctx: Context) -> None:
    question = str(ctx.data.get("question") or "")
    with ctx.ending_dialog():
        appeal = await service.request_clarification(ctx.repo, appeal_id_of(ctx), ctx.user, question, ctx.now)
    ctx.reset()
    await tell_citizen(ctx, appeal, "clarify", lambda names: Reply(
        text=names.t("clarify.to_citizen", number=appeal.number, question=question),
        buttons=[[Button(names.t("clarify.reply_button"), make("clreply", appeal.id))]]))
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    ctx.say("clarify.sent", number=appeal.number, replace=True)
    ctx.toast("clarify.sent_toast")
