"""/queue, /overdue, /appeal: lists of appeals, one appeal with its history, its whole text in parts."""

from __future__ import annotations

from bot.domain.errors import Refusal
from bot.domain.roles import Role
from bot.events import Button, Reply
from bot.payloads import make
from bot.services import operator as service
from bot.services import staff
from handlers import cards, texts
from handlers.context import Context
from handlers.operator.base import refuse
from handlers.operator.lookup import find_appeal, find_scope
from handlers.router import refusals
from storage.models import Appeal


def _queue_line(ctx: Context, appeal: Appeal, with_ministry: bool = False) -> str:
    mark = "⚠ " if appeal.deadline_at < ctx.now else ""
    line = ctx.t("queue.line", mark=mark, number=appeal.number, deadline=texts.local_date(ctx, appeal.deadline_at),
                 status=texts.status_name(ctx, appeal.status), sector=texts.sector_name(ctx, appeal.sector_id))
    if with_ministry:  # the all-ministries queue: whose it is now (after a redirect, the new one's)
        line += ctx.t("queue.ministry", ministry=texts.ministry_name(ctx, appeal.ministry_id))
    return line


async def _list(ctx: Context, title: str, items: list[Appeal], with_ministry: bool = False, **params: object) -> None:
    if not items:
        ctx.say("queue.empty_of", scope=params.get("ministry", "")) if params.get("ministry") else ctx.say(
            "queue.empty")
        return
    lines = [ctx.t(title, **params), *(_queue_line(ctx, a, with_ministry) for a in items)]
    rows = [[Button(a.number, make("op", "open", a.id))] for a in items[:10]]
    ctx.say_text("\n".join(lines), buttons=rows)


async def show_queue(ctx: Context) -> None:
    argument = str(ctx.extras.get("argument") or "").strip()
    ministry_id = sector_id = None
    if staff.is_supervisor(ctx.user):
        if argument:
            found = find_scope(ctx, argument)
            if len(found) != 1:
                names = [texts.ministry_name(ctx, m) for m in ctx.settings.ministries]
                names += [texts.sector_name(ctx, s) for s in ctx.settings.sectors]
                ctx.say("queue.unknown_scope" if not found else "queue.ambiguous_scope", known="; ".join(names))
                return
            kind, key = found[0]
            ministry_id, sector_id = (key, None) if kind == "ministry" else (None, key)
    elif ctx.user.role == Role.OPERATOR:
        ministry_id = ctx.user.ministry_id
    else:
        ctx.say("operator.staff_command")
        return
    items = list(await service.queue(ctx.repo, ministry_id, sector_id=sector_id))
    title = (texts.ministry_name(ctx, ministry_id) if ministry_id else texts.sector_name(ctx, sector_id)
             if sector_id else ctx.t("queue.all"))
    await _list(ctx, "queue.title", items, with_ministry=ministry_id is None, ministry=title)


async def show_overdue(ctx: Context) -> None:
    if not staff.is_supervisor(ctx.user):
        ctx.say("operator.supervisors_only" if staff.is_staff(ctx.user) else "operator.staff_command")
        return
    items = list(await service.overdue(ctx.repo, ctx.now))
    if not items:
        ctx.say("overdue.empty")
        return
    await _list(ctx, "overdue.title", items)


@refusals(refuse)
async def show_appeal_command(ctx: Context, typed: str | None = None) -> None:
    if not staff.is_staff(ctx.user):
        ctx.say("operator.staff_command")
        return
    typed = str(ctx.extras.get("argument") or "").strip() if typed is None else typed
    appeal = await find_appeal(ctx, typed) if typed else None
    if appeal is None:
        ctx.say("appeal.number_unknown")
        return
    await show_appeal(ctx, appeal.id)


async def show_appeal(ctx: Context, appeal_id: int) -> None:
    view = await service.appeal_view(ctx.repo, appeal_id)
    if view is None or not (staff.may_handle(ctx.user, view.appeal) or view.appeal.citizen_id == ctx.user.id):
        raise Refusal("error.appeal_not_found")
    appeal, names = view.appeal, texts.names(ctx)
    lines = [cards.card_text(names, appeal, cards.short_name(view.assignee)), ctx.t("appeal.history")]
    for event in view.events:
        line = ctx.t("history.line", at=texts.local_datetime(ctx, event.at), what=ctx.t(f"event.{event.kind}"))
        if event.reason:
            line += ctx.t("history.reason", reason=event.reason)
        if event.details.get("late"):
            line += ctx.t("history.late")
        lines.append(line)
    buttons = cards.action_buttons(names, appeal, staff.is_supervisor(ctx.user)) if staff.may_handle(
        ctx.user, appeal) else []
    ctx.replies.append(Reply(text="\n".join(lines), buttons=buttons, attachments=cards.appeal_files(appeal)))


TEXT_PART = 3500  # below every messenger's limit (Telegram 4,096, MAX 4,000), with room for the heading


def text_parts(text: str, size: int = TEXT_PART) -> list[str]:
    """The text in parts of at most ``size`` characters, cut at a paragraph, line or word where possible."""
    parts = []
    while len(text) > size:
        cut = max(text.rfind(sep, size // 2, size) for sep in ("\n\n", "\n", " "))
        cut = cut if cut > 0 else size
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*parts, text] if text or not parts else parts


async def show_full_text(ctx: Context, appeal_id: int) -> None:
    """The whole text of an appeal, in parts: a long appeal can be read to the end, in any messenger."""
    appeal = await service.appeal(ctx.repo, appeal_id)
    if appeal is None or not staff.may_handle(ctx.user, appeal):
        raise Refusal("error.appeal_not_found")
    parts = text_parts(appeal.text or "")
    for index, part in enumerate(parts, 1):
        ctx.say("card.text_part", number=appeal.number, part=index, parts=len(parts), text=part)
