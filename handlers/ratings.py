"""The citizen rates an answer (1–5), may add a comment, and may reopen a poor answer.

The rating buttons come with the answer, so they can be pressed in any dialog state: a citizen
halfway through a new appeal rates, comments, and is returned to the step they were on with
their draft intact (the comment step only swaps the state name and remembers the old one).
"""

from __future__ import annotations

from typing import Any

from bot.domain.errors import Refusal
from bot.payloads import make
from bot.presenters.ratings import rate_buttons
from bot.services import ratings
from bot.services.ratings import Rated
from handlers import texts
from handlers.cards import publish_card
from handlers.citizen import complain
from handlers.context import Context
from handlers.router import Dialog, Router, refusals

RATING = Dialog("rating")
COMMENT_STATE = RATING.state("comment")
# Where the comment step keeps what it is about and the state to return to.
STEP_KEY = "rating_step"


def setup(router: Router) -> None:
    rating = router.dialog(RATING)
    rating.button("rate", rate_answer)
    rating.button("skip_comment", skip_comment, {"comment"})
    rating.button("reopen", reopen_appeal)
    rating.state("comment", enter_comment, ask_comment)


def _step(ctx: Context) -> dict[str, Any]:
    return dict(ctx.data.get(STEP_KEY) or {})


def _leave_comment_step(ctx: Context) -> None:
    """Back to the state the citizen was in before rating; everything else in the dialog is untouched."""
    ctx.come_back(_step(ctx).get("back", ""), drop=STEP_KEY)


async def _refused(ctx: Context, refusal: Refusal) -> None:
    """A refused press or comment: the reason with the rules' figures it may name, under the step's buttons."""
    rules = ctx.settings.ratings
    await complain(ctx, refusal.key, hours=ctx.t.plural("duration.hours", rules.change_window_hours),
                   days=ctx.t.plural("duration.within_days", rules.reopen_within_days), max=rules.reopen_max)
    ctx.toast("rating.refused_toast")


async def _back_to_dialog(ctx: Context) -> None:
    """A citizen who was mid-dialog sees the step they left, so nothing they typed is lost."""
    if ctx.state:
        ctx.say("rating.dialog_waits")
        await ctx.reprompt()


# --- rating ---------------------------------------------------------------------------------------

@refusals(_refused)
async def rate_answer(ctx: Context) -> None:
    assert ctx.payload is not None
    appeal_id, score = ctx.payload.int_arg(0), ctx.payload.int_arg(1)
    if appeal_id is None or score is None or len(ctx.payload.args) != 2:
        raise Refusal("rating.invalid")
    outcome = await ratings.rate(ctx.repo, ctx.settings, ctx.user, appeal_id, score, ctx.now)
    back = _step(ctx).get("back", "") if ctx.state == COMMENT_STATE else ctx.state
    ctx.set_state(COMMENT_STATE, **{STEP_KEY: {"appeal_id": appeal_id, "answer_no": outcome.rating.answer_no,
                                               "back": back}})
    # The buttons stay under the thanks, so the rating can be changed within the window.
    ctx.say("rating.changed" if outcome.changed else "rating.thanks", number=outcome.appeal.number, score=score,
            hours=ctx.t.plural("duration.hours", ctx.settings.ratings.change_window_hours),
            buttons=rate_buttons(appeal_id), replace=True)
    ctx.toast("rating.saved_toast", score=score)
    await ask_comment(ctx)


async def ask_comment(ctx: Context) -> None:
    step = _step(ctx)
    ctx.say("rating.ask_comment", max=ctx.settings.limits.comment_max_length,
            buttons=[[ctx.button("rating.skip", make("rating.skip_comment", step.get("appeal_id", 0)))]])


@refusals(_refused)
async def enter_comment(ctx: Context) -> None:
    text = " ".join(ctx.event.text.split())
    if not text:
        await complain(ctx, "rating.comment_expected")
        return
    if len(text) > ctx.settings.limits.comment_max_length:
        await complain(ctx, "rating.comment_too_long", max=ctx.settings.limits.comment_max_length, length=len(text))
        return
    step = _step(ctx)
    _leave_comment_step(ctx)  # saved or refused, the comment step is over
    outcome = await ratings.comment(ctx.repo, ctx.settings, ctx.user, step.get("appeal_id") or 0,
                                    step.get("answer_no") or 0, text, ctx.now)
    await _finish(ctx, outcome, "rating.comment_saved")


@refusals(_refused)
async def skip_comment(ctx: Context) -> None:
    assert ctx.payload is not None
    step = _step(ctx)
    if ctx.payload.int_arg(0) != step.get("appeal_id"):
        raise Refusal("rating.invalid")
    _leave_comment_step(ctx)  # skipped or refused, the comment step is over
    outcome = await ratings.comment(ctx.repo, ctx.settings, ctx.user, step.get("appeal_id") or 0,
                                    step.get("answer_no") or 0, None, ctx.now)
    await _finish(ctx, outcome, "rating.comment_skipped")


async def _finish(ctx: Context, outcome: Rated, said: str) -> None:
    ctx.say(said, replace=ctx.event.is_button)
    if outcome.may_reopen:
        ctx.say("reopen.offer", number=outcome.appeal.number,
                days=ctx.t.plural("duration.within_days", ctx.settings.ratings.reopen_within_days),
                buttons=[[ctx.button("reopen.button", make("rating.reopen", outcome.appeal.id))]])
    elif outcome.rating is not None and outcome.rating.score <= ctx.settings.ratings.reopen_threshold:
        # A low rating that can no longer reopen the appeal: say what is left, never a dead end.
        ctx.say("rating.low_what_next", number=outcome.appeal.number)
    await _back_to_dialog(ctx)


# --- reopening ------------------------------------------------------------------------------------

@refusals(_refused)
async def reopen_appeal(ctx: Context) -> None:
    assert ctx.payload is not None
    appeal_id = ctx.payload.int_arg(0)
    if appeal_id is None or len(ctx.payload.args) != 1:
        raise Refusal("rating.invalid")
    outcome = await ratings.reopen(ctx.repo, ctx.settings, ctx.calendar, ctx.user, appeal_id, ctx.now)
    appeal = outcome.appeal
    # The ministry gets the card again, marked as a repeat appeal (``reopen_count``).
    await publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    ctx.say("reopen.done", number=appeal.number, ministry=texts.ministry_name(ctx, appeal.ministry_id),
            deadline=texts.local_date(ctx, appeal.deadline_at), replace=True)
    ctx.toast("reopen.done_toast", number=appeal.number)
    await _back_to_dialog(ctx)
