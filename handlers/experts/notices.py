"""The notice and the meeting day: answers, rescheduling, cancelling, later materials, opening the
meeting, attendance and check-in."""

from __future__ import annotations

from bot.domain.errors import Refusal
from bot.payloads import make
from bot.presenters import meetings as meeting_texts
from bot.services import meetings
from bot.services.meetings import MeetingDraft
from handlers import texts
from handlers.context import Context
from handlers.experts.base import (
    _meeting_buttons,
    _organized,
    _roll_line,
    arg,
    group_label,
    office,
    save_draft,
    text_arg,
)
from handlers.experts.creation import ask_materials, ask_when
from storage.expert_models import Meeting


async def answer_notice(ctx: Context) -> None:
    meeting, answer = await meetings.answer_notice(office(ctx), ctx.user, arg(ctx, 0) or 0, text_arg(ctx, 1))
    ctx.replies.append(meeting_texts.notice_reply(ctx.settings, ctx.user.language, meeting, "meeting.notice_new",
                                                  answer=answer))
    ctx.replies[-1].replace = True
    ctx.toast("meeting.answer_saved")


async def ask_reschedule(ctx: Context) -> None:
    meeting = await _organized(ctx)
    draft = MeetingDraft(group_id=meeting.group_id, format=meeting.format)
    save_draft(ctx, draft, "mt_when", meeting_id=meeting.id)
    await ask_when(ctx)


async def ask_cancel(ctx: Context) -> None:
    meeting = await _organized(ctx)
    ctx.say("meeting.cancel_question", id=meeting.id, date=texts.local_datetime(ctx, meeting.starts_at),
            buttons=[[ctx.button("meeting.cancel_confirm", make("mt_drop_ok", meeting.id))]])


async def cancel_meeting(ctx: Context) -> None:
    meeting = await _organized(ctx)
    await meetings.cancel(office(ctx), ctx.user, meeting)
    ctx.say("meeting.cancelled", id=meeting.id, replace=True)


async def add_materials(ctx: Context) -> None:
    meeting = await _organized(ctx)
    if meeting.status not in ("scheduled", "in_progress"):
        raise Refusal("meeting.not_editable")
    ctx.set_state("mt_materials", meeting_id=meeting.id, material_index=0, mtdraft=None)
    await ask_materials(ctx)


# --- the meeting: attendance ---------------------------------------------------------------------

async def start_meeting(ctx: Context) -> None:
    meeting = await _organized(ctx)
    await meetings.start(office(ctx), ctx.user, meeting)
    ctx.say("meeting.started_ok", id=meeting.id)
    await _attendance(ctx, meeting)


async def show_attendance(ctx: Context) -> None:
    await _attendance(ctx, await _organized(ctx), replace=True)


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
    await meetings.toggle_presence(office(ctx), ctx.user, meeting, arg(ctx, 1) or 0)
    await _attendance(ctx, meeting, replace=True)


async def check_in(ctx: Context) -> None:
    meeting = await meetings.check_in(office(ctx), ctx.user, arg(ctx, 0) or 0)
    ctx.say("meeting.checked_in", group=group_label(ctx, meeting.group_id), replace=True,
            buttons=[[ctx.button("meeting.leave_button", make("mt_leave", meeting.id))]])
    ctx.toast("meeting.checked_in_toast")
