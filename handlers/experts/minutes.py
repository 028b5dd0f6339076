"""The meeting's later conversations: leaving the meeting, declining a dissenting opinion, sending the
protocol back and correcting it, the materials on request and the public summary.

Registered by ``handlers.experts.setup``; the services check every press against role and state.
"""

from __future__ import annotations

from bot.domain.errors import Refusal
from bot.payloads import make
from bot.presenters import meetings as meeting_texts
from bot.services import meeting_facts, meetings
from bot.services.meetings import agenda
from bot.services.meetings import minutes as proceedings
from handlers import texts
from handlers.citizen import cancel_row
from handlers.context import Context
from handlers.experts.base import meeting_of, office, typed_or_leaving
from handlers.router import Router, refusals


def setup(router: Router) -> None:
    router.button("mt_leave", leave_meeting)
    router.button("nodissent", decline_dissent)
    router.button("pback", ask_protocol_comment)
    router.state("prot_comment", enter_protocol_comment, ask_protocol_comment_text)
    router.button("pfix", correct_protocol)
    router.button("presubmit", resubmit_protocol)
    router.button("mt_files", send_materials)
    router.button("mt_sum", public_summary)


def _arg(ctx: Context, index: int) -> int:
    return (ctx.payload.int_arg(index) if ctx.payload is not None else None) or 0


async def leave_meeting(ctx: Context) -> None:
    await proceedings.leave(office(ctx), ctx.user, _arg(ctx, 0))
    ctx.say("meeting.left", time=texts.local_datetime(ctx, ctx.now)[-5:], replace=True)


async def decline_dissent(ctx: Context) -> None:
    await proceedings.decline(office(ctx), ctx.user, _arg(ctx, 0))
    ctx.say("vote.dissent_declined")
    ctx.toast("vote.dissent_declined")


async def ask_protocol_comment(ctx: Context) -> None:
    ctx.set_state("prot_comment", protocol_id=_arg(ctx, 0))
    await ask_protocol_comment_text(ctx)


async def ask_protocol_comment_text(ctx: Context) -> None:
    ctx.say("protocol.ask_comment", buttons=[cancel_row(ctx)])


@refusals(typed_or_leaving("protocol.comment_invalid"))
async def enter_protocol_comment(ctx: Context) -> None:
    await proceedings.send_back(office(ctx), ctx.user, int(ctx.data.get("protocol_id") or 0), ctx.event.text)
    ctx.reset()
    ctx.say("protocol.returned_ok")


async def correct_protocol(ctx: Context) -> None:
    """The secretary sees the comment, the items' speakers to correct, and the button to send it again."""
    protocol, meeting = await meeting_facts.protocol_and_meeting(office(ctx), _arg(ctx, 0))
    if protocol is None or meeting is None or protocol.status != "returned" or meeting.secretary_id != ctx.user.id:
        raise Refusal("protocol.not_returned" if protocol and meeting else "protocol.not_secretary")
    rows = [[ctx.button("agenda.field_speaker", make("ag_f", meeting.id, item.id, "speaker")),
             ctx.button("agenda.edit_item_button", make("ag_item", meeting.id, item.id), n=item.position)]
            for item in meeting.items][:8]
    ctx.say("protocol.correct_intro", comment=protocol.return_comment,
            buttons=[*rows, [ctx.button("protocol.resubmit_button", make("presubmit", protocol.id))]])


async def resubmit_protocol(ctx: Context) -> None:
    protocol = await proceedings.resubmit(office(ctx), ctx.user, _arg(ctx, 0))
    ctx.say("protocol.resubmitted", number=protocol.number)


async def send_materials(ctx: Context) -> None:
    meeting = await meeting_of(ctx, _arg(ctx, 0))
    materials = await agenda.materials_for(office(ctx), ctx.user, meeting)
    ctx.replies.append(meeting_texts.materials_reply(ctx.settings, ctx.user.language, materials))


async def public_summary(ctx: Context) -> None:
    meeting = await meeting_of(ctx, _arg(ctx, 0))
    await meetings.organizer_of(office(ctx), ctx.user, meeting.group_id)
    summary = meeting_texts.public_summary(ctx.settings, ctx.user.language, meeting,
                                           await proceedings.outcomes(office(ctx), meeting))
    ctx.say_text("\n\n".join([ctx.t("summary.header"), summary]))
