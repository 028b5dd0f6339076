"""The appeal step by step: name, phone, sector (or a suggested one), category, text, files, address."""

from __future__ import annotations

from bot.events import Button
from bot.payloads import make
from bot.services import appeals, validation
from bot.services.appeals import Draft
from handlers import texts
from handlers.citizen.base import (
    advance,
    cancel_row,
    complain,
    drafting,
    go,
    hint_buttons,
    stale_button,
    store,
)
from handlers.context import Context


def suggest(ctx: Context, draft: Draft, text: str) -> None:
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
    await store(ctx, "name", name=previous)


async def enter_name(ctx: Context) -> None:
    if not ctx.event.text:
        await hint_text_expected(ctx)
        return
    problem = validation.check_name(ctx.event.text, ctx.settings.limits)
    if problem:
        await complain(ctx, problem, max=ctx.settings.limits.name_max_length)
        return
    await store(ctx, "name", name=" ".join(ctx.event.text.split()))


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
    await store(ctx, "phone", phone=phone)


async def _pressed_step(ctx: Context) -> str | None:
    """The step a Skip / Done button names; None, with the stale-button answer, when it is not the current one."""
    assert ctx.payload is not None
    step = ctx.payload.arg(0)
    if step != ctx.state:
        await stale_button(ctx)
        return None
    return step


async def skip_step(ctx: Context) -> None:
    step = await _pressed_step(ctx)
    if step is None:
        return
    if step == "address" and not _location_optional(ctx):
        await complain(ctx, "error.address_required")
        return
    cleared = {"phone": {"phone": None}, "address": {"address": None, "latitude": None, "longitude": None},
               "attachments": {"attachments": []}}
    await store(ctx, step, **cleared.get(step, {}))


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
    if not text or ctx.extras.get("classifier") is None:
        await hint_buttons(ctx)
        return
    length = len(ctx.draft.text)
    problem = validation.check_text_part(length, text, ctx.settings.limits)
    if problem:
        await complain(ctx, problem, max=ctx.settings.limits.text_max_length, length=length)
        return
    with drafting(ctx) as draft:
        draft.text_parts.append(text)
        suggest(ctx, draft, draft.text)
    if not draft.suggestion_pending:
        await hint_buttons(ctx)
        return
    ctx.say("suggest.text_kept")
    await ask_sector(ctx)


async def answer_suggestion(ctx: Context) -> None:
    with drafting(ctx) as draft:
        draft.suggestion_pending = False
        accepted = (ctx.payload is not None and ctx.payload.arg(0) == "yes"
                    and draft.suggested_sector_id in ctx.settings.sectors)
        if accepted:
            draft.sector_id, draft.category_id = draft.suggested_sector_id, draft.suggested_category_id
            if not draft.suggestion_category_confident:
                draft.category_id = None
    if not accepted:
        await ask_sector(ctx)
        return
    if not draft.suggestion_category_confident:
        await go(ctx, "category")
        return
    ctx.say("appeal.category_chosen", replace=True, sector=texts.sector_name(ctx, draft.sector_id),
            category=texts.category_name(ctx, draft.sector_id, draft.category_id))
    await advance(ctx, "category")


async def choose_sector(ctx: Context) -> None:
    assert ctx.payload is not None
    sector_id = ctx.payload.arg(0) or ""
    if sector_id not in ctx.settings.sectors:
        await stale_button(ctx)
        return
    await store(ctx, "sector", sector_id=sector_id, category_id=None)


async def ask_category(ctx: Context) -> None:
    sector = ctx.settings.sectors[ctx.draft.sector_id or ""]
    rows = [[Button(texts.category_name(ctx, ctx.draft.sector_id, c.id), make("cat", c.id))]
            for c in sector.categories]
    rows.append([ctx.button("button.back", make("back"))])
    ctx.say("appeal.ask_category", sector=texts.sector_name(ctx, ctx.draft.sector_id), buttons=rows)


async def choose_category(ctx: Context) -> None:
    sector = ctx.settings.sectors.get(ctx.draft.sector_id or "")
    category_id = (ctx.payload.arg(0) if ctx.payload else None) or ""
    if sector is None or sector.category(category_id) is None:
        await stale_button(ctx)
        return
    with drafting(ctx) as draft:
        draft.category_id = category_id
    ctx.say("appeal.category_chosen", replace=True, sector=texts.sector_name(ctx, draft.sector_id),
            category=texts.category_name(ctx, draft.sector_id, category_id))
    await advance(ctx, "category")


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
    limits = ctx.settings.limits
    text = ctx.event.text.strip()
    if not text and not ctx.event.attachments:
        await complain(ctx, "hint.text_expected")
        return
    with drafting(ctx) as draft:
        if ctx.event.attachments:
            # A photo with a caption (or an album) while writing: keep both, nothing is lost.
            _take_attachments(ctx, draft)
        problem = validation.check_text_part(len(draft.text), text, limits) if text else None
        if text and not problem:
            draft.text_parts.append(text)
    if problem:
        await complain(ctx, problem, max=limits.text_max_length, length=len(draft.text))
        return
    ctx.say("appeal.text_added", length=len(draft.text), buttons=[
        [ctx.button("button.done", make("done", "text"))], cancel_row(ctx)])


async def finish_step(ctx: Context) -> None:
    step = await _pressed_step(ctx)
    if step is None:
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
    with drafting(ctx) as draft:
        _take_attachments(ctx, draft)
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
    if ctx.event.location is not None:
        await store(ctx, "address", latitude=ctx.event.location.latitude, longitude=ctx.event.location.longitude)
    elif ctx.event.text:
        problem = validation.check_address(ctx.event.text, ctx.settings.limits)
        if problem:
            await complain(ctx, problem, max=ctx.settings.limits.address_max_length)
            return
        await store(ctx, "address", address=" ".join(ctx.event.text.split()))
    else:
        await complain(ctx, "hint.address_expected")
