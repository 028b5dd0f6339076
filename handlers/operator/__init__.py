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
from handlers.router import Router

__all__ = [
    "ACTIONS", "NUMBER_RE", "RATING_SCORES", "TEXT_PART", "answer_input", "answer_preview",
    "answer_prompt", "answer_restart", "answer_send", "cancel_row", "clarify_input", "clarify_preview",
    "clarify_prompt", "clarify_restart", "clarify_send", "continue_in_private", "duration_words", "extend_choose",
    "extend_prompt", "extend_reason_input", "extend_reason_prompt", "find_appeal", "find_scope", "hint_buttons",
    "notify_ministry", "parse_number", "press_card_button", "reassign_prompt", "reassign_to", "redirect_choose",
    "redirect_prompt", "redirect_reason_input", "redirect_reason_prompt", "refuse", "required_text", "setup",
    "show_appeal", "show_appeal_command", "show_full_text", "show_overdue", "show_preview", "show_queue", "take",
    "tell_citizen", "text_parts",
]


def setup(router: Router) -> None:
    router.button("op", press_card_button)
    router.button("opdone", answer_preview, {"op_answer"})
    router.button("opsend", answer_send, {"op_answer_preview"})
    router.button("opredo", answer_restart, {"op_answer_preview"})
    router.button("rto", redirect_choose, {"op_redirect"})
    router.button("xdays", extend_choose, {"op_extend"})
    router.button("reas", reassign_to, {"op_reassign"})
    router.state("op_answer", answer_input, answer_prompt)
    router.state("op_answer_preview", hint_buttons, show_preview)
    router.state("op_clarify", clarify_input, clarify_prompt)
    router.state("op_clarify_preview", hint_buttons, clarify_preview)
    router.button("opclsend", clarify_send, {"op_clarify_preview"})
    router.button("opclredo", clarify_restart, {"op_clarify_preview"})
    router.state("op_redirect", hint_buttons, redirect_prompt)
    router.state("op_redirect_reason", redirect_reason_input, redirect_reason_prompt)
    router.state("op_extend", hint_buttons, extend_prompt)
    router.state("op_extend_reason", extend_reason_input, extend_reason_prompt)
    router.state("op_reassign", hint_buttons, reassign_prompt)
    router.command("queue", show_queue)
    router.command("appeal", show_appeal_command)
    router.command("overdue", show_overdue)
