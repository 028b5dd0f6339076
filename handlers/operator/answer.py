"""The answer dialog: text and files in parts, a preview, then the answer goes to the citizen."""

from __future__ import annotations

from dataclasses import asdict

from bot.events import Attachment, Reply
from bot.payloads import make
from bot.presenters.ratings import rate_question
from bot.services import operator as service
from handlers import cards
from handlers.context import Context
from handlers.operator.base import cancel_row, refuse, tell_citizen
from handlers.router import refusals


async def answer_prompt(ctx: Context) -> None:
    data = ctx.data
    if data.get("parts") or data.get("files"):
        ctx.say("answer.so_far", number=data.get("number", ""), length=len("\n\n".join(data.get("parts", []))),
                files=len(data.get("files", [])),
                buttons=[[ctx.button("button.done", make("opdone"))], cancel_row(ctx)])
    else:
        ctx.say("answer.ask", number=data.get("number", ""), buttons=[cancel_row(ctx)])


async def answer_input(ctx: Context) -> None:
    data = ctx.data
    parts, files = list(data.get("parts", [])), list(data.get("files", []))
    limits = ctx.settings.limits
    for attachment in ctx.event.attachments:
        if len(files) >= limits.attachments_max_count:
            ctx.say("error.attachments_too_many", name=attachment.name or attachment.kind,
                    max=limits.attachments_max_count)
            continue
        files.append(asdict(attachment))
    text = ctx.event.text.strip()
    if text:
        if len("\n\n".join([*parts, text])) > limits.text_max_length:
            ctx.say("error.text_too_long", max=limits.text_max_length, length=len("\n\n".join(parts)))
        else:
            parts.append(text)
    elif not ctx.event.attachments:
        ctx.say("hint.text_expected")
    ctx.set_state("op_answer", parts=parts, files=files)
    await answer_prompt(ctx)


async def answer_preview(ctx: Context) -> None:
    if not ctx.data.get("parts"):
        ctx.say("answer.empty")
        await answer_prompt(ctx)
        return
    ctx.set_state("op_answer_preview")
    await show_preview(ctx)


async def show_preview(ctx: Context) -> None:
    data = ctx.data
    ctx.say("answer.preview", number=data.get("number", ""), text="\n\n".join(data.get("parts", [])),
            files=len(data.get("files", [])), buttons=[
                [ctx.button("answer.send", make("opsend"))],
                [ctx.button("answer.rewrite", make("opredo")), ctx.button("button.cancel", make("cancel"))]])


async def answer_restart(ctx: Context) -> None:
    ctx.set_state("op_answer", parts=[], files=[])
    await answer_prompt(ctx)


@refusals(refuse)
async def answer_send(ctx: Context) -> None:
    data = ctx.data
    files = [Attachment(**f) for f in data.get("files", [])]
    with ctx.ending_dialog():
        appeal = await service.answer(ctx.repo, data.get("appeal_id"), ctx.user, "\n\n".join(data.get("parts", [])),
                                      files, ctx.now)
    ctx.reset()
    await tell_citizen(ctx, appeal, "answer", lambda names: Reply(text=names.t(
        "answer.to_citizen", number=appeal.number, ministry=names.ministry(appeal.ministry_id),
        text=appeal.answer_text or ""), attachments=files))
    await tell_citizen(ctx, appeal, "rate-ask", lambda names: rate_question(names, appeal))
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    ctx.say("answer.sent", number=appeal.number, replace=True)
    ctx.toast("answer.sent_toast")
