"""The summary before registration: editing a field, confirming; the citizen's reply to a ministry's question."""

from __future__ import annotations

from bot.domain.appeals import AppealStatus
from bot.payloads import make
from bot.services import appeals
from handlers import cards, texts
from handlers.citizen.base import EDITABLE, cancel_row, complain, show_summary, stale_button
from handlers.context import Context


async def ask_field(ctx: Context) -> None:
    ctx.set_state("edit")
    rows = [[ctx.button(f"field.{field}", make("field", field))] for field in EDITABLE]
    rows.append([ctx.button("button.back_to_summary", make("field", "back"))])
    ctx.say("appeal.edit_which", buttons=rows, replace=ctx.event.is_button)


async def edit_field(ctx: Context) -> None:
    assert ctx.payload is not None
    field = ctx.payload.arg(0) or ""
    if field == "back":
        ctx.set_state("confirm", editing=False)
        await show_summary(ctx)
        return
    if field not in EDITABLE:
        await stale_button(ctx)
        return
    draft = ctx.draft
    if field == "text":
        draft.text_parts = []
    elif field == "attachments":
        draft.attachments = []
    ctx.set_state(field, editing=True, draft=draft.to_dict())
    await texts.router(ctx).prompt(ctx)


async def confirm(ctx: Context) -> None:
    draft = ctx.draft
    today = await appeals.registered_today(ctx.repo, ctx.settings, ctx.user, ctx.now)
    if today >= ctx.settings.limits.appeals_per_day:
        await complain(ctx, "limit.appeals_per_day", count=today)
        return
    appeal = await appeals.register(ctx.repo, ctx.settings, ctx.calendar, ctx.user, draft, ctx.now)
    ctx.reset()
    ctx.say("appeal.registered", replace=True, number=appeal.number,
            ministry=texts.ministry_name(ctx, appeal.ministry_id), deadline=texts.local_date(ctx, appeal.deadline_at),
            buttons=[[ctx.button("menu.my", make("my", 0)), ctx.button("menu.new", make("new"))]])
    ctx.toast("appeal.registered_toast", number=appeal.number)
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now, with_files=True)


async def start_clarification_reply(ctx: Context) -> None:
    assert ctx.payload is not None
    appeal = await appeals.citizen_appeal(ctx.repo, ctx.user, ctx.payload.int_arg(0) or 0)
    if appeal is None:
        ctx.say("error.appeal_not_found")
        return
    if appeal.status != AppealStatus.CLARIFICATION_REQUESTED:
        ctx.say("clarify.not_waiting", number=appeal.number)
        return
    # Whatever the citizen was doing (a new appeal half-written) waits and resumes afterwards.
    resume = {"state": ctx.state, "data": ctx.data} if ctx.state != "clarification" else ctx.data.get("resume")
    ctx.reset()
    ctx.set_state("clarification", appeal_id=appeal.id, number=appeal.number, resume=resume)
    await ask_clarification(ctx)


async def ask_clarification(ctx: Context) -> None:
    ctx.say("clarify.citizen_prompt", number=ctx.data.get("number", ""), buttons=[cancel_row(ctx)])
