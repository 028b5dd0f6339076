"""The agenda's conversations: the draft decision of each item, editing the preview, the chair's approval,
changes after publishing (with a notice to members) and invited persons.

Registered by ``handlers.experts.setup``; the services check every press against role and state.
"""

from __future__ import annotations

from bot.domain.errors import Refusal
from bot.events import Button
from bot.payloads import make
from bot.services import meeting_facts, meetings
from bot.services.meetings import agenda
from handlers import texts
from handlers.citizen import cancel_row, complain, complained
from handlers.context import Context
from handlers.experts.base import draft_of, meeting_of, office, save_draft, typed_or_leaving
from handlers.router import Router, refusals
from storage.models import Invite

FIELDS = agenda.FIELDS


def setup(router: Router) -> None:
    router.state("mt_decision", enter_decision, ask_decision)
    router.button("mt_pe", edit_preview_field, {"mt_preview"})
    router.button("mt_pi", draft_item_menu, {"mt_preview"})
    router.button("mt_pf", ask_draft_field, {"mt_preview"})
    router.button("mt_prm", remove_draft_item, {"mt_preview"})
    router.state("mt_dfield", enter_draft_field, ask_draft_field_text)
    router.button("ag_ok", approve_agenda)
    router.button("ag_back", ask_agenda_comment)
    router.state("ag_comment", enter_agenda_comment, ask_agenda_comment_text)
    router.button("ag_resend", resubmit_agenda)
    router.button("ag_edit", choose_item)
    router.button("ag_item", item_menu)
    router.button("ag_f", ask_field)
    router.state("ag_field", enter_field, ask_field_text)
    router.button("ag_rm", remove_item)
    router.button("ag_add", ask_new_item)
    router.state("ag_new_title", enter_new_title, ask_new_title)
    router.state("ag_new_decision", enter_new_decision, ask_decision)
    router.button("guest_add", ask_guest)
    router.state("guest_name", enter_guest, ask_guest_text)


def _arg(ctx: Context, index: int) -> int:
    return (ctx.payload.int_arg(index) if ctx.payload is not None else None) or 0


async def _go(ctx: Context, state: str, **data: object) -> None:
    ctx.set_state(state, **data)
    await texts.router(ctx).prompt(ctx)


# --- the draft decision of each item (while scheduling) --------------------------------------------

async def ask_decision(ctx: Context) -> None:
    if ctx.state == "mt_decision":
        items = (ctx.data.get("mtdraft") or {}).get("items") or [{"title": ""}]
        n, title = len(items), items[-1]["title"]
    else:
        n, title = ctx.data.get("ag_n") or 0, ctx.data.get("ag_title") or ""
    ctx.say("agenda.ask_decision", n=n, title=title, buttons=[cancel_row(ctx)])


@refusals(complained)
async def enter_decision(ctx: Context) -> None:
    decision = agenda.clean("decision", ctx.event.text)
    draft = draft_of(ctx)
    draft.items[-1]["decision"] = decision
    save_draft(ctx, draft, "mt_agenda")
    ctx.say("meeting.item_added", n=len(draft.items), title=draft.items[-1]["title"],
            buttons=[[ctx.button("button.done", make("mt_done"))], cancel_row(ctx)])


# --- editing the preview: every field ------------------------------------------------------------

def preview_buttons(ctx: Context, items: list[dict[str, object]], approval: bool) -> list[list[Button]]:
    rows = [[ctx.button("agenda.edit_when", make("mt_pe", "when")),
             ctx.button("agenda.edit_format", make("mt_pe", "fmt")),
             ctx.button("agenda.edit_place", make("mt_pe", "place"))],
            *([ctx.button("agenda.edit_item_button", make("mt_pi", n), n=n + 1)
               for n in range(start, min(start + 5, len(items)))] for start in range(0, len(items), 5)),
            [ctx.button("agenda.add_item_button", make("mt_pe", "item"))]]
    label = "agenda.publish_for_approval" if approval else "meeting.publish_button"
    return [*rows, [ctx.button(label, make("mt_pub"))], cancel_row(ctx)]


async def edit_preview_field(ctx: Context) -> None:
    field = ctx.payload.arg(0) if ctx.payload is not None else ""
    # A new item goes through the agenda and materials steps, which end in the preview again.
    state = {"when": "mt_when", "fmt": "mt_format", "place": "mt_place", "item": "mt_agenda"}.get(field or "")
    if state is None:
        await complain(ctx, "hint.use_buttons")
        return
    await _go(ctx, state, preview_edit=True)


async def draft_item_menu(ctx: Context) -> None:
    index = _arg(ctx, 0)
    items = draft_of(ctx).items
    if not 0 <= index < len(items):
        await complain(ctx, "hint.use_buttons")
        return
    item = items[index]
    rows = [[ctx.button(f"agenda.field_{field}", make("mt_pf", index, field)) for field in FIELDS]]
    if len(items) > 1:
        rows.append([ctx.button("agenda.remove_button", make("mt_prm", index))])
    ctx.say("agenda.item_menu", n=index + 1, title=item["title"], speaker=item.get("speaker") or ctx.t("agenda.nobody"),
            decision=item.get("decision") or "—", buttons=[*rows, cancel_row(ctx)])


async def ask_draft_field(ctx: Context) -> None:
    field = ctx.payload.arg(1) if ctx.payload is not None else ""
    if field not in FIELDS:
        await complain(ctx, "hint.use_buttons")
        return
    await _go(ctx, "mt_dfield", edit_index=_arg(ctx, 0), edit_field=field)


async def ask_draft_field_text(ctx: Context) -> None:
    ctx.say(f"agenda.ask_field_{ctx.data.get('edit_field', 'title')}", buttons=[cancel_row(ctx)])


@refusals(complained)
async def enter_draft_field(ctx: Context) -> None:
    field, index = str(ctx.data.get("edit_field")), int(ctx.data.get("edit_index") or 0)
    draft = draft_of(ctx)
    if not -len(draft.items) <= index < len(draft.items):  # the index came with a button: checked, not trusted
        raise Refusal("meeting.not_found")
    draft.items[index][field] = agenda.clean(field, ctx.event.text)
    save_draft(ctx, draft, "mt_preview")
    ctx.say("agenda.item_saved")
    await texts.router(ctx).prompt(ctx)


async def remove_draft_item(ctx: Context) -> None:
    draft, index = draft_of(ctx), _arg(ctx, 0)
    if len(draft.items) > 1 and 0 <= index < len(draft.items):
        draft.items.pop(index)
        save_draft(ctx, draft, "mt_preview")
        ctx.say("agenda.item_removed")
    await texts.router(ctx).prompt(ctx)


# --- the chair's approval ------------------------------------------------------------------------

async def approve_agenda(ctx: Context) -> None:
    meeting = await agenda.approve(office(ctx), ctx.user, _arg(ctx, 0))
    ctx.say("agenda.approved_ok", count=await meeting_facts.member_count(office(ctx), meeting.group_id), replace=True,
            buttons=[[ctx.button("meeting.open_button", make("mt_view", meeting.id))]])


async def ask_agenda_comment(ctx: Context) -> None:
    await _go(ctx, "ag_comment", meeting_id=_arg(ctx, 0))


async def ask_agenda_comment_text(ctx: Context) -> None:
    ctx.say("agenda.ask_return_comment", buttons=[cancel_row(ctx)])


@refusals(typed_or_leaving("protocol.comment_invalid"))
async def enter_agenda_comment(ctx: Context) -> None:
    await agenda.send_back(office(ctx), ctx.user, int(ctx.data.get("meeting_id") or 0), ctx.event.text)
    ctx.reset()
    ctx.say("agenda.returned_ok")


async def resubmit_agenda(ctx: Context) -> None:
    meeting = await agenda.resubmit(office(ctx), ctx.user, _arg(ctx, 0))
    ctx.say("agenda.resubmitted" if meeting.status == "proposed" else "agenda.approved_ok",
            count=await meeting_facts.member_count(office(ctx), meeting.group_id))


# --- changes after publishing --------------------------------------------------------------------

async def _meeting(ctx: Context) -> meetings.Meeting:
    """The meeting being changed, if the person organizes its group; else a refusal that ends the dialog."""
    with ctx.ending_dialog():
        meeting = await meeting_of(ctx, _arg(ctx, 0) or int(ctx.data.get("meeting_id") or 0))
        await meetings.organizer_of(office(ctx), ctx.user, meeting.group_id)
    return meeting


async def choose_item(ctx: Context) -> None:
    meeting = await _meeting(ctx)
    rows = [[Button(ctx.t("vote.item_button", n=item.position, title=item.title[:40]),
                    make("ag_item", meeting.id, item.id))] for item in meeting.items]
    ctx.say("agenda.choose_item", buttons=[*rows, [ctx.button("agenda.add_item_button", make("ag_add", meeting.id))]])


async def item_menu(ctx: Context) -> None:
    meeting = await _meeting(ctx)
    item = next((i for i in meeting.items if i.id == _arg(ctx, 1)), None)
    if item is None:
        return
    rows = [[ctx.button(f"agenda.field_{field}", make("ag_f", meeting.id, item.id, field)) for field in FIELDS],
            [ctx.button("agenda.remove_button", make("ag_rm", meeting.id, item.id))]]
    ctx.say("agenda.item_menu", n=item.position, title=item.title, speaker=item.speaker or ctx.t("agenda.nobody"),
            decision=item.decision or "—", buttons=rows)


async def ask_field(ctx: Context) -> None:
    field = ctx.payload.arg(2) if ctx.payload is not None else ""
    if field not in FIELDS:
        await complain(ctx, "hint.use_buttons")
        return
    await _go(ctx, "ag_field", meeting_id=_arg(ctx, 0), item_id=_arg(ctx, 1), edit_field=field)


async def ask_field_text(ctx: Context) -> None:
    ctx.say(f"agenda.ask_field_{ctx.data.get('edit_field', 'title')}", buttons=[cancel_row(ctx)])


@refusals(typed_or_leaving("agenda.field_invalid"))
async def enter_field(ctx: Context) -> None:
    meeting = await _meeting(ctx)
    await agenda.change_item(office(ctx), ctx.user, meeting, int(ctx.data.get("item_id") or 0),
                             str(ctx.data.get("edit_field")), ctx.event.text)
    ctx.reset()
    ctx.say("agenda.item_saved", buttons=[[ctx.button("meeting.open_button", make("mt_view", meeting.id))]])


async def remove_item(ctx: Context) -> None:
    meeting = await _meeting(ctx)
    await agenda.remove_item(office(ctx), ctx.user, meeting, _arg(ctx, 1))
    ctx.say("agenda.item_removed", buttons=[[ctx.button("meeting.open_button", make("mt_view", meeting.id))]])


async def ask_new_item(ctx: Context) -> None:
    meeting = await _meeting(ctx)
    await _go(ctx, "ag_new_title", meeting_id=meeting.id)


async def ask_new_title(ctx: Context) -> None:
    ctx.say("agenda.ask_new_title", buttons=[cancel_row(ctx)])


@refusals(typed_or_leaving("agenda.field_invalid"))
async def enter_new_title(ctx: Context) -> None:
    title = agenda.clean("title", ctx.event.text)
    meeting = await _meeting(ctx)
    await _go(ctx, "ag_new_decision", ag_title=title, ag_n=len(meeting.items) + 1)


@refusals(typed_or_leaving("agenda.field_invalid"))
async def enter_new_decision(ctx: Context) -> None:
    meeting = await _meeting(ctx)
    await agenda.add_item(office(ctx), ctx.user, meeting, str(ctx.data.get("ag_title")), ctx.event.text)
    ctx.reset()
    ctx.say("agenda.item_saved", buttons=[[ctx.button("meeting.open_button", make("mt_view", meeting.id))]])


# --- invited persons -----------------------------------------------------------------------------

async def ask_guest(ctx: Context) -> None:
    meeting = await _meeting(ctx)
    await _go(ctx, "guest_name", meeting_id=meeting.id)


async def ask_guest_text(ctx: Context) -> None:
    ctx.say("guest.ask", buttons=[cancel_row(ctx)])


@refusals(typed_or_leaving("guest.invalid"))
async def enter_guest(ctx: Context) -> None:
    meeting = await _meeting(ctx)
    guest, code = await agenda.invite_guest(office(ctx), ctx.user, meeting, ctx.event.text)
    ctx.reset()
    ctx.say("guest.added", name=guest.full_name, code=code)


async def join_as_guest(ctx: Context, invite: Invite) -> None:
    meeting = await agenda.accept_guest(office(ctx), ctx.user, invite)
    ctx.say("guest.joined", id=meeting.id)
