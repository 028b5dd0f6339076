"""The citizen's conversation: consent, the appeal step by step, confirmation, /my.

One room per part: ``base`` (the order of steps, moving on, refusals, the summary), ``start`` (consent
and the beginning), ``steps`` (each question of the appeal), ``summary`` (editing, registration, the
reply to a ministry's question), ``mine`` (/my). The names other modules use are importable from here.
"""

from __future__ import annotations

from handlers.citizen.base import (
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
    "DIALOG_STATES", "EDITABLE", "MIN_FREE_TEXT", "NEXT", "PAGE_SIZE", "STEPS", "SUMMARY_TEXT_PREVIEW",
    "advance", "answer_consent", "answer_suggestion", "ask_address", "ask_attachments", "ask_category",
    "ask_clarification", "ask_consent", "ask_field", "ask_name", "ask_phone", "ask_sector", "ask_text",
    "back_to_sectors", "begin", "cancel_row", "choose_category", "choose_sector", "complain", "complained", "confirm",
    "drafting", "edit_field", "enter_address", "enter_attachments", "enter_name", "enter_phone", "enter_sector_text",
    "enter_text", "finish_step", "go", "hint_buttons", "hint_text_expected", "keep_consent_text", "my_appeals",
    "new_appeal", "setup", "show_summary", "skip_step", "start_clarification_reply", "start_dialog", "store",
    "suggest", "use_previous_name",
]


def setup(router: Router) -> None:
    router.command("new", new_appeal)
    router.command("my", my_appeals)
    router.button("new", new_appeal)
    router.button("my", my_appeals)
    router.button("consent", answer_consent, {"consent"})
    router.button("prev", use_previous_name, {"name"})
    router.button("skip", skip_step, {"phone", "attachments", "address"})
    router.button("sector", choose_sector, {"sector"})
    router.button("cat", choose_category, {"category"})
    router.button("back", back_to_sectors, {"category"})
    router.button("done", finish_step, {"text", "attachments"})
    router.button("confirm", confirm, {"confirm"})
    router.button("edit", ask_field, {"confirm"})
    router.button("field", edit_field, {"edit"})
    router.button("clreply", start_clarification_reply)
    router.state("consent", keep_consent_text, ask_consent)
    router.state("name", enter_name, ask_name)
    router.state("phone", enter_phone, ask_phone)
    router.button("sugg", answer_suggestion, {"sector"})
    router.state("sector", enter_sector_text, ask_sector)
    router.state("category", hint_buttons, ask_category)
    router.state("text", enter_text, ask_text)
    router.state("attachments", enter_attachments, ask_attachments)
    router.state("address", enter_address, ask_address)
    router.state("confirm", hint_buttons, show_summary)
    router.state("edit", hint_buttons, ask_field)
