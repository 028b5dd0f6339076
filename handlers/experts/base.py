"""What the expert group's conversations share: the unit of work, how a refusal is shown, the pressed
button's arguments, the meeting a member may see, the draft kept in the dialog.

Services refuse by raising; the router shows the refusal (``handlers.router.refused``). A step whose
typed text may be refused marks itself ``@refusals(typed_or_leaving(KEY))``; ``ctx.ending_dialog()``
leaves the dialog on a refusal, ``way_on(buttons)`` keeps buttons under it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.events import Button
from bot.payloads import make
from bot.presenters.meetings import WORDING
from bot.services import meeting_facts, meetings
from bot.services.meetings import MeetingDraft, Office, Refusal
from handlers import texts
from handlers.citizen import complain
from handlers.context import REFUSALS, Context
from handlers.router import Presenter, refused
from storage.expert_models import Meeting

LIST_SIZE = 10
PLACE_MAX = 500


def office(ctx: Context) -> Office:
    return Office(ctx.repo, ctx.settings, ctx.calendar, ctx.now, words=WORDING)


@contextmanager
def way_on(buttons: list[list[Button]]) -> Iterator[None]:
    """Within: a refusal keeps ``buttons`` under it (the way on), so nobody is stuck."""
    try:
        yield
    except REFUSALS as refusal:
        refusal.buttons = buttons  # type: ignore[union-attr]
        raise


def typed_or_leaving(mistake: str) -> Presenter:
    """A dialog step's refusals: ``mistake`` is the typed text's (said with the step's buttons, the question
    stands); any other means the meeting changed meanwhile, and the dialog ends."""

    async def present(ctx: Context, refusal: Any) -> None:
        if refusal.key == mistake:
            await complain(ctx, refusal.key, **refusal.params)
            return
        ctx.reset()
        await refused(ctx, refusal)

    return present


def group_label(ctx: Context, group_id: str) -> str:
    return meetings.group_name(ctx.settings, group_id, ctx.user.language)


def arg(ctx: Context, index: int) -> int | None:
    return ctx.payload.int_arg(index) if ctx.payload is not None else None


def text_arg(ctx: Context, index: int) -> str:
    return (ctx.payload.arg(index) or "") if ctx.payload is not None else ""


async def meeting_of(ctx: Context, meeting_id: int | None) -> Meeting:
    """The meeting, if the person is a member of its group (members only ever see their groups' meetings)."""
    meeting = await meeting_facts.meeting(office(ctx), meeting_id)
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


async def _organized(ctx: Context) -> Meeting:
    """The meeting of the pressed button, if the presser organizes its group; else a refusal."""
    meeting = await meeting_of(ctx, arg(ctx, 0))
    await meetings.organizer_of(office(ctx), ctx.user, meeting.group_id)
    return meeting


def _meeting_buttons(ctx: Context, meeting: Meeting) -> list[list[Button]]:
    return [[ctx.button("meeting.attendance_button", make("mt_att", meeting.id)),
             ctx.button("vote.open_button", make("vote_item", meeting.id))],
            [ctx.button("meeting.finish_button", make("mt_finish", meeting.id))]]


def _roll_line(ctx: Context, roll: meetings.Roll) -> str:
    return ctx.t("meeting.roll", present=len(roll.present), members=len(roll.members), needed=roll.needed,
                 quorum=ctx.t("meeting.quorum_yes" if roll.quorum else "meeting.quorum_no"))
