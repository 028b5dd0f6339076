"""What every step of the citizen's appeal shares: the order of steps, moving on, a polite refusal, the summary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.events import Button
from bot.payloads import make
from bot.services.appeals import Draft
from handlers import texts
from handlers.context import Context

STEPS = ("name", "phone", "sector", "category", "text", "attachments", "address")
NEXT = {step: following for step, following in zip(STEPS, (*STEPS[1:], "confirm"), strict=True)}
EDITABLE = ("name", "phone", "sector", "text", "attachments", "address")
DIALOG_STATES = {"consent", *STEPS, "confirm", "edit"}
SUMMARY_TEXT_PREVIEW = 3000
# A message this long outside a dialog is a problem described in the citizen's own words.
MIN_FREE_TEXT = 15


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


@contextmanager
def drafting(ctx: Context) -> Iterator[Draft]:
    """The appeal's draft, to change within the block; kept in the dialog when the block ends."""
    draft = ctx.draft
    yield draft
    ctx.save_draft(draft)


async def store(ctx: Context, finished: str, **fields: object) -> None:
    """The step's answer written into the draft, then on to the next step (or back to the summary)."""
    with drafting(ctx) as draft:
        for field, value in fields.items():
            setattr(draft, field, value)
    await advance(ctx, finished)


async def complain(ctx: Context, key: str, **params: object) -> None:
    """A polite refusal that keeps the step's buttons under it, so the person is never stuck."""
    start = len(ctx.replies)
    await texts.router(ctx).prompt(ctx)
    prompt = ctx.replies[start:]
    del ctx.replies[start:]
    ctx.say(key, buttons=prompt[-1].buttons if prompt else [], **params)


async def complained(ctx: Context, refusal: Any) -> None:
    """A refusal of what was typed, shown as ``complain`` shows it (for ``handlers.router.refusals``)."""
    await complain(ctx, refusal.key, **refusal.params)


async def hint_buttons(ctx: Context) -> None:
    ctx.say("hint.use_buttons")
    await texts.router(ctx).prompt(ctx)


async def stale_button(ctx: Context) -> None:
    """A button of another step: the router's own answer to it (handlers.common.stale_button)."""
    stale = texts.router(ctx).stale
    assert stale is not None
    await stale(ctx)


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
