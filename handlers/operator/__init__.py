"""The ministry's side: card buttons, the answer / clarify / redirect / extend dialogs, /queue, /appeal.

One room per part: ``base`` (refusals, the dialog's appeal, messages to the citizen and the ministry),
``taking`` (the card's buttons), ``answer``, ``clarify``, ``handover`` (redirect, reassign), ``extend``,
``queue`` (/queue, /overdue, /appeal), ``lookup`` (a ministry or sector by name, an appeal by number).
The names other modules use are importable from here.
"""

from __future__ import annotations

from handlers.operator.answer import (
    answer_input,
    answer_preview,
    answer_prompt,
    answer_restart,
    answer_send,
    show_preview,
)
from handlers.operator.base import (
    RATING_SCORES,
    cancel_row,
    hint_buttons,
    notify_ministry,
    refuse,
    required_text,
    tell_citizen,
)
from handlers.operator.clarify import clarify_input, clarify_preview, clarify_prompt, clarify_restart, clarify_send
from handlers.operator.extend import (
    duration_words,
    extend_choose,
    extend_prompt,
    extend_reason_input,
    extend_reason_prompt,
)
from handlers.operator.handover import (
    reassign_prompt,
    reassign_to,
    redirect_choose,
    redirect_prompt,
    redirect_reason_input,
    redirect_reason_prompt,
)
from handlers.operator.lookup import NUMBER_RE, find_appeal, find_scope, parse_number
from handlers.operator.queue import (
    TEXT_PART,
    show_appeal,
    show_appeal_command,
    show_full_text,
    show_overdue,
    show_queue,
    text_parts,
)
from handlers.operator.taking import ACTIONS, continue_in_private, press_card_button, take
from handlers.router import Dialog, Router

OPERATOR = Dialog("operator")

__all__ = [
    "ACTIONS", "NUMBER_RE", "OPERATOR", "RATING_SCORES", "TEXT_PART", "answer_input", "answer_preview",
    "answer_prompt", "answer_restart", "answer_send", "cancel_row", "clarify_input", "clarify_preview",
    "clarify_prompt", "clarify_restart", "clarify_send", "continue_in_private", "duration_words", "extend_choose",
    "extend_prompt", "extend_reason_input", "extend_reason_prompt", "find_appeal", "find_scope", "hint_buttons",
    "notify_ministry", "parse_number", "press_card_button", "reassign_prompt", "reassign_to", "redirect_choose",
    "redirect_prompt", "redirect_reason_input", "redirect_reason_prompt", "refuse", "required_text", "setup",
    "show_appeal", "show_appeal_command", "show_full_text", "show_overdue", "show_preview", "show_queue", "take",
    "tell_citizen", "text_parts",
]


def setup(router: Router) -> None:
    operator = router.dialog(OPERATOR)
    operator.button("card", press_card_button)
    operator.button("done", answer_preview, {"answer"})
    operator.button("send", answer_send, {"answer_preview"})
    operator.button("redo", answer_restart, {"answer_preview"})
    operator.button("redirect_to", redirect_choose, {"redirect"})
    operator.button("extend_by", extend_choose, {"extend"})
    operator.button("reassign_to", reassign_to, {"reassign"})
    operator.state("answer", answer_input, answer_prompt)
    operator.state("answer_preview", hint_buttons, show_preview)
    operator.state("clarify", clarify_input, clarify_prompt)
    operator.state("clarify_preview", hint_buttons, clarify_preview)
    operator.button("clarify_send", clarify_send, {"clarify_preview"})
    operator.button("clarify_redo", clarify_restart, {"clarify_preview"})
    operator.state("redirect", hint_buttons, redirect_prompt)
    operator.state("redirect_reason", redirect_reason_input, redirect_reason_prompt)
    operator.state("extend", hint_buttons, extend_prompt)
    operator.state("extend_reason", extend_reason_input, extend_reason_prompt)
    operator.state("reassign", hint_buttons, reassign_prompt)
    operator.command("queue", show_queue)
    operator.command("appeal", show_appeal_command)
    operator.command("overdue", show_overdue)
