"""The citizen's conversation: consent, the appeal step by step, confirmation, /my."""

from __future__ import annotations

from bot.events import Button
from bot.services import appeals, staff, users, validation
from bot.services.appeals import Draft
from handlers import cards, common, texts
from handlers.context import Context
from handlers.payloads import make
from handlers.router import Router

STEPS = ("name", "phone", "sector", "category", "text", "attachments", "address")
NEXT = {step: following for step, following in zip(STEPS, (*STEPS[1:], "confirm"), strict=True)}
EDITABLE = ("name", "phone", "sector", "text", "attachments", "address")
DIALOG_STATES = {"consent", *STEPS, "confirm", "edit"}
PAGE_SIZE = 5
SUMMARY_TEXT_PREVIEW = 3000


def setup(router: Router) -> None:
    router.command("new", new_appeal)
    router.command("my", my_appeals)
    router.button("new", new_appeal)
    router.button("my", my_appeals)
    router.button("consent", answer_consent, {"consent"})
    router.button("prev", use_previous_name, {"name"})
    router.button("skip", skip_step, {"phone", "attachments", "address"})
    router.button("sector", choose_sector, {"sector"})
    router.button("cat", choose_category, {"category"})
    router.button("back", back_to_sectors, {"category"})
    router.button("done", finish_step, {"text", "attachments"})
    router.button("confirm", confirm, {"confirm"})
    router.button("edit", ask_field, {"confirm"})
    router.button("field", edit_field, {"edit"})
    router.button("clreply", start_clarification_reply)
    router.state("consent", keep_consent_text, ask_consent)
    router.state("name", enter_name, ask_name)
    router.state("phone", enter_phone, ask_phone)
    router.button("sugg", answer_suggestion, {"sector"})
    router.state("sector", enter_sector_text, ask_sector)
    router.state("category", hint_buttons, ask_category)
    router.state("text", enter_text, ask_text)
    router.state("attachments", enter_attachments, ask_attachments)
    router.state("address", enter_address, ask_address)
    router.state("confirm", hint_buttons, show_summary)
    router.state("edit", hint_buttons, ask_field)


def cancel_row(ctx: Context) -> list[Button]:
    return [ctx.button("button.cancel", make("cancel"))]


async def go(ctx: Context, state: str) -> None:
    ctx.set_state(state)
    await texts.router(ctx).prompt(ctx)


async def advance(ctx: Context, finished: str) -> None:
    """The next step; while editing from the summary, back to the summary (a new sector needs a category)."""
    if ctx.data.get("editing") and finished != "sector":
        ctx.set_state("confirm", editing=False)
        await show_summary(ctx)
        return
    await go(ctx, NEXT[finished])


async def complain(ctx: Context, key: str, **params: object) -> None:
    """A polite refusal that keeps the step's buttons under it, so the person is never stuck."""
    start = len(ctx.replies)
    await texts.router(ctx).prompt(ctx)
    prompt = ctx.replies[start:]
    del ctx.replies[start:]
    ctx.say(key, buttons=prompt[-1].buttons if prompt else [], **params)


async def hint_buttons(ctx: Context) -> None:
    ctx.say("hint.use_buttons")
    await texts.router(ctx).prompt(ctx)


# --- consent (152-ФЗ) ---------------------------------------------------------------------------

async def ask_consent(ctx: Context) -> None:
    ctx.say("consent.text", operator=texts.operator_name(ctx), buttons=[
        [ctx.button("consent.accept", make("consent", "yes")), ctx.button("consent.decline", make("consent", "no"))],
    ])


def _kept_text(ctx: Context, *parts: str) -> str:
    """Text typed before consent, kept for the appeal: no NUL (PostgreSQL refuses it), within the limit."""
    text = "\n\n".join(p.replace("\x00", "").strip() for p in parts if p and p.replace("\x00", "").strip())
    return text[:ctx.settings.limits.text_max_length]


async def keep_consent_text(ctx: Context) -> None:
    """Words typed at the consent question are the problem itself: kept, and the question asked again."""
    text = _kept_text(ctx, ctx.data.get("pending_text", ""), ctx.event.text)
    if len(ctx.event.text.strip()) < common.MIN_FREE_TEXT:
        await hint_buttons(ctx)  # "да", "согласен" typed instead of pressed: the buttons, not the appeal's text
        return
    ctx.set_state("consent", pending_text=text)
    ctx.say("consent.text_kept")
    await ask_consent(ctx)


async def answer_consent(ctx: Context) -> None:
    assert ctx.payload is not None
    accepted = ctx.payload.arg(0) == "yes"
    await users.record_consent(ctx.repo, ctx.user, accepted, ctx.settings.region.operator_name, ctx.now)
    if not accepted:
        ctx.reset()  # the text they began with is dropped too: nothing personal is kept
        ctx.say("consent.declined", replace=True)
        return
    ctx.say("consent.accepted", replace=True)
    await start_dialog(ctx)


# --- the appeal, step by step -------------------------------------------------------------------

async def new_appeal(ctx: Context) -> None:
    if staff.is_staff(ctx.user):
        ctx.say("staff.citizen_command")
        return
    if ctx.state in DIALOG_STATES - {"consent"}:
        ctx.say("appeal.in_progress")
        await texts.router(ctx).prompt(ctx)
        return
    text = "" if ctx.event.is_button else str(ctx.extras.get("argument") or "").strip()
    await begin(ctx, text)


async def begin(ctx: Context, text: str = "") -> None:
    """A new appeal, possibly starting from the problem in the citizen's words (/new TEXT or plain text)."""
    if not ctx.user.consent_given:
        ctx.reset()
        ctx.set_state("consent", pending_text=_kept_text(ctx, text))
        await ask_consent(ctx)
        return
    await start_dialog(ctx, text)


async def start_dialog(ctx: Context, text: str = "") -> None:
    draft = Draft()
    text = text or ctx.data.get("pending_text", "")
    if text:
        # The citizen began with the problem itself: keep it as the appeal's text and guess the sector.
        draft.text_parts.append(text[:ctx.settings.limits.text_max_length])
        _suggest(ctx, draft, text)
    ctx.reset()
    ctx.set_state("name", draft=draft.to_dict(), editing=False)
    ctx.say("appeal.intro_with_text" if text else "appeal.intro")
    await ask_name(ctx)


def _suggest(ctx: Context, draft: Draft, text: str) -> None:
    classifier = ctx.extras.get("classifier")
    suggestions = classifier.suggest(text, top=len(ctx.settings.sectors)) if classifier is not None else []
    if not suggestions:
        draft.suggestion_pending = False
        return
    best = suggestions[0]
    draft.suggested_sector_id, draft.suggested_category_id = best.sector_id, best.category_id
    # Calibrated: "probably this" only where such suggestions are right at least 9 times in 10.
    draft.suggestion_confident = classifier.is_confident(suggestions)
    draft.suggestion_category_confident = draft.suggestion_confident and classifier.category_confident(best)
    draft.suggested_sectors = [s.sector_id for s in suggestions]
    draft.suggestion_pending = True


async def _previous_name(ctx: Context) -> str | None:
    earlier = await appeals.citizen_appeals(ctx.repo, ctx.user, limit=1)
    return earlier[0].citizen_name if earlier and earlier[0].citizen_name else None


async def ask_name(ctx: Context) -> None:
    rows = []
    previous = await _previous_name(ctx)
    if previous:
        rows.append([ctx.button("name.use_previous", make("prev"), name=previous[:40])])
    ctx.say("appeal.ask_name", buttons=[*rows, cancel_row(ctx)])


async def use_previous_name(ctx: Context) -> None:
    previous = await _previous_name(ctx)
    if previous is None:
        await ask_name(ctx)
        return
    draft = ctx.draft
    draft.name = previous
    ctx.save_draft(draft)
    await advance(ctx, "name")


async def enter_name(ctx: Context) -> None:
    if not ctx.event.text:
        await hint_text_expected(ctx)
        return
    problem = validation.check_name(ctx.event.text, ctx.settings.limits)
    if problem:
        await complain(ctx, problem, max=ctx.settings.limits.name_max_length)
        return
    draft = ctx.draft
    draft.name = " ".join(ctx.event.text.split())
    ctx.save_draft(draft)
    await advance(ctx, "name")


async def hint_text_expected(ctx: Context) -> None:
    await complain(ctx, "hint.text_expected")


async def ask_phone(ctx: Context) -> None:
    ctx.say("appeal.ask_phone", buttons=[
        [Button(ctx.t("button.share_phone"), request="phone")],
        [ctx.button("button.skip", make("skip", "phone"))],
        cancel_row(ctx),
    ])


async def enter_phone(ctx: Context) -> None:
    raw = ctx.event.phone or ctx.event.text
    phone = validation.normalize_phone(raw) if raw else None
    if phone is None:
        await complain(ctx, "error.phone_invalid")
        return
    draft = ctx.draft
    draft.phone = phone
    ctx.save_draft(draft)
    await advance(ctx, "phone")


async def skip_step(ctx: Context) -> None:
    assert ctx.payload is not None
    step = ctx.payload.arg(0)
    if step != ctx.state:
        await common.stale_button(ctx)
        return
    if step == "address" and not _location_optional(ctx):
        await complain(ctx, "error.address_required")
        return
    draft = ctx.draft
    if step == "phone":
        draft.phone = None
    elif step == "address":
        draft.address = draft.latitude = draft.longitude = None
    elif step == "attachments":
        draft.attachments = []
    ctx.save_draft(draft)
    await advance(ctx, step)


async def ask_sector(ctx: Context) -> None:
    draft = ctx.draft
    if draft.suggestion_pending and draft.suggestion_confident:
        buttons = [[ctx.button("suggest.yes", make("sugg", "yes")), ctx.button("suggest.other", make("sugg", "no"))],
                   cancel_row(ctx)]
        if draft.suggestion_category_confident:
            ctx.say("suggest.looks_like", sector=texts.sector_name(ctx, draft.suggested_sector_id),
                    category=texts.category_name(ctx, draft.suggested_sector_id, draft.suggested_category_id),
                    buttons=buttons)
        else:
            ctx.say("suggest.looks_like_sector", sector=texts.sector_name(ctx, draft.suggested_sector_id),
                    buttons=buttons)
        return
    if draft.suggestion_pending:
        # Unsure: every sector, the likely ones first (the catch-all among them).
        ranked = [s for s in draft.suggested_sectors if s in ctx.settings.sectors]
        ranked += [s for s in ctx.settings.sectors if s not in ranked]
        rows = [[Button(texts.sector_name(ctx, s), make("sector", s))] for s in ranked]
        ctx.say("suggest.ranked", buttons=[*rows, cancel_row(ctx)])
        return
    buttons = [Button(texts.sector_name(ctx, sector_id), make("sector", sector_id))
               for sector_id in ctx.settings.sectors]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    ctx.say("appeal.ask_sector", buttons=[*rows, cancel_row(ctx)])


async def enter_sector_text(ctx: Context) -> None:
    """Instead of a button the citizen describes the problem: it joins the text and we propose a sector."""
    text = ctx.event.text.strip()
    draft = ctx.draft
    if not text or ctx.extras.get("classifier") is None:
        await hint_buttons(ctx)
        return
    problem = validation.check_text_part(len(draft.text), text, ctx.settings.limits)
    if problem:
        await complain(ctx, problem, max=ctx.settings.limits.text_max_length, length=len(draft.text))
        return
    draft.text_parts.append(text)
    _suggest(ctx, draft, draft.text)
    if not draft.suggestion_pending:
        ctx.save_draft(draft)
        await hint_buttons(ctx)
        return
    ctx.save_draft(draft)
    ctx.say("suggest.text_kept")
    await ask_sector(ctx)


async def answer_suggestion(ctx: Context) -> None:
    assert ctx.payload is not None
    draft = ctx.draft
    draft.suggestion_pending = False
    accepted = ctx.payload.arg(0) == "yes" and draft.suggested_sector_id in ctx.settings.sectors
    if accepted:
        draft.sector_id, draft.category_id = draft.suggested_sector_id, draft.suggested_category_id
    ctx.save_draft(draft)
    if not accepted:
        await ask_sector(ctx)
        return
    if not draft.suggestion_category_confident:
        draft.category_id = None
        ctx.save_draft(draft)
        await go(ctx, "category")
        return
    ctx.say("appeal.category_chosen", replace=True, sector=texts.sector_name(ctx, draft.sector_id),
            category=texts.category_name(ctx, draft.sector_id, draft.category_id))
    if ctx.data.get("editing"):
        ctx.set_state("confirm", editing=False)
        await show_summary(ctx)
        return
    await go(ctx, "text")


async def choose_sector(ctx: Context) -> None:
    assert ctx.payload is not None
    sector_id = ctx.payload.arg(0) or ""
    if sector_id not in ctx.settings.sectors:
        await common.stale_button(ctx)
        return
    draft = ctx.draft
    draft.sector_id, draft.category_id = sector_id, None
    ctx.save_draft(draft)
    await go(ctx, "category")


async def ask_category(ctx: Context) -> None:
    sector = ctx.settings.sectors[ctx.draft.sector_id or ""]
    rows = [[Button(texts.category_name(ctx, ctx.draft.sector_id, c.id), make("cat", c.id))]
            for c in sector.categories]
    rows.append([ctx.button("button.back", make("back"))])
    ctx.say("appeal.ask_category", sector=texts.sector_name(ctx, ctx.draft.sector_id), buttons=rows)


async def choose_category(ctx: Context) -> None:
    assert ctx.payload is not None
    draft = ctx.draft
    sector = ctx.settings.sectors.get(draft.sector_id or "")
    category_id = ctx.payload.arg(0) or ""
    if sector is None or sector.category(category_id) is None:
        await common.stale_button(ctx)
        return
    draft.category_id = category_id
    ctx.save_draft(draft)
    ctx.say("appeal.category_chosen", replace=True, sector=texts.sector_name(ctx, draft.sector_id),
            category=texts.category_name(ctx, draft.sector_id, category_id))
    if ctx.data.get("editing"):
        ctx.set_state("confirm", editing=False)
        await show_summary(ctx)
        return
    await go(ctx, "text")


async def back_to_sectors(ctx: Context) -> None:
    await go(ctx, "sector")


async def ask_text(ctx: Context) -> None:
    draft = ctx.draft
    if draft.text_parts:
        ctx.say("appeal.text_so_far", length=len(draft.text), buttons=[
            [ctx.button("button.done", make("done", "text"))], cancel_row(ctx)])
    else:
        ctx.say("appeal.ask_text", min=ctx.settings.limits.text_min_length, buttons=[cancel_row(ctx)])


async def enter_text(ctx: Context) -> None:
    draft = ctx.draft
    limits = ctx.settings.limits
    if ctx.event.attachments:
        # A photo with a caption (or an album) while writing: keep both, nothing is lost.
        _take_attachments(ctx, draft)
    text = ctx.event.text.strip()
    if text:
        problem = validation.check_text_part(len(draft.text), text, limits)
        if problem:
            ctx.save_draft(draft)
            await complain(ctx, problem, max=limits.text_max_length, length=len(draft.text))
            return
        draft.text_parts.append(text)
    elif not ctx.event.attachments:
        await complain(ctx, "hint.text_expected")
        return
    ctx.save_draft(draft)
    ctx.say("appeal.text_added", length=len(draft.text), buttons=[
        [ctx.button("button.done", make("done", "text"))], cancel_row(ctx)])


async def finish_step(ctx: Context) -> None:
    assert ctx.payload is not None
    step = ctx.payload.arg(0)
    if step != ctx.state:
        await common.stale_button(ctx)
        return
    if step == "text":
        problem = validation.check_text_complete(ctx.draft.text, ctx.settings.limits)
        if problem:
            await complain(ctx, problem, min=ctx.settings.limits.text_min_length,
                           length=len(ctx.draft.text.strip()))
            return
    await advance(ctx, step)


def _take_attachments(ctx: Context, draft: Draft) -> None:
    limits = ctx.settings.limits
    for attachment in ctx.event.attachments:
        problem = validation.check_attachment(attachment, len(draft.attachments), limits)
        if problem:
            ctx.say(problem, name=attachment.name or attachment.kind, max=limits.attachments_max_count,
                    max_mb=limits.attachment_max_size_mb)
            continue
        draft.add_attachment(attachment)


async def ask_attachments(ctx: Context) -> None:
    limits = ctx.settings.limits
    count = len(ctx.draft.attachments)
    label = "button.done" if count else "button.skip"
    ctx.say("appeal.ask_attachments", max=limits.attachments_max_count, max_mb=limits.attachment_max_size_mb,
            count=count, buttons=[[ctx.button(label, make("done", "attachments"))], cancel_row(ctx)])


async def enter_attachments(ctx: Context) -> None:
    if not ctx.event.attachments:
        await complain(ctx, "hint.attachments_expected")
        return
    draft = ctx.draft
    _take_attachments(ctx, draft)
    ctx.save_draft(draft)
    ctx.say("appeal.attachments_count", count=len(draft.attachments), max=ctx.settings.limits.attachments_max_count,
            buttons=[[ctx.button("button.done", make("done", "attachments"))], cancel_row(ctx)])


def _location_optional(ctx: Context) -> bool:
    draft = ctx.draft
    sector = ctx.settings.sectors.get(draft.sector_id or "")
    category = sector.category(draft.category_id or "") if sector else None
    return category is None or category.location == "optional"


async def ask_address(ctx: Context) -> None:
    rows = [[Button(ctx.t("button.share_location"), request="location")]]
    if _location_optional(ctx):
        rows.append([ctx.button("button.skip", make("skip", "address"))])
        key = "appeal.ask_address_optional"
    else:
        key = "appeal.ask_address"
    ctx.say(key, buttons=[*rows, cancel_row(ctx)])


async def enter_address(ctx: Context) -> None:
    draft = ctx.draft
    if ctx.event.location is not None:
        draft.latitude, draft.longitude = ctx.event.location.latitude, ctx.event.location.longitude
    elif ctx.event.text:
        problem = validation.check_address(ctx.event.text, ctx.settings.limits)
        if problem:
            await complain(ctx, problem, max=ctx.settings.limits.address_max_length)
            return
        draft.address = " ".join(ctx.event.text.split())
    else:
        await complain(ctx, "hint.address_expected")
        return
    ctx.save_draft(draft)
    await advance(ctx, "address")


# --- summary, editing, registration -------------------------------------------------------------

def _summary(ctx: Context, draft: Draft) -> str:
    text = draft.text
    if len(text) > SUMMARY_TEXT_PREVIEW:
        text = text[:SUMMARY_TEXT_PREVIEW] + ctx.t("summary.text_cut", length=len(draft.text))
    place = draft.address or ""
    if draft.location is not None:
        place = ctx.t("summary.location", lat=f"{draft.latitude:.5f}", lon=f"{draft.longitude:.5f}")
    none = ctx.t("summary.none")
    return ctx.t("summary.body", name=draft.name, phone=draft.phone or ctx.t("card.no_phone"),
                 sector=texts.sector_name(ctx, draft.sector_id),
                 category=texts.category_name(ctx, draft.sector_id, draft.category_id),
                 text=text, files=len(draft.attachments), place=place or none)


async def show_summary(ctx: Context) -> None:
    ctx.say_text(_summary(ctx, ctx.draft), buttons=[
        [ctx.button("button.confirm", make("confirm"))],
        [ctx.button("button.edit", make("edit")), ctx.button("button.cancel", make("cancel"))],
    ])


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
        await common.stale_button(ctx)
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


# --- the citizen's reply to a ministry's question -----------------------------------------------

async def start_clarification_reply(ctx: Context) -> None:
    assert ctx.payload is not None
    appeal = await appeals.citizen_appeal(ctx.repo, ctx.user, ctx.payload.int_arg(0) or 0)
    if appeal is None:
        ctx.say("error.appeal_not_found")
        return
    if appeal.status != "clarification_requested":
        ctx.say("clarify.not_waiting", number=appeal.number)
        return
    # Whatever the citizen was doing (a new appeal half-written) waits and resumes afterwards.
    resume = {"state": ctx.state, "data": ctx.data} if ctx.state != "clarification" else ctx.data.get("resume")
    ctx.reset()
    ctx.set_state("clarification", appeal_id=appeal.id, number=appeal.number, resume=resume)
    await ask_clarification(ctx)


async def ask_clarification(ctx: Context) -> None:
    ctx.say("clarify.citizen_prompt", number=ctx.data.get("number", ""), buttons=[cancel_row(ctx)])


# --- /my ----------------------------------------------------------------------------------------

async def my_appeals(ctx: Context) -> None:
    if staff.is_staff(ctx.user):
        ctx.say("staff.citizen_command")
        return
    offset = ctx.payload.int_arg(0) if ctx.payload else 0
    offset = offset or 0
    total = await ctx.repo.appeals.count_of_citizen(ctx.user.id)
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
