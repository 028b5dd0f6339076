"""What the expert group's conversations share: the unit of work, a refusal shown politely, the
pressed button's arguments, the meeting a member may see, the draft kept in the dialog."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import Any, TypeVar

from bot.events import Button
from bot.payloads import make
from bot.presenters import dates
from bot.presenters.meetings import WORDING
from bot.services import meetings
from bot.services.meetings import Key, MeetingDraft, Office, Refusal
from handlers import texts
from handlers.context import Context
from storage.expert_models import Meeting

LIST_SIZE = 10
PLACE_MAX = 500

T = TypeVar("T")


def office(ctx: Context) -> Office:
    return Office(ctx.repo, ctx.settings, ctx.calendar, ctx.now, words=WORDING)


def _worded(ctx: Context, params: dict[str, object]) -> dict[str, Any]:
    """A refusal's parameters as shown: a message key in the user's language, a date as the region writes it."""
    return {name: ctx.t(value) if isinstance(value, Key) else dates.day(value) if isinstance(value, date) else value
            for name, value in params.items()}


def refuse(ctx: Context, refusal: Refusal, buttons: list[list[Button]] | None = None) -> None:
    """A refused press: the reason as a message and as the button's toast; nothing has changed.
    ``buttons`` keep the way on under the refusal, so nobody is stuck."""
    params = _worded(ctx, refusal.params)
    ctx.say(refusal.key, buttons=buttons, **params)
    if ctx.event.is_button:
        ctx.toast(refusal.key, **params)


async def attempt(ctx: Context, work: Awaitable[T], buttons: list[list[Button]] | None = None, *,
                  reset: bool = False) -> T | None:
    """Await a service call: its result, or None once its refusal is shown (``refuse``; ``reset`` leaves
    the dialog first). For calls whose result is never None; ``refused`` is for those that return nothing."""
    try:
        return await work
    except Refusal as refusal:
        if reset:
            ctx.reset()
        refuse(ctx, refusal, buttons)
        return None


async def refused(ctx: Context, work: Awaitable[object], buttons: list[list[Button]] | None = None, *,
                  reset: bool = False) -> bool:
    """Await a service call that returns nothing: True when it was refused (and the refusal shown)."""
    return await attempt(ctx, _done(work), buttons, reset=reset) is None


async def _done(work: Awaitable[object]) -> bool:
    await work
    return True


def group_label(ctx: Context, group_id: str) -> str:
    return meetings.group_name(ctx.settings, group_id, ctx.user.language)


def arg(ctx: Context, index: int) -> int | None:
    return ctx.payload.int_arg(index) if ctx.payload is not None else None


def text_arg(ctx: Context, index: int) -> str:
    return (ctx.payload.arg(index) or "") if ctx.payload is not None else ""


async def meeting_of(ctx: Context, meeting_id: int | None) -> Meeting:
    """The meeting, if the person is a member of its group (members only ever see their groups' meetings)."""
    meeting = await office(ctx).db.meeting(meeting_id) if meeting_id else None
    if meeting is None or meeting.group_id not in ctx.settings.groups:
        raise Refusal("meeting.not_found")
    await meetings.member_of(office(ctx), ctx.user, meeting.group_id)
    return meeting


def draft_of(ctx: Context) -> MeetingDraft:
    return MeetingDraft.from_dict(ctx.data.get("mtdraft"))


def save_draft(ctx: Context, draft: MeetingDraft, state: str | None = None, **updates: object) -> None:
    ctx.set_state(state or ctx.state, mtdraft=draft.to_dict(), **updates)


async def go(ctx: Context, state: str) -> None:
    ctx.set_state(state)
    await texts.router(ctx).prompt(ctx)


async def _organized(ctx: Context) -> Meeting | None:
    """The meeting of the pressed button, if the presser organizes its group; else a refusal is shown."""
    meeting = await attempt(ctx, meeting_of(ctx, arg(ctx, 0)))
    if meeting is None or await attempt(ctx, meetings.organizer_of(office(ctx), ctx.user, meeting.group_id)) is None:
        return None
    return meeting


def _meeting_buttons(ctx: Context, meeting: Meeting) -> list[list[Button]]:
    return [[ctx.button("meeting.attendance_button", make("mt_att", meeting.id)),
             ctx.button("vote.open_button", make("vote_item", meeting.id))],
            [ctx.button("meeting.finish_button", make("mt_finish", meeting.id))]]


def _roll_line(ctx: Context, roll: meetings.Roll) -> str:
    return ctx.t("meeting.roll", present=len(roll.present), members=len(roll.members), needed=roll.needed,
                 quorum=ctx.t("meeting.quorum_yes" if roll.quorum else "meeting.quorum_no"))
