"""The notice and the meeting day: answers, rescheduling, cancelling, later materials, opening the
meeting, attendance and check-in."""

from __future__ import annotations

from bot.payloads import make
from bot.presenters import meetings as meeting_texts
from bot.services import meetings
from bot.services.meetings import MeetingDraft, Refusal
from handlers import texts
from handlers.context import Context
from handlers.experts.base import (
    _meeting_buttons,
    _organized,
    _roll_line,
    arg,
    attempt,
    group_label,
    office,
    refuse,
    refused,
    save_draft,
    text_arg,
)
from handlers.experts.creation import ask_materials, ask_when
from storage.expert_models import Meeting


async def answer_notice(ctx: Context) -> None:
    done = await attempt(ctx, meetings.answer_notice(office(ctx), ctx.user, arg(ctx, 0) or 0, text_arg(ctx, 1)))
    if done is None:
        return
    meeting, answer = done
    ctx.replies.append(meeting_texts.notice_reply(ctx.settings, ctx.user.language, meeting, "meeting.notice_new",
                                                  answer=answer))
    ctx.replies[-1].replace = True
    ctx.toast("meeting.answer_saved")


async def ask_reschedule(ctx: Context) -> None:
    meeting = await _organized(ctx)
    if meeting is None:
        return
    draft = MeetingDraft(group_id=meeting.group_id, format=meeting.format)
    save_draft(ctx, draft, "mt_when", meeting_id=meeting.id)
    await ask_when(ctx)


async def ask_cancel(ctx: Context) -> None:
    meeting = await _organized(ctx)
    if meeting is not None:
        ctx.say("meeting.cancel_question", id=meeting.id, date=texts.local_datetime(ctx, meeting.starts_at),
                buttons=[[ctx.button("meeting.cancel_confirm", make("mt_drop_ok", meeting.id))]])


async def cancel_meeting(ctx: Context) -> None:
    meeting = await _organized(ctx)
    if meeting is None:
        return
    if await refused(ctx, meetings.cancel(office(ctx), ctx.user, meeting)):
        return
    ctx.say("meeting.cancelled", id=meeting.id, replace=True)


async def add_materials(ctx: Context) -> None:
    meeting = await _organized(ctx)
    if meeting is None:
        return
    if meeting.status not in ("scheduled", "in_progress"):
        refuse(ctx, Refusal("meeting.not_editable"))
        return
    ctx.set_state("mt_materials", meeting_id=meeting.id, material_index=0, mtdraft=None)
    await ask_materials(ctx)


# --- the meeting: attendance ---------------------------------------------------------------------

async def start_meeting(ctx: Context) -> None:
    meeting = await _organized(ctx)
    if meeting is None:
        return
    if await refused(ctx, meetings.start(office(ctx), ctx.user, meeting)):
        return
    ctx.say("meeting.started_ok", id=meeting.id)
    await _attendance(ctx, meeting)


async def show_attendance(ctx: Context) -> None:
    meeting = await _organized(ctx)
    if meeting is not None:
        await _attendance(ctx, meeting, replace=True)


async def _attendance(ctx: Context, meeting: Meeting, replace: bool = False) -> None:
    roll = await meetings.roll(office(ctx), meeting)
    rows = []
    for member in roll.members:
        key = "meeting.mark_present" if member.user_id in roll.present else "meeting.mark_absent"
        rows.append([ctx.button(key, make("mt_mark", meeting.id, member.user_id),
                                name=meetings.member_name(member)[:40])])
    ctx.say_text("\n".join([ctx.t("meeting.attendance_header"), _roll_line(ctx, roll)]),
                 buttons=[*rows, *_meeting_buttons(ctx, meeting)], replace=replace)


async def toggle_presence(ctx: Context) -> None:
    meeting = await _organized(ctx)
    if meeting is None:
        return
    if await refused(ctx, meetings.toggle_presence(office(ctx), ctx.user, meeting, arg(ctx, 1) or 0)):
        return
    await _attendance(ctx, meeting, replace=True)


async def check_in(ctx: Context) -> None:
    meeting = await attempt(ctx, meetings.check_in(office(ctx), ctx.user, arg(ctx, 0) or 0))
    if meeting is None:
        return
    ctx.say("meeting.checked_in", group=group_label(ctx, meeting.group_id), replace=True,
            buttons=[[ctx.button("meeting.leave_button", make("mt_leave", meeting.id))]])
    ctx.toast("meeting.checked_in_toast")
