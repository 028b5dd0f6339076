"""The ministry's side: card buttons, the answer / clarify / redirect / extend dialogs, /queue, /appeal."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from datetime import datetime

from bot.config import Duration
from bot.events import Attachment, Button, Reply
from bot.services import operator as service
from bot.services import staff
from bot.services.audience import about_appeal
from bot.services.outbox import notify, notify_user
from handlers import cards, texts, workplace
from handlers.context import Context
from handlers.payloads import make
from handlers.router import Router
from handlers.texts import Names
from storage.models import Appeal

log = logging.getLogger(__name__)

ACTIONS = ("take", "ans", "clar", "redir", "ext", "reas", "open", "text")
RATING_SCORES = (1, 2, 3, 4, 5)


def setup(router: Router) -> None:
    router.button("op", press_card_button)
    router.button("opdone", answer_preview, {"op_answer"})
    router.button("opsend", answer_send, {"op_answer_preview"})
    router.button("opredo", answer_restart, {"op_answer_preview"})
    router.button("rto", redirect_choose, {"op_redirect"})
    router.button("xdays", extend_choose, {"op_extend"})
    router.button("reas", reassign_to, {"op_reassign"})
    router.state("op_answer", answer_input, answer_prompt)
    router.state("op_answer_preview", hint_buttons, show_preview)
    router.state("op_clarify", clarify_input, clarify_prompt)
    router.state("op_clarify_preview", hint_buttons, clarify_preview)
    router.button("opclsend", clarify_send, {"op_clarify_preview"})
    router.button("opclredo", clarify_restart, {"op_clarify_preview"})
    router.state("op_redirect", hint_buttons, redirect_prompt)
    router.state("op_redirect_reason", redirect_reason_input, redirect_reason_prompt)
    router.state("op_extend", hint_buttons, extend_prompt)
    router.state("op_extend_reason", extend_reason_input, extend_reason_prompt)
    router.state("op_reassign", hint_buttons, reassign_prompt)
    router.command("queue", show_queue)
    router.command("appeal", show_appeal_command)
    router.command("overdue", show_overdue)


def cancel_row(ctx: Context) -> list[Button]:
    return [ctx.button("button.cancel", make("cancel"))]


async def hint_buttons(ctx: Context) -> None:
    ctx.say("hint.use_buttons")
    await texts.router(ctx).prompt(ctx)


async def refuse(ctx: Context, problem: str, appeal: Appeal | None = None) -> None:
    """A refused press: said politely, logged for the audit, nothing changed."""
    # The press's payload, never the text typed: logs carry no personal data.
    what = ctx.event.payload or f"a message of {len(ctx.event.text)} characters"
    log.warning("refused %s for %s:%s (role %s, ministry %s) on appeal %s: %s", what,
                ctx.event.channel, ctx.event.user_id, ctx.user.role, ctx.user.ministry_id,
                appeal.number if appeal else None, problem)
    status = texts.status_name(ctx, appeal.status) if appeal else ""
    ctx.say(problem, number=appeal.number if appeal else "", status=status)
    ctx.toast("operator.refused_toast")


def _appeal_id(ctx: Context) -> int | None:
    return ctx.data.get("appeal_id")


async def _current(ctx: Context) -> Appeal | None:
    """The appeal of the dialog, re-checked: it may have changed while the operator was typing."""
    appeal_id = _appeal_id(ctx)
    outcome = await service.check(ctx.repo, appeal_id, ctx.user) if appeal_id else None
    if outcome is None or not outcome.ok:
        ctx.reset()
        await refuse(ctx, outcome.problem if outcome else "error.appeal_not_found", outcome.appeal if outcome else None)
        return None
    return outcome.appeal


async def tell_citizen(ctx: Context, appeal: Appeal, dedup: str,
                       compose: Callable[[Names], Reply]) -> None:
    """A message to the appeal's citizen, in their language, through the outbox."""
    citizen = await ctx.repo.users.get(appeal.citizen_id)
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


# --- card buttons -------------------------------------------------------------------------------

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
    outcome = await service.check(ctx.repo, appeal_id, ctx.user)
    if not outcome.ok:
        await refuse(ctx, outcome.problem or "error.stale_button", outcome.appeal)
        return
    if action == "reas" and not staff.is_supervisor(ctx.user):
        await refuse(ctx, "operator.supervisors_only", outcome.appeal)
        return
    if action == "ext" and outcome.appeal is not None and outcome.appeal.extended:
        await refuse(ctx, "extend.only_once", outcome.appeal)
        return
    state = {"ans": "op_answer", "clar": "op_clarify", "redir": "op_redirect", "ext": "op_extend",
             "reas": "op_reassign"}[action]
    if ctx.event.is_group:
        await continue_in_private(ctx, state, appeal_id=appeal_id, parts=[], files=[], number=outcome.appeal.number)
        return
    ctx.reset()
    ctx.set_state(state, appeal_id=appeal_id, parts=[], files=[], number=outcome.appeal.number)
    await texts.router(ctx).prompt(ctx)


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
    there.set_state(state, **data)
    await texts.router(there).prompt(there)
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


# --- answer -------------------------------------------------------------------------------------

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


async def answer_send(ctx: Context) -> None:
    data = ctx.data
    files = [Attachment(**f) for f in data.get("files", [])]
    outcome = await service.answer(ctx.repo, data.get("appeal_id") or 0, ctx.user, "\n\n".join(data.get("parts", [])),
                                   files, ctx.now)
    ctx.reset()
    if not outcome.ok or outcome.appeal is None:
        await refuse(ctx, outcome.problem or "error.stale_button", outcome.appeal)
        return
    appeal = outcome.appeal
    await tell_citizen(ctx, appeal, "answer", lambda names: Reply(text=names.t(
        "answer.to_citizen", number=appeal.number, ministry=names.ministry(appeal.ministry_id),
        text=appeal.answer_text or ""), attachments=files))
    await tell_citizen(ctx, appeal, "rate-ask", lambda names: Reply(
        text=names.t("answer.rate_question", number=appeal.number),
        buttons=[[Button(f"{score} ⭐", make("rate", appeal.id, score)) for score in RATING_SCORES]]))
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    ctx.say("answer.sent", number=appeal.number, replace=True)
    ctx.toast("answer.sent_toast")


# --- clarification ------------------------------------------------------------------------------

async def clarify_prompt(ctx: Context) -> None:
    ctx.say("clarify.ask", number=ctx.data.get("number", ""), buttons=[cancel_row(ctx)])


async def clarify_input(ctx: Context) -> None:
    question = await required_text(ctx, clarify_prompt)
    if question is None or await _current(ctx) is None:
        return
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


async def clarify_send(ctx: Context) -> None:
    question = str(ctx.data.get("question") or "")
    outcome = await service.request_clarification(ctx.repo, _appeal_id(ctx) or 0, ctx.user, question, ctx.now)
    ctx.reset()
    if not outcome.ok or outcome.appeal is None:
        await refuse(ctx, outcome.problem or "error.stale_button", outcome.appeal)
        return
    appeal = outcome.appeal
    await tell_citizen(ctx, appeal, "clarify", lambda names: Reply(
        text=names.t("clarify.to_citizen", number=appeal.number, question=question),
        buttons=[[Button(names.t("clarify.reply_button"), make("clreply", appeal.id))]]))
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    ctx.say("clarify.sent", number=appeal.number, replace=True)
    ctx.toast("clarify.sent_toast")


# --- redirect -----------------------------------------------------------------------------------

async def redirect_prompt(ctx: Context) -> None:
    appeal = await ctx.repo.appeals.get(_appeal_id(ctx) or 0)
    rows = [[Button(texts.ministry_name(ctx, ministry_id), make("rto", ministry_id))]
            for ministry_id in ctx.settings.ministries if appeal is None or ministry_id != appeal.ministry_id]
    ctx.say("redirect.choose", number=ctx.data.get("number", ""), buttons=[*rows, cancel_row(ctx)])


async def redirect_choose(ctx: Context) -> None:
    assert ctx.payload is not None
    ministry_id = ctx.payload.arg(0) or ""
    if ministry_id not in ctx.settings.ministries:
        await refuse(ctx, "error.stale_button")
        return
    ctx.set_state("op_redirect_reason", ministry=ministry_id)
    await redirect_reason_prompt(ctx)


async def redirect_reason_prompt(ctx: Context) -> None:
    ctx.say("redirect.reason", ministry=texts.ministry_name(ctx, ctx.data.get("ministry", "")),
            buttons=[cancel_row(ctx)])


async def redirect_reason_input(ctx: Context) -> None:
    reason = await required_text(ctx, redirect_reason_prompt)
    if reason is None:
        return
    ministry_id = ctx.data.get("ministry", "")
    outcome = await service.redirect(ctx.repo, ctx.settings, _appeal_id(ctx) or 0, ctx.user, ministry_id, reason,
                                     ctx.now, ctx.extras.get("classifier"))
    ctx.reset()
    if not outcome.ok or outcome.appeal is None:
        await refuse(ctx, outcome.problem or "error.stale_button", outcome.appeal)
        return
    appeal = outcome.appeal
    events = await ctx.repo.appeals.events(appeal.id)
    previous = events[-1].details.get("from", "")
    late = bool(events[-1].details.get("late"))
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now, ministry_id=previous, redirected_to=ministry_id)
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now, with_files=True)
    await tell_citizen(ctx, appeal, "redirect", lambda names: Reply(text=names.t(
        "redirect.to_citizen", number=appeal.number, ministry=names.ministry(ministry_id), reason=reason)))
    ctx.say("redirect.done_late" if late else "redirect.done", number=appeal.number,
            ministry=texts.ministry_name(ctx, ministry_id))


# --- extension ----------------------------------------------------------------------------------

def duration_words(ctx: Context, days: Duration) -> str:
    """"30 календарных дней", "10 рабочих дней": what a person reads, never a setting's "30d"."""
    return ctx.t.plural("duration.working" if days.working else "duration.calendar", days.amount)


async def extend_prompt(ctx: Context) -> None:
    options = service.extension_options(ctx.settings)
    row = [Button(duration_words(ctx, o), make("xdays", str(o))) for o in options]
    ctx.say("extend.choose", number=ctx.data.get("number", ""),
            max=duration_words(ctx, Duration.parse(ctx.settings.deadlines.extension_max)),
            buttons=[row[i:i + 2] for i in range(0, len(row), 2)] + [cancel_row(ctx)])


async def extend_choose(ctx: Context) -> None:
    assert ctx.payload is not None
    try:
        days = Duration.parse(ctx.payload.arg(0) or "")
    except ValueError:
        await refuse(ctx, "error.stale_button")
        return
    ctx.set_state("op_extend_reason", days=str(days))
    await extend_reason_prompt(ctx)


async def extend_reason_prompt(ctx: Context) -> None:
    ctx.say("extend.reason", days=duration_words(ctx, Duration.parse(ctx.data.get("days") or "0d")),
            buttons=[cancel_row(ctx)])


async def extend_reason_input(ctx: Context) -> None:
    reason = await required_text(ctx, extend_reason_prompt)
    if reason is None:
        return
    days = Duration.parse(ctx.data.get("days", "0d"))
    outcome = await service.extend(ctx.repo, ctx.settings, ctx.calendar, _appeal_id(ctx) or 0, ctx.user, days,
                                   reason, ctx.now)
    ctx.reset()
    if not outcome.ok or outcome.appeal is None:
        await refuse(ctx, outcome.problem or "error.stale_button", outcome.appeal)
        return
    appeal = outcome.appeal
    await tell_citizen(ctx, appeal, "extend", lambda names: Reply(text=names.t(
        "extend.to_citizen", number=appeal.number, deadline=names.date(appeal.deadline_at), reason=reason)))
    await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    ctx.say("extend.done", number=appeal.number, deadline=texts.local_date(ctx, appeal.deadline_at))


# --- reassign (supervisors) ---------------------------------------------------------------------

async def reassign_prompt(ctx: Context) -> None:
    appeal = await ctx.repo.appeals.get(_appeal_id(ctx) or 0)
    operators = await ctx.repo.staff.operators_of(appeal.ministry_id) if appeal else []
    if not operators:
        ctx.reset()
        ctx.say("reassign.nobody")
        return
    rows = [[Button(o.display_name or f"#{o.id}", make("reas", o.id))] for o in operators]
    ctx.say("reassign.choose", number=ctx.data.get("number", ""), buttons=[*rows, cancel_row(ctx)])


async def reassign_to(ctx: Context) -> None:
    assert ctx.payload is not None
    operator = await ctx.repo.users.get(ctx.payload.int_arg(0) or 0)
    appeal_id = _appeal_id(ctx) or 0
    ctx.reset()
    if operator is None:
        await refuse(ctx, "error.stale_button")
        return
    outcome = await service.reassign(ctx.repo, appeal_id, ctx.user, operator, ctx.now)
    if not outcome.ok or outcome.appeal is None:
        await refuse(ctx, outcome.problem or "error.stale_button", outcome.appeal)
        return
    await cards.publish_card(ctx.repo, ctx.settings, outcome.appeal, ctx.now)
    await notify_user(ctx.repo, operator, Reply(text=Names(ctx.settings, operator.language).t(
        "reassign.to_operator", number=outcome.appeal.number),
        buttons=[[Button(Names(ctx.settings, operator.language).t("card.open"), make("op", "open", appeal_id))]]),
        dedup_key=f"reassign:{appeal_id}:{ctx.now.isoformat()}", now=ctx.now,
        audience=about_appeal(appeal_id, outcome.appeal.ministry_id))
    ctx.say("reassign.done", number=outcome.appeal.number, who=operator.display_name or f"#{operator.id}")


# --- /queue, /appeal, /overdue ------------------------------------------------------------------

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
            found = workplace.find_scope(ctx, argument)
            if len(found) != 1:
                names = [texts.ministry_name(ctx, m) for m in ctx.settings.ministries]
                names += [texts.sector_name(ctx, s) for s in ctx.settings.sectors]
                ctx.say("queue.unknown_scope" if not found else "queue.ambiguous_scope", known="; ".join(names))
                return
            kind, key = found[0]
            ministry_id, sector_id = (key, None) if kind == "ministry" else (None, key)
    elif ctx.user.role == "operator":
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


async def show_appeal_command(ctx: Context, typed: str | None = None) -> None:
    if not staff.is_staff(ctx.user):
        ctx.say("operator.staff_command")
        return
    typed = str(ctx.extras.get("argument") or "").strip() if typed is None else typed
    appeal = await workplace.find_appeal(ctx, typed) if typed else None
    if appeal is None:
        ctx.say("appeal.number_unknown")
        return
    await show_appeal(ctx, appeal.id)


async def show_appeal(ctx: Context, appeal_id: int) -> None:
    appeal = await ctx.repo.appeals.get(appeal_id)
    if appeal is None or not (staff.may_handle(ctx.user, appeal) or appeal.citizen_id == ctx.user.id):
        await refuse(ctx, "error.appeal_not_found")
        return
    names = texts.names(ctx)
    await ctx.repo.appeals.load_attachments(appeal)
    assignee = await ctx.repo.users.get(appeal.assignee_id) if appeal.assignee_id else None
    lines = [cards.card_text(names, appeal, cards.short_name(assignee)), ctx.t("appeal.history")]
    for event in await ctx.repo.appeals.events(appeal.id):
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
    appeal = await ctx.repo.appeals.get(appeal_id)
    if appeal is None or not staff.may_handle(ctx.user, appeal):
        await refuse(ctx, "error.appeal_not_found")
        return
    parts = text_parts(appeal.text or "")
    for index, part in enumerate(parts, 1):
        ctx.say("card.text_part", number=appeal.number, part=index, parts=len(parts), text=part)


async def notify_ministry(ctx: Context, appeal: Appeal, key: str, dedup: str, files: list[Attachment] | None = None,
                          due_at: datetime | None = None, **params: object) -> None:
    """A message to whoever handles the appeal: the assignee, else the ministry's recipients."""
    targets = []
    if appeal.assignee_id is not None:
        assignee = await ctx.repo.users.get(appeal.assignee_id)
        if assignee is not None and staff.may_handle(assignee, appeal):
            targets.append(cards.Recipient(assignee.channel, assignee.chat_id, assignee.language))
    if not targets:
        targets = await cards.recipients(ctx.repo, ctx.settings, appeal.ministry_id)
    for target in targets:
        names = Names(ctx.settings, target.language)
        reply = Reply(text=names.t(key, number=appeal.number, **params), attachments=list(files or []),
                      buttons=[[Button(names.t("card.open"), make("op", "open", appeal.id))]])
        await notify(ctx.repo, target.channel, target.chat_id, reply, dedup_key=f"{dedup}:{target.chat_id}",
                     now=ctx.now, due_at=due_at, audience=about_appeal(appeal.id, appeal.ministry_id))
