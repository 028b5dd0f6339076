"""What the ministry's dialogs share: refusals, the dialog's appeal re-checked, messages to citizen and ministry."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.domain.appeals import AppealStatus
from bot.domain.errors import Refusal
from bot.events import Attachment, Button, Reply
from bot.payloads import make
from bot.services import operator as service
from bot.services import users
from bot.services.audience import about_appeal
from bot.services.outbox import notify, notify_user
from handlers import cards, texts
from handlers.context import Context
from handlers.texts import Names
from storage.models import Appeal

log = logging.getLogger("handlers.operator")

RATING_SCORES = (1, 2, 3, 4, 5)


def cancel_row(ctx: Context) -> list[Button]:
    return [ctx.button("button.cancel", make("cancel"))]


async def hint_buttons(ctx: Context) -> None:
    ctx.say("hint.use_buttons")
    await texts.router(ctx).prompt(ctx)


async def refuse(ctx: Context, refusal: Refusal) -> None:
    """A refused action on an appeal: said politely with the appeal's number and status, logged for the audit."""
    params = {"number": "", "status": "", **refusal.params}
    # The press's payload, never the text typed: logs carry no personal data.
    what = ctx.event.payload or f"a message of {len(ctx.event.text)} characters"
    log.warning("refused %s for %s:%s (role %s, ministry %s) on appeal %s: %s", what,
                ctx.event.channel, ctx.event.user_id, ctx.user.role, ctx.user.ministry_id,
                params["number"] or None, refusal.key)
    if isinstance(params["status"], AppealStatus):
        params["status"] = texts.status_name(ctx, params["status"])
    ctx.say(refusal.key, **params)
    ctx.toast("operator.refused_toast")


def appeal_id_of(ctx: Context) -> int | None:
    return ctx.data.get("appeal_id")


async def current(ctx: Context) -> Appeal:
    """The appeal of the dialog, re-checked: it may have changed while the operator was typing."""
    with ctx.ending_dialog():
        return await service.check(ctx.repo, appeal_id_of(ctx), ctx.user)


async def tell_citizen(ctx: Context, appeal: Appeal, dedup: str,
                       compose: Callable[[Names], Reply]) -> None:
    """A message to the appeal's citizen, in their language, through the outbox."""
    citizen = await users.by_id(ctx.repo, appeal.citizen_id)
    if citizen is not None:
        reply = compose(Names(ctx.settings, citizen.language))
        await notify_user(ctx.repo, citizen, reply, dedup_key=f"{dedup}:{appeal.id}:{ctx.now.isoformat()}",
                          now=ctx.now)


async def required_text(ctx: Context, prompt: Callable[[Context], Awaitable[None]]) -> str | None:
    """The text the step needs; a hint and the question again when the message has none."""
    text = ctx.event.text.strip()
    if not text:
        ctx.say("hint.text_expected")
        await prompt(ctx)
        return None
    return text


async def notify_ministry(ctx: Context, appeal: Appeal, key: str, dedup: str, files: list[Attachment] | None = None,
                          due_at: datetime | None = None, **params: object) -> None:
    """A message to whoever handles the appeal: the assignee, else the ministry's recipients."""
    for target in await cards.responsible(ctx.repo, ctx.settings, appeal):
        names = Names(ctx.settings, target.language)
        reply = Reply(text=names.t(key, number=appeal.number, **params), attachments=list(files or []),
                      buttons=[[Button(names.t("card.open"), make("op", "open", appeal.id))]])
        await notify(ctx.repo, target.channel, target.chat_id, reply, dedup_key=f"{dedup}:{target.chat_id}",
                     now=ctx.now, due_at=due_at, audience=about_appeal(appeal.id, appeal.ministry_id))
