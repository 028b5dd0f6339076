"""The meeting's later conversations: leaving the meeting, declining a dissenting opinion, sending the
protocol back and correcting it, the materials on request and the public summary.

Registered by ``handlers.experts.setup``; the services check every press against role and state.
"""

from __future__ import annotations

from bot.services import meetings
from bot.services.meetings import Refusal, agenda
from bot.services.meetings import minutes as proceedings
from handlers import texts
from handlers.citizen import cancel_row, complain
from handlers.context import Context
from handlers.experts.base import meeting_of
from handlers.payloads import make
from handlers.router import Router


def setup(router: Router) -> None:
    router.button("mt_leave", leave_meeting)
    router.button("nodissent", decline_dissent)
    router.button("pback", ask_protocol_comment)
    router.state("prot_comment", enter_protocol_comment, ask_protocol_comment_text)
    router.button("pfix", correct_protocol)
    router.button("presubmit", resubmit_protocol)
    router.button("mt_files", send_materials)
    router.button("mt_sum", public_summary)


def _office(ctx: Context) -> meetings.Office:
    return meetings.Office(ctx.repo, ctx.settings, ctx.calendar, ctx.now)


def _arg(ctx: Context, index: int) -> int:
    return (ctx.payload.int_arg(index) if ctx.payload is not None else None) or 0


def _refuse(ctx: Context, refusal: Refusal) -> None:
    ctx.say(refusal.key, **refusal.params)
    if ctx.event.is_button:
        ctx.toast(refusal.key, **refusal.params)


async def leave_meeting(ctx: Context) -> None:
    try:
        await proceedings.leave(_office(ctx), ctx.user, _arg(ctx, 0))
    except Refusal as refusal:
        _refuse(ctx, refusal)
        return
    ctx.say("meeting.left", time=texts.local_datetime(ctx, ctx.now)[-5:], replace=True)


async def decline_dissent(ctx: Context) -> None:
    try:
        await proceedings.decline(_office(ctx), ctx.user, _arg(ctx, 0))
    except Refusal as refusal:
        _refuse(ctx, refusal)
        return
    ctx.say("vote.dissent_declined")
    ctx.toast("vote.dissent_declined")


async def ask_protocol_comment(ctx: Context) -> None:
    ctx.set_state("prot_comment", protocol_id=_arg(ctx, 0))
    await ask_protocol_comment_text(ctx)


async def ask_protocol_comment_text(ctx: Context) -> None:
    ctx.say("protocol.ask_comment", buttons=[cancel_row(ctx)])


async def enter_protocol_comment(ctx: Context) -> None:
    try:
        await proceedings.send_back(_office(ctx), ctx.user, int(ctx.data.get("protocol_id") or 0), ctx.event.text)
    except Refusal as refusal:
        if refusal.key == "protocol.comment_invalid":
            await complain(ctx, refusal.key, **refusal.params)
            return
        ctx.reset()
        _refuse(ctx, refusal)
        return
    ctx.reset()
    ctx.say("protocol.returned_ok")


async def correct_protocol(ctx: Context) -> None:
    """The secretary sees the comment, the items' speakers to correct, and the button to send it again."""
    work = _office(ctx)
    protocol = await work.db.protocol(_arg(ctx, 0))
    meeting = await work.db.meeting(protocol.meeting_id) if protocol else None
    if protocol is None or meeting is None or protocol.status != "returned" or meeting.secretary_id != ctx.user.id:
        _refuse(ctx, Refusal("protocol.not_returned" if protocol and meeting else "protocol.not_secretary"))
        return
    rows = [[ctx.button("agenda.field_speaker", make("ag_f", meeting.id, item.id, "speaker")),
             ctx.button("agenda.edit_item_button", make("ag_item", meeting.id, item.id), n=item.position)]
            for item in meeting.items][:8]
    ctx.say("protocol.correct_intro", comment=protocol.return_comment,
            buttons=[*rows, [ctx.button("protocol.resubmit_button", make("presubmit", protocol.id))]])


async def resubmit_protocol(ctx: Context) -> None:
    try:
        protocol = await proceedings.resubmit(_office(ctx), ctx.user, _arg(ctx, 0))
    except Refusal as refusal:
        _refuse(ctx, refusal)
        return
    ctx.say("protocol.resubmitted", number=protocol.number)


async def send_materials(ctx: Context) -> None:
    try:
        meeting = await meeting_of(ctx, _arg(ctx, 0))
        reply = await agenda.materials_for(_office(ctx), ctx.user, meeting)
    except Refusal as refusal:
        _refuse(ctx, refusal)
        return
    ctx.replies.append(reply)


async def public_summary(ctx: Context) -> None:
    try:
        meeting = await meeting_of(ctx, _arg(ctx, 0))
        await meetings.organizer_of(_office(ctx), ctx.user, meeting.group_id)
    except Refusal as refusal:
        _refuse(ctx, refusal)
        return
    summary = await proceedings.public_summary(_office(ctx), meeting, ctx.user.language)
    ctx.say_text("\n\n".join([ctx.t("summary.header"), summary]))
