"""The citizen after registration: plain messages that belong to an appeal, and /my with its actions.

- A plain message (or files) while a ministry waits for a clarification is the reply: messages
  within ``JOIN_WINDOW`` of each other join one reply, which reaches the ministry once with every
  file; with several appeals waiting, the bot asks which one, keeping what was sent.
- A plain message soon after an answer asks "about appeal № … or a new one?" instead of silently
  starting a new appeal.
- Opening an appeal from /my shows its whole history, the answer and the rating, with the actions
  its state allows: reply to the question, rate (or change the rating), reopen, withdraw.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from bot.domain.appeals import AppealStatus
from bot.events import Attachment, Button
from bot.payloads import make
from bot.presenters.ratings import rate_row
from bot.services import appeals, followups, ratings, staff
from bot.services import operator as operator_service
from bot.services.followups import JOIN_WINDOW, WITHDRAWABLE
from handlers import cards, citizen, common, operator, texts
from handlers.context import Context
from handlers.router import Router, refusals, said
from storage.models import Appeal

JOIN_KEY = "_clarification"  # the reply being joined: survives ctx.reset() (leading underscore)
PICK_STATE = "followup_pick"
ABOUT_STATE = "followup_about"


def setup(router: Router) -> None:
    router.button("clpick", pick_appeal, {PICK_STATE})
    router.button("fuabout", about_appeal, {ABOUT_STATE})
    router.button("funew", new_from_message, {ABOUT_STATE, PICK_STATE})
    router.button("open", open_appeal)
    router.button("wdraw", ask_withdraw)
    router.button("wdrawok", withdraw)
    router.state(PICK_STATE, keep_more, ask_pick)
    router.state(ABOUT_STATE, keep_more, ask_about)
    router.state("clarification", enter_clarification, citizen.ask_clarification)
    fallback = router.idle
    assert fallback is not None

    async def idle(ctx: Context) -> None:
        if not await route_message(ctx):
            await fallback(ctx)

    router.idle = idle


def _message(ctx: Context) -> dict[str, Any]:
    return {"text": ctx.event.text.strip(), "files": [asdict(a) for a in ctx.event.attachments]}


def _files(message: dict[str, Any]) -> list[Attachment]:
    return [Attachment(**f) for f in message.get("files", [])]


def _clean(ctx: Context, text: str) -> str:
    """What is kept of a typed text: no NUL (PostgreSQL refuses it), no more than the limit."""
    return text.replace("\x00", "")[:ctx.settings.limits.text_max_length]


# --- a plain message outside a dialog ------------------------------------------------------------

async def route_message(ctx: Context) -> bool:
    """True when the message belongs to an appeal (and was handled); False: the usual idle reply."""
    if staff.is_staff(ctx.user) or ctx.event.is_group or not ctx.user.consent_given:
        return False
    text = ctx.event.text.strip()
    if text.startswith("/") or (not text and not ctx.event.attachments) or staff.looks_like_code(text):
        return False
    join = ctx.data.get(JOIN_KEY) or {}
    if join and ctx.now < datetime.fromisoformat(join["until"]):
        await deliver_clarification(ctx, int(join["appeal_id"]), _clean(ctx, text), list(ctx.event.attachments))
        return True
    waiting = await followups.awaiting_clarification(ctx.repo, ctx.user)
    if len(waiting) == 1:
        await deliver_clarification(ctx, waiting[0].id, _clean(ctx, text), list(ctx.event.attachments))
        return True
    if waiting:
        ctx.set_state(PICK_STATE, followup=_message(ctx))
        await ask_pick(ctx)
        return True
    since = ctx.now - timedelta(hours=ctx.settings.ratings.change_window_hours)
    answered = await followups.recently_answered(ctx.repo, ctx.user, since)
    if answered:
        ctx.set_state(ABOUT_STATE, followup=_message(ctx))
        await ask_about(ctx)
        return True
    return False


async def keep_more(ctx: Context) -> None:
    """More text or files while the bot asks which appeal: added to what waits, then the question again."""
    message = dict(ctx.data.get("followup") or {})
    text = ctx.event.text.strip()
    if text:
        message["text"] = _clean(ctx, "\n\n".join(p for p in (message.get("text", ""), text) if p))
    message["files"] = [*message.get("files", []), *(asdict(a) for a in ctx.event.attachments)]
    ctx.set_state(ctx.state, followup=message)
    await texts.router(ctx).prompt(ctx)


async def ask_pick(ctx: Context) -> None:
    waiting = await followups.awaiting_clarification(ctx.repo, ctx.user)
    rows = [[Button(a.number, make("clpick", a.id))] for a in waiting[:8]]
    rows.append([ctx.button("followup.new_appeal", make("funew"))])
    rows.append([ctx.button("button.cancel", make("cancel"))])
    ctx.say("followup.which_clarification", buttons=rows)


async def pick_appeal(ctx: Context) -> None:
    assert ctx.payload is not None
    message = dict(ctx.data.get("followup") or {})
    ctx.reset()
    await deliver_clarification(ctx, ctx.payload.int_arg(0) or 0, message.get("text", ""), _files(message))


async def ask_about(ctx: Context) -> None:
    since = ctx.now - timedelta(hours=ctx.settings.ratings.change_window_hours)
    answered = await followups.recently_answered(ctx.repo, ctx.user, since)
    if not answered:
        message = dict(ctx.data.get("followup") or {})
        ctx.reset()
        await _new_appeal(ctx, message)
        return
    rows = [[ctx.button("followup.about_button", make("fuabout", a.id), number=a.number)] for a in answered]
    rows.append([ctx.button("followup.new_appeal", make("funew"))])
    ctx.say("followup.about_or_new", number=answered[0].number, buttons=rows)


async def about_appeal(ctx: Context) -> None:
    assert ctx.payload is not None
    ctx.reset()
    appeal = await appeals.citizen_appeal(ctx.repo, ctx.user, ctx.payload.int_arg(0) or 0)
    if appeal is None:
        ctx.say("error.appeal_not_found")
        return
    ctx.say("followup.about_answered", number=appeal.number)
    await show_appeal(ctx, appeal)


async def new_from_message(ctx: Context) -> None:
    message = dict(ctx.data.get("followup") or {})
    ctx.reset()
    await _new_appeal(ctx, message)


async def _new_appeal(ctx: Context, message: dict[str, Any]) -> None:
    await citizen.begin(ctx, message.get("text", ""))
    files = _files(message)
    if files and ctx.state:
        with citizen.drafting(ctx) as draft:
            for attachment in files[:ctx.settings.limits.attachments_max_count]:
                draft.add_attachment(attachment)


# --- the clarification reply, joined over a short window ----------------------------------------

async def enter_clarification(ctx: Context) -> None:
    """The reply typed after pressing «Ответить» under the ministry's question."""
    text = _clean(ctx, ctx.event.text.strip())
    if not text and not ctx.event.attachments:
        await citizen.complain(ctx, "hint.text_expected")
        return
    data = ctx.data
    resume = data.get("resume") or {}
    ctx.reset()
    if resume.get("state"):
        ctx.set_state(resume["state"], **resume.get("data", {}))
    await deliver_clarification(ctx, data.get("appeal_id") or 0, text, list(ctx.event.attachments))
    if ctx.state:
        await texts.router(ctx).prompt(ctx)


@refusals(said)
async def deliver_clarification(ctx: Context, appeal_id: int, text: str, files: list[Attachment]) -> None:
    """Record the message as (part of) the reply and queue it for the ministry when the window has passed."""
    join = ctx.data.get(JOIN_KEY) or {}
    until = ctx.now + JOIN_WINDOW
    if join and int(join["appeal_id"]) == appeal_id and ctx.now < datetime.fromisoformat(join["until"]):
        joined = await followups.join_clarification(ctx.repo, appeal_id, int(join["event_id"]), ctx.user, text, files)
        if joined is not None:
            prefix = f"clarified:{appeal_id}:{joined.event.id}:"
            await followups.drop_pending_notices(ctx.repo, prefix)
            parts = int(join.get("parts", 1)) + 1
            all_files = await followups.clarification_files(ctx.repo, appeal_id, joined.files)
            await operator.notify_ministry(ctx, joined.appeal, "clarify.received", f"{prefix}{parts}",
                                           files=all_files, due_at=until, text=joined.text or "—")
            ctx.set_state(ctx.state, **{JOIN_KEY: {**join, "until": until.isoformat(), "parts": parts}})
            ctx.say("clarify.joined", number=joined.appeal.number)
            return
    appeal = await operator_service.receive_clarification(
        ctx.repo, appeal_id, ctx.user, text, files, ctx.now,
        pause_deadline=ctx.settings.deadlines.pause_on_clarification)
    event = await appeals.latest_event(ctx.repo, appeal)
    await operator.notify_ministry(ctx, appeal, "clarify.received", f"clarified:{appeal.id}:{event.id}:1",
                                   files=files, due_at=until, text=text or "—")
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    ctx.set_state(ctx.state, **{JOIN_KEY: {"appeal_id": appeal.id, "event_id": event.id,
                                           "until": until.isoformat(), "parts": 1}})
    ctx.say_text(ctx.t.plural("clarify.passed_on", int(JOIN_WINDOW.total_seconds() // 60), number=appeal.number))


# --- /my: one appeal, all of it ------------------------------------------------------------------

async def open_appeal(ctx: Context) -> None:
    assert ctx.payload is not None
    appeal_id = ctx.payload.int_arg(0)
    appeal = await appeals.citizen_appeal(ctx.repo, ctx.user, appeal_id) if appeal_id else None
    if appeal is None:
        ctx.say("error.appeal_not_found")
        return
    await show_appeal(ctx, appeal)


async def show_appeal(ctx: Context, appeal: Appeal) -> None:
    lines = [ctx.t("appeal.card", number=appeal.number, sector=texts.sector_name(ctx, appeal.sector_id),
                   category=texts.category_name(ctx, appeal.sector_id, appeal.category_id),
                   ministry=texts.ministry_name(ctx, appeal.ministry_id),
                   status=texts.status_name(ctx, appeal.status),
                   registered=texts.local_date(ctx, appeal.registered_at),
                   deadline=texts.local_date(ctx, appeal.deadline_at)),
             ctx.t("appeal.history")]
    for event in await appeals.history(ctx.repo, appeal):
        line = ctx.t("history.line", at=texts.local_datetime(ctx, event.at), what=ctx.t(f"event.{event.kind}"))
        if event.kind == "rated" and event.details.get("score"):
            line += ctx.t("history.score", score=event.details["score"])
        elif event.reason:
            line += ctx.t("history.reason", reason=event.reason)
        lines.append(line)
    rating = await ratings.current_rating(ctx.repo, appeal) if appeal.status in ratings.ANSWERED else None
    if appeal.answer_text and appeal.status in ratings.ANSWERED:
        lines.append(ctx.t("my.answer", text=appeal.answer_text))
    if rating is not None:
        lines.append(ctx.t("my.rating", score=rating.score))
    ctx.say_text("\n".join(lines), buttons=[*_actions(ctx, appeal, rating),
                                           [ctx.button("button.back_to_list", make("my", 0))]])


def _actions(ctx: Context, appeal: Appeal, rating: Any) -> list[list[Button]]:
    rows: list[list[Button]] = []
    if appeal.status == AppealStatus.CLARIFICATION_REQUESTED:
        rows.append([ctx.button("clarify.reply_button", make("clreply", appeal.id))])
    if appeal.status in ratings.ANSWERED:
        window = timedelta(hours=ctx.settings.ratings.change_window_hours)
        if rating is None or ctx.now - rating.at <= window:
            rows.append(rate_row(appeal.id))
        if ratings.reopen_problem(ctx.settings, appeal, rating, ctx.now) is None:
            rows.append([ctx.button("reopen.button", make("reopen", appeal.id))])
    if appeal.status in WITHDRAWABLE:
        rows.append([ctx.button("withdraw.button", make("wdraw", appeal.id))])
    return rows


async def ask_withdraw(ctx: Context) -> None:
    assert ctx.payload is not None
    appeal = await appeals.citizen_appeal(ctx.repo, ctx.user, ctx.payload.int_arg(0) or 0)
    if appeal is None or appeal.status not in WITHDRAWABLE:
        await common.stale_button(ctx)
        return
    ctx.say("withdraw.confirm", number=appeal.number, buttons=[
        [ctx.button("withdraw.yes", make("wdrawok", appeal.id)), ctx.button("withdraw.no", make("open", appeal.id))]])


@refusals(common.outdated)
async def withdraw(ctx: Context) -> None:
    appeal = await followups.withdraw(ctx.repo, ctx.user, (ctx.payload.int_arg(0) if ctx.payload else None) or 0,
                                      ctx.now)
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    await operator.notify_ministry(ctx, appeal, "withdraw.to_ministry", f"withdrawn:{appeal.id}")
    ctx.say("withdraw.done", number=appeal.number, replace=True)
