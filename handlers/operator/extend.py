"""Extending the deadline once, by a duration a person reads, with a reason the citizen is told."""

from __future__ import annotations

from bot.config import Duration
from bot.events import Button, Reply
from bot.payloads import make
from bot.services import operator as service
from handlers import cards, texts
from handlers.context import Context
from handlers.operator.base import appeal_id_of, cancel_row, refuse, required_text, tell_citizen
from handlers.router import refusals


def duration_words(ctx: Context, days: Duration) -> str:
    """"30 календарных дней", "10 рабочих дней": what a person reads, never a setting's "30d"."""
    return ctx.t.plural("duration.working" if days.working else "duration.calendar", days.amount)


async def extend_prompt(ctx: Context) -> None:
    options = service.extension_options(ctx.settings)
    row = [Button(duration_words(ctx, o), make("xdays", str(o))) for o in options]
    ctx.say("extend.choose", number=ctx.data.get("number", ""),
            max=duration_words(ctx, Duration.parse(ctx.settings.deadlines.extension_max)),
            buttons=[row[i:i + 2] for i in range(0, len(row), 2)] + [cancel_row(ctx)])


@refusals(refuse)
async def extend_choose(ctx: Context) -> None:
    days = service.extension_chosen(ctx.payload.arg(0) if ctx.payload else None)
    ctx.set_state("op_extend_reason", days=str(days))
    await extend_reason_prompt(ctx)


async def extend_reason_prompt(ctx: Context) -> None:
    ctx.say("extend.reason", days=duration_words(ctx, Duration.parse(ctx.data.get("days") or "0d")),
            buttons=[cancel_row(ctx)])


@refusals(refuse)
async def extend_reason_input(ctx: Context) -> None:
    reason = await required_text(ctx, extend_reason_prompt)
    if reason is None:
        return
    days = Duration.parse(ctx.data.get("days", "0d"))
    with ctx.ending_dialog():
        appeal = await service.extend(ctx.repo, ctx.settings, ctx.calendar, appeal_id_of(ctx), ctx.user, days,
                                      reason, ctx.now)
    ctx.reset()
    await tell_citizen(ctx, appeal, "extend", lambda names: Reply(text=names.t(
        "extend.to_citizen", number=appeal.number, deadline=names.date(appeal.deadline_at), reason=reason)))
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    ctx.say("extend.done", number=appeal.number, deadline=texts.local_date(ctx, appeal.deadline_at))
