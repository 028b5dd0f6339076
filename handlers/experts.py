"""The expert group's conversations: joining, scheduling a meeting, answering the notice, the meeting
itself (attendance, votes), dissenting opinions and signing the protocol.

Every press is checked by the service against the presser's membership and role and the meeting's or
vote's current state; a refusal is shown politely and changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict

from bot.events import Button
from bot.services import meeting_agenda, meetings, validation
from bot.services.meetings import MeetingDraft, Office, Refusal
from handlers import common, expert_agenda, expert_minutes, texts
from handlers.citizen import cancel_row, complain, hint_buttons
from handlers.context import Context
from handlers.payloads import make
from handlers.router import Router
from storage.expert_models import AgendaItem, Meeting
from storage.models import Invite

LIST_SIZE = 10
PLACE_MAX = 500


def setup(router: Router) -> None:
    router.command("meetings", list_meetings)
    router.command("meeting", show_meeting)
    router.command("meeting_new", new_meeting)
    router.button("mt_new", new_meeting)
    router.button("mt_view", show_meeting)
    router.button("xname", keep_name, {"expert_name"})
    router.button("mt_group", choose_group, {"mt_group"})
    router.button("mt_keep", keep_when, {"mt_when_check"})
    router.button("mt_redo", redo_when, {"mt_when_check"})
    router.button("mt_fmt", choose_format, {"mt_format"})
    router.button("mt_done", finish_agenda, {"mt_agenda"})
    router.button("mt_next", next_materials, {"mt_materials"})
    router.button("mt_pub", publish, {"mt_preview"})
    router.button("rsvp", answer_notice)
    router.button("mt_move", ask_reschedule)
    router.button("mt_drop", ask_cancel)
    router.button("mt_drop_ok", cancel_meeting)
    router.button("mt_mat", add_materials)
    router.button("mt_start", start_meeting)
    router.button("mt_att", show_attendance)
    router.button("mt_mark", toggle_presence)
    router.button("checkin", check_in)
    router.button("vote_item", choose_vote_item)
    router.button("vote_open", choose_vote_duration)
    router.button("vote_go", open_vote)
    router.button("ballot", cast_ballot)
    router.button("vote_close", close_vote)
    router.button("mt_finish", finish_meeting)
    router.button("dissent", ask_dissent)
    router.button("papprove", approve_protocol)
    router.state("expert_name", enter_name, ask_name)
    router.state("mt_group", hint_buttons, ask_group)
    router.state("mt_when", enter_when, ask_when)
    router.state("mt_when_check", hint_buttons, ask_when_check)
    router.state("mt_format", hint_buttons, ask_format)
    router.state("mt_place", enter_place, ask_place)
    router.state("mt_agenda", enter_item, ask_item)
    router.state("mt_materials", enter_materials, ask_materials)
    router.state("mt_preview", hint_buttons, show_preview)
    router.state("mt_dissent", enter_dissent, ask_dissent_text)
    expert_agenda.setup(router)
    expert_minutes.setup(router)


def office(ctx: Context) -> Office:
    return Office(ctx.repo, ctx.settings, ctx.calendar, ctx.now)


def refuse(ctx: Context, refusal: Refusal, buttons: list[list[Button]] | None = None) -> None:
    """A refused press: the reason as a message and as the button's toast; nothing has changed.
    ``buttons`` keep the way on under the refusal, so nobody is stuck."""
    ctx.say(refusal.key, buttons=buttons, **refusal.params)
    if ctx.event.is_button:
        ctx.toast(refusal.key, **refusal.params)


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


# --- joining (the lead's /start calls this after redeeming a group invite) ----------------------

async def join_group(ctx: Context, invite: Invite) -> None:
    if invite.role == "guest":
        await expert_agenda.join_as_guest(ctx, invite)
        return
    try:
        member = await meetings.join(office(ctx), ctx.user, invite.group_id or "", invite.role,
                                     ctx.user.display_name or "")
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    ctx.say("experts.joined", group=group_label(ctx, member.group_id), role=ctx.t(f"experts.role_{member.role}"))
    ctx.set_state("expert_name")
    await ask_name(ctx)


async def ask_name(ctx: Context) -> None:
    rows = []
    if ctx.user.display_name:
        rows.append([ctx.button("experts.name_keep", make("xname"), name=ctx.user.display_name[:40])])
    ctx.say("experts.ask_name", buttons=rows)


async def enter_name(ctx: Context) -> None:
    try:
        await meetings.set_full_name(office(ctx), ctx.user, ctx.event.text)
    except Refusal as refusal:
        await complain(ctx, refusal.key, **refusal.params)
        return
    await _named(ctx)


async def keep_name(ctx: Context) -> None:
    try:
        await meetings.set_full_name(office(ctx), ctx.user, ctx.user.display_name or "")
    except Refusal as refusal:
        await complain(ctx, refusal.key, **refusal.params)
        return
    await _named(ctx)


async def _named(ctx: Context) -> None:
    ctx.reset()
    ctx.say("experts.name_saved")
    ctx.say("experts.help")


# --- lists and the meeting card --------------------------------------------------------------

async def list_meetings(ctx: Context) -> None:
    groups = await meetings.memberships(office(ctx), ctx.user)
    if not groups:
        ctx.say("experts.not_member")
        return
    found = await office(ctx).db.meetings_of([g.group_id for g in groups],
                                             ("proposed", "scheduled", "in_progress", "finished"), LIST_SIZE)
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
    try:
        meeting = await meeting_of(ctx, raw)
        member = await meetings.member_of(office(ctx), ctx.user, meeting.group_id)
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    parts = [meetings.meeting_card(ctx.settings, ctx.user.language, meeting),
             ctx.t("meeting.status_line", status=ctx.t(f"meeting.status_{meeting.status}"))]
    if member.role in meetings.ORGANIZERS:
        parts.extend(await _organizer_view(ctx, meeting))
        buttons = await _organizer_buttons(ctx, meeting)
    else:
        parts.extend(await _member_view(ctx, meeting))
        buttons = meetings.rsvp_buttons(ctx.user.language, meeting) if _answerable(meeting) else []
        if meeting.status != "proposed" and await office(ctx).db.materials(meeting.id):
            buttons = [*buttons, [ctx.button("meeting.get_materials_button", make("mt_files", meeting.id))]]
    ctx.say_text("\n\n".join(parts), buttons=buttons)


def _number(value: object) -> int | None:
    return validation.parse_id(str(value or "").strip().lstrip("#"))


def _answerable(meeting: Meeting) -> bool:
    return meeting.status == "scheduled" and meeting.format != "absentee"


async def _member_view(ctx: Context, meeting: Meeting) -> list[str]:
    if not _answerable(meeting):
        return []
    row = await office(ctx).db.attendance_of(meeting.id, ctx.user.id)
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
    lines = []
    for vote in await work.db.votes(meeting.id):
        cast = sum(1 for b in await work.db.ballots(vote.id) if b.choice is not None)
        item = await work.db.item(vote.item_id)
        lines.append(ctx.t("meeting.vote_line", n=item.position if item else 0, cast=cast, members=vote.members,
                           status=ctx.t(f"vote.status_{vote.status}")))
    protocol = await work.db.protocol_of(meeting.id)
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
        votes = await office(ctx).db.votes(meeting.id)
        closing = [[ctx.button("vote.close_button", make("vote_close", v.id))] for v in votes if v.status == "open"]
        edit_agenda = [ctx.button("agenda.edit_button", make("ag_edit", meeting.id))]
        return [*closing, *_meeting_buttons(ctx, meeting), edit_agenda]
    return []


async def _finished_buttons(ctx: Context, meeting: Meeting) -> list[list[Button]]:
    rows = [[ctx.button("summary.button", make("mt_sum", meeting.id))]]
    protocol = await office(ctx).db.protocol_of(meeting.id)
    if protocol is not None and protocol.status == "returned" and meeting.secretary_id == ctx.user.id:
        rows.insert(0, [ctx.button("protocol.correct_button", make("pfix", protocol.id))])
    return rows


def _meeting_buttons(ctx: Context, meeting: Meeting) -> list[list[Button]]:
    return [[ctx.button("meeting.attendance_button", make("mt_att", meeting.id)),
             ctx.button("vote.open_button", make("vote_item", meeting.id))],
            [ctx.button("meeting.finish_button", make("mt_finish", meeting.id))]]


def _roll_line(ctx: Context, roll: meetings.Roll) -> str:
    return ctx.t("meeting.roll", present=len(roll.present), members=len(roll.members), needed=roll.needed,
                 quorum=ctx.t("meeting.quorum_yes" if roll.quorum else "meeting.quorum_no"))


# --- scheduling: the secretary's dialog ---------------------------------------------------------

def draft_of(ctx: Context) -> MeetingDraft:
    return MeetingDraft.from_dict(ctx.data.get("mtdraft"))


def save_draft(ctx: Context, draft: MeetingDraft, state: str | None = None, **updates: object) -> None:
    ctx.set_state(state or ctx.state, mtdraft=draft.to_dict(), **updates)


async def go(ctx: Context, state: str) -> None:
    ctx.set_state(state)
    await texts.router(ctx).prompt(ctx)


async def new_meeting(ctx: Context) -> None:
    groups = [m for m in await meetings.memberships(office(ctx), ctx.user) if m.role in meetings.ORGANIZERS]
    if not groups:
        refuse(ctx, Refusal("experts.not_organizer"))
        return
    if len(groups) == 1:
        await begin_draft(ctx, groups[0].group_id)
        return
    await go(ctx, "mt_group")


async def ask_group(ctx: Context) -> None:
    groups = [m for m in await meetings.memberships(office(ctx), ctx.user) if m.role in meetings.ORGANIZERS]
    rows = [[Button(group_label(ctx, m.group_id), make("mt_group", m.group_id))] for m in groups]
    ctx.say("meeting.ask_group", buttons=[*rows, cancel_row(ctx)])


async def choose_group(ctx: Context) -> None:
    group_id = text_arg(ctx, 0)
    try:
        await meetings.organizer_of(office(ctx), ctx.user, group_id)
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    await begin_draft(ctx, group_id)


async def begin_draft(ctx: Context, group_id: str) -> None:
    save_draft(ctx, MeetingDraft(group_id=group_id), "mt_when", meeting_id=None, material_index=0)
    ctx.say("meeting.intro", group=group_label(ctx, group_id))
    await ask_when(ctx)


async def ask_when(ctx: Context) -> None:
    key = "meeting.ask_deadline" if draft_of(ctx).format == "absentee" else "meeting.ask_when"
    ctx.say(key, buttons=[cancel_row(ctx)])


async def enter_when(ctx: Context) -> None:
    starts_at = meetings.parse_when(ctx.event.text, ctx.settings.region.zone, ctx.now)
    if starts_at is None:
        await complain(ctx, "meeting.when_invalid")
        return
    draft = draft_of(ctx)
    try:
        warnings = meetings.check_when(office(ctx), office(ctx).group(draft.group_id), starts_at)
    except Refusal as refusal:
        await complain(ctx, refusal.key, **refusal.params)
        return
    draft.starts_at = starts_at.isoformat()
    save_draft(ctx, draft)
    if warnings:
        await go(ctx, "mt_when_check")
        return
    await accept_when(ctx)


async def ask_when_check(ctx: Context) -> None:
    draft = draft_of(ctx)
    when = draft.when
    try:
        if when is None:
            raise Refusal("meeting.when_invalid")
        warnings = meetings.check_when(office(ctx), office(ctx).group(draft.group_id), when)
    except Refusal:
        await go(ctx, "mt_when")  # the moment has passed while the secretary was thinking
        return
    lines = [ctx.t(key, **params) for key, params in warnings]
    lines.append(ctx.t("meeting.keep_question", when=texts.local_datetime(ctx, when)))
    ctx.say_text("\n".join(lines), buttons=[
        [ctx.button("meeting.keep_button", make("mt_keep")), ctx.button("meeting.redo_button", make("mt_redo"))],
        cancel_row(ctx)])


async def keep_when(ctx: Context) -> None:
    await accept_when(ctx)


async def redo_when(ctx: Context) -> None:
    await go(ctx, "mt_when")


async def accept_when(ctx: Context) -> None:
    meeting_id = ctx.data.get("meeting_id")
    if meeting_id is None:
        await go(ctx, "mt_preview" if ctx.data.get("preview_edit") else "mt_format")
        return
    when = draft_of(ctx).when
    try:
        meeting = await meeting_of(ctx, meeting_id)
        assert when is not None
        await meetings.reschedule(office(ctx), ctx.user, meeting, when)
    except Refusal as refusal:
        ctx.reset()
        refuse(ctx, refusal)
        return
    ctx.reset()
    ctx.say("meeting.moved", id=meeting.id, when=texts.local_datetime(ctx, when), replace=ctx.event.is_button)


async def ask_format(ctx: Context) -> None:
    rows = [[ctx.button(f"meeting.format_{name}", make("mt_fmt", name))] for name in meetings.FORMATS]
    ctx.say("meeting.ask_format", buttons=[*rows, cancel_row(ctx)])


async def choose_format(ctx: Context) -> None:
    name = text_arg(ctx, 0)
    if name not in meetings.FORMATS:
        await common.stale_button(ctx)
        return
    draft = draft_of(ctx)
    draft.format = name
    if name == "absentee":
        draft.place = ""
    save_draft(ctx, draft)
    ctx.say("meeting.format_chosen", format=ctx.t(f"meeting.format_{name}"), replace=True)
    if name != "absentee":
        await go(ctx, "mt_place")
    else:
        await go(ctx, "mt_preview" if ctx.data.get("preview_edit") else "mt_agenda")


async def ask_place(ctx: Context) -> None:
    key = "meeting.ask_link" if draft_of(ctx).format == "video" else "meeting.ask_place"
    ctx.say(key, buttons=[cancel_row(ctx)])


async def enter_place(ctx: Context) -> None:
    place = " ".join(ctx.event.text.split())
    if not place or len(place) > PLACE_MAX:
        await complain(ctx, "meeting.place_invalid", max=PLACE_MAX)
        return
    draft = draft_of(ctx)
    try:
        meeting_agenda.check_place(draft.format, place)
    except Refusal as refusal:
        await complain(ctx, refusal.key, **refusal.params)
        return
    draft.place = place
    save_draft(ctx, draft)
    await go(ctx, "mt_preview" if ctx.data.get("preview_edit") else "mt_agenda")


async def ask_item(ctx: Context) -> None:
    items = draft_of(ctx).items
    if not items:
        ctx.say("meeting.ask_item_first", buttons=[cancel_row(ctx)])
        return
    ctx.say("meeting.ask_item_more", count=len(items),
            buttons=[[ctx.button("button.done", make("mt_done"))], cancel_row(ctx)])


async def enter_item(ctx: Context) -> None:
    title = ctx.event.text.strip()
    if not title or len(title) > meetings.TITLE_MAX:
        await complain(ctx, "meeting.item_invalid", max=meetings.TITLE_MAX)
        return
    draft = draft_of(ctx)
    draft.items.append({"title": title, "decision": "", "speaker": "", "materials": []})
    save_draft(ctx, draft)
    await go(ctx, "mt_decision")


async def finish_agenda(ctx: Context) -> None:
    if not draft_of(ctx).items:
        await complain(ctx, "meeting.agenda_empty")
        return
    ctx.set_state("mt_materials", material_index=0)
    await ask_materials(ctx)


async def _material_items(ctx: Context) -> list[tuple[int | None, str]]:
    """(item id or None for a draft, title) of the agenda whose materials are being collected."""
    meeting_id = ctx.data.get("meeting_id")
    if meeting_id is None:
        return [(None, item["title"]) for item in draft_of(ctx).items]
    meeting = await meeting_of(ctx, meeting_id)
    return [(item.id, item.title) for item in meeting.items]


async def ask_materials(ctx: Context) -> None:
    try:
        items = await _material_items(ctx)
    except Refusal as refusal:
        ctx.reset()
        refuse(ctx, refusal)
        return
    index = int(ctx.data.get("material_index", 0))
    if index >= len(items):
        await next_materials(ctx)
        return
    last = index == len(items) - 1
    label = "meeting.materials_finish" if last else "meeting.materials_next"
    ctx.say("meeting.ask_materials", n=index + 1, title=items[index][1], max_mb=ctx.settings.limits.
            attachment_max_size_mb, buttons=[[ctx.button(label, make("mt_next", index))], cancel_row(ctx)])


async def enter_materials(ctx: Context) -> None:
    if not ctx.event.attachments:
        await complain(ctx, "hint.attachments_expected")
        return
    index = int(ctx.data.get("material_index", 0))
    try:
        items = await _material_items(ctx)
        added, sent = await _take_materials(ctx, items[index][0], index)
    except (Refusal, IndexError) as problem:
        ctx.reset()
        refuse(ctx, problem if isinstance(problem, Refusal) else Refusal("meeting.not_found"))
        return
    last = index == len(items) - 1
    label = "meeting.materials_finish" if last else "meeting.materials_next"
    ctx.say("meeting.materials_sent_now" if sent else "meeting.materials_added", count=added,
            buttons=[[ctx.button(label, make("mt_next", index))], cancel_row(ctx)])


async def _take_materials(ctx: Context, item_id: int | None, index: int) -> tuple[int, bool]:
    """Check each file like an appeal's; a draft keeps them in the dialog, a published meeting stores them."""
    limits = ctx.settings.limits
    draft = draft_of(ctx)
    kept = draft.items[index]["materials"] if item_id is None else []
    added, sent = 0, False
    for attachment in ctx.event.attachments:
        problem = validation.check_attachment(attachment, len(kept), limits)
        if problem:
            ctx.say(problem, name=attachment.name or attachment.kind, max=limits.attachments_max_count,
                    max_mb=limits.attachment_max_size_mb)
            continue
        added += 1
        if item_id is None:
            kept.append(asdict(attachment))
        else:
            meeting = await meeting_of(ctx, ctx.data.get("meeting_id"))
            sent = await meetings.add_material(office(ctx), ctx.user, meeting, item_id, attachment) or sent
    if item_id is None:
        save_draft(ctx, draft)
    return added, sent


async def next_materials(ctx: Context) -> None:
    index = int(ctx.data.get("material_index", 0))
    pressed = arg(ctx, 0) if ctx.payload is not None and ctx.payload.verb == "mt_next" else index
    if pressed != index:
        await common.stale_button(ctx)
        return
    items = await _material_items(ctx)
    if index + 1 < len(items):
        ctx.set_state("mt_materials", material_index=index + 1)
        await ask_materials(ctx)
    elif ctx.data.get("meeting_id") is not None:
        ctx.reset()
        ctx.say("meeting.materials_done")
    else:
        await go(ctx, "mt_preview")


def _preview_meeting(draft: MeetingDraft) -> Meeting:
    """A meeting not yet saved, to show the notice exactly as members will read it."""
    meeting = Meeting(id=0, group_id=draft.group_id, format=draft.format, starts_at=draft.when, place=draft.place,
                      status="scheduled")
    meeting.items = [AgendaItem(position=n, title=item["title"], decision=item.get("decision", ""),
                                speaker=item.get("speaker", "")) for n, item in enumerate(draft.items, 1)]
    return meeting


async def show_preview(ctx: Context) -> None:
    draft = draft_of(ctx)
    if draft.when is None or draft.format not in meetings.FORMATS or not draft.items:
        ctx.reset()
        refuse(ctx, Refusal("meeting.draft_incomplete"))
        return
    files = sum(len(item["materials"]) for item in draft.items)
    card = meetings.meeting_card(ctx.settings, ctx.user.language, _preview_meeting(draft))
    approver = await meeting_agenda.approver_of(office(ctx), draft.group_id)
    approval = office(ctx).group(draft.group_id).agenda_approval and approver is not None and \
        approver.user_id != ctx.user.id
    ctx.say_text("\n\n".join([ctx.t("meeting.preview"), card, ctx.t("meeting.preview_files", count=files),
                               ctx.t("agenda.preview_edit")]),
                 buttons=expert_agenda.preview_buttons(ctx, draft.items, approval))


async def publish(ctx: Context) -> None:
    work = office(ctx)
    try:
        meeting = await meetings.schedule(work, ctx.user, draft_of(ctx))
    except Refusal as refusal:
        await complain(ctx, refusal.key, **refusal.params)
        return
    ctx.reset()
    key = "meeting.published_absentee" if meeting.format == "absentee" else "meeting.published"
    if meeting.status == "proposed":
        key = "agenda.sent_for_approval_absentee" if meeting.format == "absentee" else "agenda.sent_for_approval"
    ctx.say(key, id=meeting.id, count=len(await work.db.members(meeting.group_id)), replace=True,
            buttons=[[ctx.button("meeting.open_button", make("mt_view", meeting.id))]])


# --- the notice: answers, rescheduling, cancelling, materials later -----------------------------

async def answer_notice(ctx: Context) -> None:
    try:
        meeting, answer = await meetings.answer_notice(office(ctx), ctx.user, arg(ctx, 0) or 0, text_arg(ctx, 1))
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    ctx.replies.append(meetings.notice_reply(ctx.settings, ctx.user.language, meeting, "meeting.notice_new",
                                             answer=answer))
    ctx.replies[-1].replace = True
    ctx.toast("meeting.answer_saved")


async def _organized(ctx: Context) -> Meeting | None:
    """The meeting of the pressed button, if the presser organizes its group; else a refusal is shown."""
    try:
        meeting = await meeting_of(ctx, arg(ctx, 0))
        await meetings.organizer_of(office(ctx), ctx.user, meeting.group_id)
    except Refusal as refusal:
        refuse(ctx, refusal)
        return None
    return meeting


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
    try:
        await meetings.cancel(office(ctx), ctx.user, meeting)
    except Refusal as refusal:
        refuse(ctx, refusal)
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
    try:
        await meetings.start(office(ctx), ctx.user, meeting)
    except Refusal as refusal:
        refuse(ctx, refusal)
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
    try:
        await meetings.toggle_presence(office(ctx), ctx.user, meeting, arg(ctx, 1) or 0)
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    await _attendance(ctx, meeting, replace=True)


async def check_in(ctx: Context) -> None:
    try:
        meeting = await meetings.check_in(office(ctx), ctx.user, arg(ctx, 0) or 0)
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    ctx.say("meeting.checked_in", group=group_label(ctx, meeting.group_id), replace=True,
            buttons=[[ctx.button("meeting.leave_button", make("mt_leave", meeting.id))]])
    ctx.toast("meeting.checked_in_toast")


# --- votes ---------------------------------------------------------------------------------------

async def choose_vote_item(ctx: Context) -> None:
    try:
        meeting = await meeting_of(ctx, arg(ctx, 0))
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    held = {v.item_id for v in await office(ctx).db.votes(meeting.id)}
    rows = [[Button(ctx.t("vote.item_button", n=item.position, title=item.title[:40]),
                    make("vote_open", meeting.id, item.id))] for item in meeting.items if item.id not in held]
    if not rows:
        ctx.say("vote.all_held", buttons=[[ctx.button("meeting.finish_button", make("mt_finish", meeting.id))]])
        return
    ctx.say("vote.choose_item", buttons=rows)


async def choose_vote_duration(ctx: Context) -> None:
    meeting_id, item_id = arg(ctx, 0), arg(ctx, 1)
    try:
        await meeting_of(ctx, meeting_id)
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    rows = [[ctx.button("vote.duration_manual" if minutes == 0 else "vote.duration_minutes",
                        make("vote_go", meeting_id, item_id, minutes), minutes=minutes)]
            for minutes in meetings.VOTE_MINUTES]
    ctx.say("vote.choose_duration", buttons=rows, replace=True)


async def open_vote(ctx: Context) -> None:
    try:
        meeting = await meeting_of(ctx, arg(ctx, 0))
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    try:
        vote = await meetings.open_vote(office(ctx), ctx.user, meeting, arg(ctx, 1) or 0, arg(ctx, 2) or 0)
    except Refusal as refusal:
        refuse(ctx, refusal, _meeting_buttons(ctx, meeting))
        return
    item = next(i for i in meeting.items if i.id == vote.item_id)
    count = len(await office(ctx).db.ballots(vote.id))
    ctx.say("vote.opened", n=item.position, title=item.title, count=count, replace=True,
            buttons=[[ctx.button("vote.close_button", make("vote_close", vote.id))]])


async def cast_ballot(ctx: Context) -> None:
    try:
        cast = await meetings.cast(office(ctx), ctx.user, arg(ctx, 0) or 0, text_arg(ctx, 1))
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    reply = meetings.ballot_reply(ctx.settings, ctx.user.language, cast.meeting, cast.item, cast.vote, cast.choice)
    reply.replace = True
    ctx.replies.append(reply)
    ctx.toast("vote.recorded", choice=ctx.t(f"vote.choice_{cast.choice}"))


async def close_vote(ctx: Context) -> None:
    try:
        vote = await meetings.close_by_presiding(office(ctx), ctx.user, arg(ctx, 0) or 0)
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    ctx.say("vote.closed_summary", decision=ctx.t(f"vote.decision_{vote.result}"), votes_for=vote.votes_for,
            against=vote.votes_against, abstain=vote.votes_abstain, replace=True,
            buttons=[[ctx.button("vote.next_button", make("vote_item", vote.meeting_id)),
                      ctx.button("meeting.finish_button", make("mt_finish", vote.meeting_id))]])


async def finish_meeting(ctx: Context) -> None:
    meeting = await _organized(ctx)
    if meeting is None:
        return
    try:
        protocol = await meetings.finish(office(ctx), ctx.user, meeting)
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    key = "meeting.finished_drafted" if protocol.status == "drafted" else "meeting.finished_waiting"
    ctx.say(key, id=meeting.id, hours=office(ctx).group(meeting.group_id).dissent_hours, replace=True)


# --- dissenting opinion and the protocol ---------------------------------------------------------

async def ask_dissent(ctx: Context) -> None:
    try:
        vote = await meetings.may_dissent(office(ctx), ctx.user, arg(ctx, 0) or 0)
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    ctx.set_state("mt_dissent", vote_id=vote.id)
    await ask_dissent_text(ctx)


async def ask_dissent_text(ctx: Context) -> None:
    ctx.say("vote.ask_dissent", buttons=[cancel_row(ctx)])


async def enter_dissent(ctx: Context) -> None:
    if not ctx.event.text.strip():
        await complain(ctx, "hint.text_expected")
        return
    try:
        await meetings.file_dissent(office(ctx), ctx.user, int(ctx.data.get("vote_id") or 0), ctx.event.text)
    except Refusal as refusal:
        if refusal.key == "vote.dissent_empty":
            await complain(ctx, refusal.key)
            return
        ctx.reset()
        refuse(ctx, refusal)
        return
    ctx.reset()
    ctx.say("vote.dissent_saved")


async def approve_protocol(ctx: Context) -> None:
    try:
        protocol, sent = await meetings.approve(office(ctx), ctx.user, arg(ctx, 0) or 0)
    except Refusal as refusal:
        refuse(ctx, refusal)
        return
    ctx.say("protocol.approved_sent" if sent else "protocol.approved_wait", number=protocol.number)
    ctx.toast("protocol.approved_toast")
