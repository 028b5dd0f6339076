"""Dialog states stored by the release before namespaced dialogs, and the states they continue as.

A conversation saved mid-dialog by that release (its state "name", "op_answer", ...) continues after the
upgrade where it stopped: ``upgrade`` renames the state when the conversation is loaded. The buttons of that
release's messages carry payload version 1 and get the polite stale answer instead. This table can go once no
conversation of that release is left (retention drops abandoned dialogs after its period).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import flag_modified

from storage.models import Conversation

LEGACY_STATES = {
    # citizen's appeal (handlers/citizen)
    "consent": "appeal.consent", "name": "appeal.name", "phone": "appeal.phone", "sector": "appeal.sector",
    "category": "appeal.category", "text": "appeal.text", "attachments": "appeal.attachments",
    "address": "appeal.address", "confirm": "appeal.confirm", "edit": "appeal.edit",
    # follow-ups and the reply to a ministry's question (handlers/followups.py)
    "followup_pick": "followup.pick", "followup_about": "followup.about", "clarification": "followup.clarification",
    "rating_comment": "rating.comment",
    "staff_name": "staff.name",
    # the operator's work on an appeal (handlers/operator)
    "op_answer": "operator.answer", "op_answer_preview": "operator.answer_preview",
    "op_clarify": "operator.clarify", "op_clarify_preview": "operator.clarify_preview",
    "op_redirect": "operator.redirect", "op_redirect_reason": "operator.redirect_reason",
    "op_extend": "operator.extend", "op_extend_reason": "operator.extend_reason", "op_reassign": "operator.reassign",
    # meetings of the expert groups (handlers/experts)
    "expert_name": "meeting.expert_name", "mt_group": "meeting.group", "mt_when": "meeting.when",
    "mt_when_check": "meeting.when_check", "mt_format": "meeting.format", "mt_place": "meeting.place",
    "mt_agenda": "meeting.agenda", "mt_materials": "meeting.materials", "mt_preview": "meeting.preview",
    "mt_dissent": "meeting.dissent",
    "mt_decision": "agenda.decision", "mt_dfield": "agenda.draft_field", "ag_comment": "agenda.comment",
    "ag_field": "agenda.field", "ag_new_title": "agenda.new_title", "ag_new_decision": "agenda.new_decision",
    "guest_name": "agenda.guest_name",
    "prot_comment": "minutes.comment",
}
# States kept inside the dialog's data, to return to: (key, key of the state within it).
NESTED_STATES = (("resume", "state"), ("rating_step", "back"))


def upgrade(conversation: Conversation) -> None:
    """The conversation's state (and the states its data returns to) under today's names."""
    state = LEGACY_STATES.get(conversation.state)
    data: dict[str, Any] = dict(conversation.data or {})
    nested = False
    for key, inner in NESTED_STATES:
        kept = data.get(key)
        if isinstance(kept, dict) and kept.get(inner) in LEGACY_STATES:
            data[key] = {**kept, inner: LEGACY_STATES[kept[inner]]}
            nested = True
    if state is None and not nested:
        return
    if state is not None:
        conversation.state = state
    if nested:
        conversation.data = data
        flag_modified(conversation, "data")
    # The conversation's own clock stays: the column's wall-clock onupdate must not replace it (retention).
    conversation.updated_at = conversation.updated_at
    flag_modified(conversation, "updated_at")
