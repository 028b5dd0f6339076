"""/my: the citizen's appeals, a page at a time."""

from __future__ import annotations

from bot.events import Button
from bot.payloads import make
from bot.services import appeals, staff
from handlers import texts
from handlers.context import Context

PAGE_SIZE = 5


async def my_appeals(ctx: Context) -> None:
    if staff.is_staff(ctx.user):
        ctx.say("staff.citizen_command")
        return
    offset = ctx.payload.int_arg(0) if ctx.payload else 0
    offset = offset or 0
    total = await appeals.count_of_citizen(ctx.repo, ctx.user)
    if total == 0:
        ctx.say("my.empty", buttons=[[ctx.button("menu.new", make("new"))]])
        return
    items = await appeals.citizen_appeals(ctx.repo, ctx.user, PAGE_SIZE, offset)
    lines = [ctx.t.plural("my.header", total)]
    rows = []
    for appeal in items:
        lines.append(ctx.t("my.line", number=appeal.number, sector=texts.sector_name(ctx, appeal.sector_id),
                           status=texts.status_name(ctx, appeal.status),
                           deadline=texts.local_date(ctx, appeal.deadline_at)))
        rows.append([Button(appeal.number, make("open", appeal.id))])
    paging = []
    if offset > 0:
        paging.append(ctx.button("button.previous", make("my", max(offset - PAGE_SIZE, 0))))
    if offset + PAGE_SIZE < total:
        paging.append(ctx.button("button.more", make("my", offset + PAGE_SIZE)))
    if paging:
        rows.append(paging)
    ctx.say_text("\n".join(lines), buttons=rows, replace=ctx.event.is_button and ctx.payload is not None
                 and ctx.payload.verb == "my")
    if ctx.state:
        ctx.say("my.dialog_waits")
        await texts.router(ctx).prompt(ctx)
