"""Scheduling a meeting: the secretary's dialog from the group to the published notice."""

from __future__ import annotations

from dataclasses import asdict

from bot.domain.errors import Refusal
from bot.events import Button
from bot.payloads import make
from bot.presenters import meetings as meeting_texts
from bot.services import meeting_facts, meetings, validation
from bot.services.meetings import MeetingDraft
from bot.services.meetings import agenda as meeting_agenda
from handlers import texts
from handlers.citizen import cancel_row, complain, complained
from handlers.citizen.base import stale_button
from handlers.context import Context
from handlers.experts import agenda as expert_agenda
from handlers.experts.base import PLACE_MAX, arg, draft_of, go, group_label, meeting_of, office, save_draft, text_arg
from handlers.router import refusals, refused
from storage.expert_models import AgendaItem, Meeting


async def new_meeting(ctx: Context) -> None:
    groups = [m for m in await meetings.memberships(office(ctx), ctx.user) if m.role in meetings.ORGANIZERS]
    if not groups:
        raise Refusal("experts.not_organizer")
    if len(groups) == 1:
        await begin_draft(ctx, groups[0].group_id)
        return
    await go(ctx, "meeting.group")


async def ask_group(ctx: Context) -> None:
    groups = [m for m in await meetings.memberships(office(ctx), ctx.user) if m.role in meetings.ORGANIZERS]
    rows = [[Button(group_label(ctx, m.group_id), make("meeting.group", m.group_id))] for m in groups]
    ctx.say("meeting.ask_group", buttons=[*rows, cancel_row(ctx)])


async def choose_group(ctx: Context) -> None:
    group_id = text_arg(ctx, 0)
    await meetings.organizer_of(office(ctx), ctx.user, group_id)
    await begin_draft(ctx, group_id)


async def begin_draft(ctx: Context, group_id: str) -> None:
    save_draft(ctx, MeetingDraft(group_id=group_id), "meeting.when", meeting_id=None, material_index=0)
    ctx.say("meeting.intro", group=group_label(ctx, group_id))
    await ask_when(ctx)


async def ask_when(ctx: Context) -> None:
    key = "meeting.ask_deadline" if draft_of(ctx).format == "absentee" else "meeting.ask_when"
    ctx.say(key, buttons=[cancel_row(ctx)])


@refusals(complained)
async def enter_when(ctx: Context) -> None:
    starts_at = meetings.parse_when(ctx.event.text, ctx.settings.region.zone, ctx.now)
    if starts_at is None:
        await complain(ctx, "meeting.when_invalid")
        return
    draft = draft_of(ctx)
    warnings = meetings.check_when(office(ctx), office(ctx).group(draft.group_id), starts_at)
    draft.starts_at = starts_at.isoformat()
    save_draft(ctx, draft)
    if warnings:
        await go(ctx, "meeting.when_check")
        return
    await accept_when(ctx)


async def ask_when_check(ctx: Context) -> None:
    draft = draft_of(ctx)
    when = draft.when
    try:
        if when is None:
            raise Refusal("meeting.when_invalid")
        warnings = meetings.check_when(office(ctx), office(ctx).group(draft.group_id), when)
    except Refusal:  # not a refusal to show: the question goes back a step
        await go(ctx, "meeting.when")  # the moment has passed while the secretary was thinking
        return
    lines = [ctx.t(key, **params) for key, params in warnings]
    lines.append(ctx.t("meeting.keep_question", when=texts.local_datetime(ctx, when)))
    ctx.say_text("\n".join(lines), buttons=[
        [ctx.button("meeting.keep_button", make("meeting.keep_when")),
         ctx.button("meeting.redo_button", make("meeting.redo_when"))],
        cancel_row(ctx)])


async def keep_when(ctx: Context) -> None:
    await accept_when(ctx)


async def redo_when(ctx: Context) -> None:
    await go(ctx, "meeting.when")


@refusals(refused)  # shown here: the typed moment was right, the meeting changed meanwhile
async def accept_when(ctx: Context) -> None:
    meeting_id = ctx.data.get("meeting_id")
    if meeting_id is None:
        await go(ctx, "meeting.preview" if ctx.data.get("preview_edit") else "meeting.format")
        return
    when = draft_of(ctx).when
    with ctx.ending_dialog():
        meeting = await meeting_of(ctx, meeting_id)
        assert when is not None  # enter_when kept it
        await meetings.reschedule(office(ctx), ctx.user, meeting, when)
    ctx.reset()
    ctx.say("meeting.moved", id=meeting.id, when=texts.local_datetime(ctx, when), replace=ctx.event.is_button)


async def ask_format(ctx: Context) -> None:
    rows = [[ctx.button(f"meeting.format_{name}", make("meeting.format", name))] for name in meetings.FORMATS]
    ctx.say("meeting.ask_format", buttons=[*rows, cancel_row(ctx)])


async def choose_format(ctx: Context) -> None:
    name = text_arg(ctx, 0)
    if name not in meetings.FORMATS:
        await stale_button(ctx)
        return
    draft = draft_of(ctx)
    draft.format = name
    if name == "absentee":
        draft.place = ""
    save_draft(ctx, draft)
    ctx.say("meeting.format_chosen", format=ctx.t(f"meeting.format_{name}"), replace=True)
    if name != "absentee":
        await go(ctx, "meeting.place")
    else:
        await go(ctx, "meeting.preview" if ctx.data.get("preview_edit") else "meeting.agenda")


async def ask_place(ctx: Context) -> None:
    key = "meeting.ask_link" if draft_of(ctx).format == "video" else "meeting.ask_place"
    ctx.say(key, buttons=[cancel_row(ctx)])


@refusals(complained)
async def enter_place(ctx: Context) -> None:
    place = " ".join(ctx.event.text.split())
    if not place or len(place) > PLACE_MAX:
        await complain(ctx, "meeting.place_invalid", max=PLACE_MAX)
        return
    draft = draft_of(ctx)
    meeting_agenda.check_place(draft.format, place)
    draft.place = place
    save_draft(ctx, draft)
    await go(ctx, "meeting.preview" if ctx.data.get("preview_edit") else "meeting.agenda")


async def ask_item(ctx: Context) -> None:
    items = draft_of(ctx).items
    if not items:
        ctx.say("meeting.ask_item_first", buttons=[cancel_row(ctx)])
        return
    ctx.say("meeting.ask_item_more", count=len(items),
            buttons=[[ctx.button("button.done", make("meeting.agenda_done"))], cancel_row(ctx)])


async def enter_item(ctx: Context) -> None:
    title = ctx.event.text.strip()
    if not title or len(title) > meetings.TITLE_MAX:
        await complain(ctx, "meeting.item_invalid", max=meetings.TITLE_MAX)
        return
    draft = draft_of(ctx)
    draft.items.append({"title": title, "decision": "", "speaker": "", "materials": []})
    save_draft(ctx, draft)
    await go(ctx, "agenda.decision")


async def finish_agenda(ctx: Context) -> None:
    if not draft_of(ctx).items:
        await complain(ctx, "meeting.agenda_empty")
        return
    ctx.set_state("meeting.materials", material_index=0)
    await ask_materials(ctx)


async def _material_items(ctx: Context) -> list[tuple[int | None, str]]:
    """(item id or None for a draft, title) of the agenda whose materials are being collected."""
    meeting_id = ctx.data.get("meeting_id")
    if meeting_id is None:
        return [(None, item["title"]) for item in draft_of(ctx).items]
    meeting = await meeting_of(ctx, meeting_id)
    return [(item.id, item.title) for item in meeting.items]


@refusals(refused)  # a question: asked again after a restart or a hint, outside any step
async def ask_materials(ctx: Context) -> None:
    with ctx.ending_dialog():
        items = await _material_items(ctx)
    index = int(ctx.data.get("material_index", 0))
    if index >= len(items):
        await next_materials(ctx)
        return
    last = index == len(items) - 1
    label = "meeting.materials_finish" if last else "meeting.materials_next"
    ctx.say("meeting.ask_materials", n=index + 1, title=items[index][1], max_mb=ctx.settings.limits.
            attachment_max_size_mb,
            buttons=[[ctx.button(label, make("meeting.next_material", index))], cancel_row(ctx)])


async def enter_materials(ctx: Context) -> None:
    if not ctx.event.attachments:
        await complain(ctx, "hint.attachments_expected")
        return
    index = int(ctx.data.get("material_index", 0))
    with ctx.ending_dialog():
        items = await _material_items(ctx)
        if index >= len(items):  # the published agenda lost items meanwhile
            raise Refusal("meeting.not_found")
        added, sent = await _take_materials(ctx, items[index][0], index)
    last = index == len(items) - 1
    label = "meeting.materials_finish" if last else "meeting.materials_next"
    ctx.say("meeting.materials_sent_now" if sent else "meeting.materials_added", count=added,
            buttons=[[ctx.button(label, make("meeting.next_material", index))], cancel_row(ctx)])


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
    pressed = arg(ctx, 0) if ctx.payload is not None and ctx.payload.verb == "meeting.next_material" else index
    if pressed != index:
        await stale_button(ctx)
        return
    items = await _material_items(ctx)
    if index + 1 < len(items):
        ctx.set_state("meeting.materials", material_index=index + 1)
        await ask_materials(ctx)
    elif ctx.data.get("meeting_id") is not None:
        ctx.reset()
        ctx.say("meeting.materials_done")
    else:
        await go(ctx, "meeting.preview")


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
        await refused(ctx, Refusal("meeting.draft_incomplete"))  # a question, not a step: shown here
        return
    files = sum(len(item["materials"]) for item in draft.items)
    card = meeting_texts.meeting_card(ctx.settings, ctx.user.language, _preview_meeting(draft))
    approver = await meeting_agenda.approver_of(office(ctx), draft.group_id)
    approval = office(ctx).group(draft.group_id).agenda_approval and approver is not None and \
        approver.user_id != ctx.user.id
    ctx.say_text("\n\n".join([ctx.t("meeting.preview"), card, ctx.t("meeting.preview_files", count=files),
                               ctx.t("agenda.preview_edit")]),
                 buttons=expert_agenda.preview_buttons(ctx, draft.items, approval))


@refusals(complained)
async def publish(ctx: Context) -> None:
    work = office(ctx)
    meeting = await meetings.schedule(work, ctx.user, draft_of(ctx))
    ctx.reset()
    key = "meeting.published_absentee" if meeting.format == "absentee" else "meeting.published"
    if meeting.status == "proposed":
        key = "agenda.sent_for_approval_absentee" if meeting.format == "absentee" else "agenda.sent_for_approval"
    ctx.say(key, id=meeting.id, count=await meeting_facts.member_count(work, meeting.group_id), replace=True,
            buttons=[[ctx.button("meeting.open_button", make("meeting.view", meeting.id))]])
