"""Votes at the meeting, dissenting opinions and signing the protocol."""

from __future__ import annotations

from bot.events import Button
from bot.payloads import make
from bot.presenters import meetings as meeting_texts
from bot.services import meeting_facts, meetings
from handlers.citizen import cancel_row, complain
from handlers.context import Context
from handlers.experts.base import (
    _meeting_buttons,
    _organized,
    arg,
    meeting_of,
    office,
    text_arg,
    typed_or_leaving,
    way_on,
)
from handlers.router import refusals


async def choose_vote_item(ctx: Context) -> None:
    meeting = await meeting_of(ctx, arg(ctx, 0))
    held = await meeting_facts.voted_items(office(ctx), meeting.id)
    rows = [[Button(ctx.t("vote.item_button", n=item.position, title=item.title[:40]),
                    make("vote_open", meeting.id, item.id))] for item in meeting.items if item.id not in held]
    if not rows:
        ctx.say("vote.all_held", buttons=[[ctx.button("meeting.finish_button", make("mt_finish", meeting.id))]])
        return
    ctx.say("vote.choose_item", buttons=rows)


async def choose_vote_duration(ctx: Context) -> None:
    meeting_id, item_id = arg(ctx, 0), arg(ctx, 1)
    await meeting_of(ctx, meeting_id)
    rows = [[ctx.button("vote.duration_manual" if minutes == 0 else "vote.duration_minutes",
                        make("vote_go", meeting_id, item_id, minutes), minutes=minutes)]
            for minutes in meetings.VOTE_MINUTES]
    ctx.say("vote.choose_duration", buttons=rows, replace=True)


async def open_vote(ctx: Context) -> None:
    meeting = await meeting_of(ctx, arg(ctx, 0))
    with way_on(_meeting_buttons(ctx, meeting)):
        vote = await meetings.open_vote(office(ctx), ctx.user, meeting, arg(ctx, 1) or 0, arg(ctx, 2) or 0)
    item = next(i for i in meeting.items if i.id == vote.item_id)
    count = await meeting_facts.ballot_count(office(ctx), vote.id)
    ctx.say("vote.opened", n=item.position, title=item.title, count=count, replace=True,
            buttons=[[ctx.button("vote.close_button", make("vote_close", vote.id))]])


async def cast_ballot(ctx: Context) -> None:
    cast = await meetings.cast(office(ctx), ctx.user, arg(ctx, 0) or 0, text_arg(ctx, 1))
    reply = meeting_texts.ballot_reply(ctx.settings, ctx.user.language, cast.meeting, cast.item, cast.vote,
                                       cast.choice)
    reply.replace = True
    ctx.replies.append(reply)
    ctx.toast("vote.recorded", choice=ctx.t(f"vote.choice_{cast.choice}"))


async def close_vote(ctx: Context) -> None:
    vote = await meetings.close_by_presiding(office(ctx), ctx.user, arg(ctx, 0) or 0)
    ctx.say("vote.closed_summary", decision=ctx.t(f"vote.decision_{vote.result}"), votes_for=vote.votes_for,
            against=vote.votes_against, abstain=vote.votes_abstain, replace=True,
            buttons=[[ctx.button("vote.next_button", make("vote_item", vote.meeting_id)),
                      ctx.button("meeting.finish_button", make("mt_finish", vote.meeting_id))]])


async def finish_meeting(ctx: Context) -> None:
    meeting = await _organized(ctx)
    protocol = await meetings.finish(office(ctx), ctx.user, meeting)
    key = "meeting.finished_drafted" if protocol.status == "drafted" else "meeting.finished_waiting"
    ctx.say(key, id=meeting.id, hours=office(ctx).group(meeting.group_id).dissent_hours, replace=True)


# --- dissenting opinion and the protocol ---------------------------------------------------------

async def ask_dissent(ctx: Context) -> None:
    vote = await meetings.may_dissent(office(ctx), ctx.user, arg(ctx, 0) or 0)
    ctx.set_state("mt_dissent", vote_id=vote.id)
    await ask_dissent_text(ctx)


async def ask_dissent_text(ctx: Context) -> None:
    ctx.say("vote.ask_dissent", buttons=[cancel_row(ctx)])


@refusals(typed_or_leaving("vote.dissent_empty"))
async def enter_dissent(ctx: Context) -> None:
    if not ctx.event.text.strip():
        await complain(ctx, "hint.text_expected")
        return
    await meetings.file_dissent(office(ctx), ctx.user, int(ctx.data.get("vote_id") or 0), ctx.event.text)
    ctx.reset()
    ctx.say("vote.dissent_saved")


async def approve_protocol(ctx: Context) -> None:
    protocol, sent = await meetings.approve(office(ctx), ctx.user, arg(ctx, 0) or 0)
    ctx.say("protocol.approved_sent" if sent else "protocol.approved_wait", number=protocol.number)
    ctx.toast("protocol.approved_toast")
