"""The list of meetings and the meeting's card, as a member and as an organizer sees it."""

from __future__ import annotations

from bot.events import Button
from bot.payloads import make
from bot.presenters import meetings as meeting_texts
from bot.services import meeting_facts, meetings, validation
from handlers import texts
from handlers.context import Context
from handlers.experts.base import LIST_SIZE, _meeting_buttons, _roll_line, arg, group_label, meeting_of, office
from storage.expert_models import Meeting


async def list_meetings(ctx: Context) -> None:
    groups = await meetings.memberships(office(ctx), ctx.user)
    if not groups:
        ctx.say("experts.not_member")
        return
    found = await meeting_facts.listed(office(ctx), [g.group_id for g in groups], LIST_SIZE)
    names = texts.names(ctx)
    lines = [ctx.t("meeting.list_header")] if found else [ctx.t("meeting.list_empty")]
    rows = []
    for meeting in found:
        lines.append(ctx.t("meeting.list_line", id=meeting.id, group=group_label(ctx, meeting.group_id),
                           date=names.datetime(meeting.starts_at), status=ctx.t(f"meeting.status_{meeting.status}")))
        rows.append([Button(ctx.t("meeting.list_button", id=meeting.id, date=names.date(meeting.starts_at)),
                            make("mt_view", meeting.id))])
    if any(g.role in meetings.ORGANIZERS for g in groups):
        rows.append([ctx.button("meeting.new_button", make("mt_new"))])
    ctx.say_text("\n".join(lines), buttons=rows)


async def show_meeting(ctx: Context) -> None:
    raw = arg(ctx, 0) if ctx.payload is not None else _number(ctx.extras.get("argument"))
    if raw is None:
        await list_meetings(ctx)
        return
    meeting = await meeting_of(ctx, raw)
    member = await meetings.member_of(office(ctx), ctx.user, meeting.group_id)
    parts = [meeting_texts.meeting_card(ctx.settings, ctx.user.language, meeting),
             ctx.t("meeting.status_line", status=ctx.t(f"meeting.status_{meeting.status}"))]
    if member.role in meetings.ORGANIZERS:
        parts.extend(await _organizer_view(ctx, meeting))
        buttons = await _organizer_buttons(ctx, meeting)
    else:
        parts.extend(await _member_view(ctx, meeting))
        buttons = meeting_texts.rsvp_buttons(ctx.user.language, meeting) if _answerable(meeting) else []
        if meeting.status != "proposed" and await meeting_facts.has_materials(office(ctx), meeting.id):
            buttons = [*buttons, [ctx.button("meeting.get_materials_button", make("mt_files", meeting.id))]]
    ctx.say_text("\n\n".join(parts), buttons=buttons)


def _number(value: object) -> int | None:
    return validation.parse_id(str(value or "").strip().lstrip("#"))


def _answerable(meeting: Meeting) -> bool:
    return meeting.status == "scheduled" and meeting.format != "absentee"


async def _member_view(ctx: Context, meeting: Meeting) -> list[str]:
    if not _answerable(meeting):
        return []
    row = await meeting_facts.attendance(office(ctx), meeting.id, ctx.user.id)
    key = f"meeting.answer_{row.answer}" if row.answer else "meeting.answer_none"
    return [ctx.t("meeting.your_answer", answer=ctx.t(key))]


async def _organizer_view(ctx: Context, meeting: Meeting) -> list[str]:
    work = office(ctx)
    if meeting.status == "scheduled" and meeting.format != "absentee":
        outlook, names = await meetings.quorum_forecast(work, meeting)
        dash = "—"
        return [ctx.t("meeting.forecast", members=outlook.members, needed=outlook.needed, yes=outlook.yes,
                      maybe=outlook.maybe, no=outlook.no, silent=outlook.silent,
                      level=ctx.t(f"meeting.forecast_{outlook.level}"), yes_names=", ".join(names["yes"]) or dash,
                      maybe_names=", ".join(names["maybe"]) or dash, no_names=", ".join(names["no"]) or dash,
                      none_names=", ".join(names["none"]) or dash)]
    if meeting.status == "in_progress" and meeting.format != "absentee":
        return [_roll_line(ctx, await meetings.roll(work, meeting))]
    lines = [ctx.t("meeting.vote_line", n=line.position, cast=line.cast, members=line.members,
                   status=ctx.t(f"vote.status_{line.status}"))
             for line in await meeting_facts.vote_lines(work, meeting.id)]
    protocol = await meeting_facts.protocol_of(work, meeting.id)
    if protocol is not None:
        lines.append(ctx.t("meeting.protocol_line", status=ctx.t(f"protocol.status_{protocol.status}")))
    return ["\n".join(lines)] if lines else []


async def _organizer_buttons(ctx: Context, meeting: Meeting) -> list[list[Button]]:
    edit = [ctx.button("agenda.edit_button", make("ag_edit", meeting.id)),
            ctx.button("guest.button", make("guest_add", meeting.id))]
    if meeting.status == "proposed":
        return [[ctx.button("agenda.resubmit_button", make("ag_resend", meeting.id))], edit,
                [ctx.button("meeting.cancel_button", make("mt_drop", meeting.id))]]
    if meeting.status == "scheduled":
        return [[ctx.button("meeting.start_button", make("mt_start", meeting.id)),
                 ctx.button("meeting.materials_button", make("mt_mat", meeting.id))], edit,
                [ctx.button("meeting.move_button", make("mt_move", meeting.id)),
                 ctx.button("meeting.cancel_button", make("mt_drop", meeting.id))]]
    if meeting.status == "finished":
        return await _finished_buttons(ctx, meeting)
    if meeting.status == "in_progress" and meeting.format == "absentee":
        return [[ctx.button("meeting.move_deadline_button", make("mt_move", meeting.id)),
                 ctx.button("meeting.cancel_button", make("mt_drop", meeting.id))]]
    if meeting.status == "in_progress":
        votes = await meeting_facts.votes(office(ctx), meeting.id)
        closing = [[ctx.button("vote.close_button", make("vote_close", v.id))] for v in votes if v.status == "open"]
        edit_agenda = [ctx.button("agenda.edit_button", make("ag_edit", meeting.id))]
        return [*closing, *_meeting_buttons(ctx, meeting), edit_agenda]
    return []


async def _finished_buttons(ctx: Context, meeting: Meeting) -> list[list[Button]]:
    rows = [[ctx.button("summary.button", make("mt_sum", meeting.id))]]
    protocol = await meeting_facts.protocol_of(office(ctx), meeting.id)
    if protocol is not None and protocol.status == "returned" and meeting.secretary_id == ctx.user.id:
        rows.insert(0, [ctx.button("protocol.correct_button", make("pfix", protocol.id))])
    return rows
