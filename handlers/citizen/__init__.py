"""The citizen's conversation: consent, the appeal step by step, confirmation, /my.

One room per part: ``base`` (the order of steps, moving on, refusals, the summary), ``start`` (consent
and the beginning), ``steps`` (each question of the appeal), ``summary`` (editing, registration, the
reply to a ministry's question), ``mine`` (/my). The names other modules use are importable from here.
"""

from __future__ import annotations

from handlers.citizen.base import (
    APPEAL,
    DIALOG_STATES,
    EDITABLE,
    MIN_FREE_TEXT,
    NEXT,
    STEPS,
    SUMMARY_TEXT_PREVIEW,
    advance,
    cancel_row,
    complain,
    complained,
    drafting,
    go,
    hint_buttons,
    show_summary,
    store,
)
from handlers.citizen.mine import PAGE_SIZE, my_appeals
from handlers.citizen.start import answer_consent, ask_consent, begin, keep_consent_text, new_appeal, start_dialog
from handlers.citizen.steps import (
    answer_suggestion,
    ask_address,
    ask_attachments,
    ask_category,
    ask_name,
    ask_phone,
    ask_sector,
    ask_text,
    back_to_sectors,
    choose_category,
    choose_sector,
    enter_address,
    enter_attachments,
    enter_name,
    enter_phone,
    enter_sector_text,
    enter_text,
    finish_step,
    hint_text_expected,
    skip_step,
    suggest,
    use_previous_name,
)
from handlers.citizen.summary import ask_clarification, ask_field, confirm, edit_field, start_clarification_reply
from handlers.router import Router

__all__ = [
    "APPEAL", "DIALOG_STATES", "EDITABLE", "MIN_FREE_TEXT", "NEXT", "PAGE_SIZE", "STEPS", "SUMMARY_TEXT_PREVIEW",
    "advance", "answer_consent", "answer_suggestion", "ask_address", "ask_attachments", "ask_category",
    "ask_clarification", "ask_consent", "ask_field", "ask_name", "ask_phone", "ask_sector", "ask_text",
    "back_to_sectors", "begin", "cancel_row", "choose_category", "choose_sector", "complain", "complained", "confirm",
    "drafting", "edit_field", "enter_address", "enter_attachments", "enter_name", "enter_phone", "enter_sector_text",
    "enter_text", "finish_step", "go", "hint_buttons", "hint_text_expected", "keep_consent_text", "my_appeals",
    "new_appeal", "setup", "show_summary", "skip_step", "start_clarification_reply", "start_dialog", "store",
    "suggest", "use_previous_name",
]


def setup(router: Router) -> None:
    appeal = router.dialog(APPEAL)
    appeal.command("new", new_appeal)
    appeal.command("my", my_appeals)
    appeal.button("new", new_appeal)
    appeal.button("my", my_appeals)
    appeal.button("consent", answer_consent, {"consent"})
    appeal.button("prev", use_previous_name, {"name"})
    appeal.button("skip", skip_step, {"phone", "attachments", "address"})
    appeal.button("sector", choose_sector, {"sector"})
    appeal.button("cat", choose_category, {"category"})
    appeal.button("back", back_to_sectors, {"category"})
    appeal.button("done", finish_step, {"text", "attachments"})
    appeal.button("confirm", confirm, {"confirm"})
    appeal.button("edit", ask_field, {"confirm"})
    appeal.button("field", edit_field, {"edit"})
    appeal.button("reply", start_clarification_reply)
    appeal.state("consent", keep_consent_text, ask_consent)
    appeal.state("name", enter_name, ask_name)
    appeal.state("phone", enter_phone, ask_phone)
    appeal.button("suggestion", answer_suggestion, {"sector"})
    appeal.state("sector", enter_sector_text, ask_sector)
    appeal.state("category", hint_buttons, ask_category)
    appeal.state("text", enter_text, ask_text)
    appeal.state("attachments", enter_attachments, ask_attachments)
    appeal.state("address", enter_address, ask_address)
    appeal.state("confirm", hint_buttons, show_summary)
    appeal.state("edit", hint_buttons, ask_field)
