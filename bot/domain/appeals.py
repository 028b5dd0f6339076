"""An appeal's statuses and the one table of the changes allowed between them (DESIGN.md, lifecycle).

The values are the strings stored in ``appeals.status`` and ``appeal_events.status``: a
``StrEnum`` member equals its string, so rows written before the enum read back the same.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from bot.domain.errors import Refusal


class AppealStatus(StrEnum):
    REGISTERED = "registered"
    IN_WORK = "in_work"
    CLARIFICATION_REQUESTED = "clarification_requested"
    REOPENED = "reopened"
    ANSWERED = "answered"
    RATED = "rated"
    WITHDRAWN = "withdrawn"
    # Named by the status labels and the rating's refusal, but no change leads into it: a redirected
    # appeal is "registered" again at its new ministry (the redirect is an event).
    REDIRECTED = "redirected"


S = AppealStatus

# The ministry still owes an answer: queues, reminders, escalation, withdrawal.
OPEN = frozenset({S.REGISTERED, S.IN_WORK, S.CLARIFICATION_REQUESTED, S.REOPENED})
# An answer was given (and may be rated, or reopened when rated low).
ANSWERED = frozenset({S.ANSWERED, S.RATED})
# Nothing more will happen to it: personal data goes after the retention period.
CLOSED = frozenset({S.ANSWERED, S.RATED, S.WITHDRAWN})

# from -> the statuses it may change to. Open appeals may be redirected (back to "registered",
# also from "registered" itself), answered, asked to clarify (again, too) or withdrawn by the citizen.
TRANSITIONS: dict[AppealStatus, frozenset[AppealStatus]] = {
    S.REGISTERED: frozenset({S.REGISTERED, S.IN_WORK, S.CLARIFICATION_REQUESTED, S.ANSWERED, S.WITHDRAWN}),
    S.REOPENED: frozenset({S.REGISTERED, S.IN_WORK, S.CLARIFICATION_REQUESTED, S.ANSWERED, S.WITHDRAWN}),
    # "registered" also when the assignee leaves and hands it back to the ministry.
    S.IN_WORK: frozenset({S.REGISTERED, S.CLARIFICATION_REQUESTED, S.ANSWERED, S.WITHDRAWN}),
    # "in_work" when the citizen's clarification arrives.
    S.CLARIFICATION_REQUESTED: frozenset({S.REGISTERED, S.IN_WORK, S.CLARIFICATION_REQUESTED, S.ANSWERED,
                                          S.WITHDRAWN}),
    S.ANSWERED: frozenset({S.RATED, S.REOPENED}),
    # A rated answer stays rated when rated anew (its rating row gone) and may be reopened when rated low.
    S.RATED: frozenset({S.RATED, S.REOPENED}),
    S.WITHDRAWN: frozenset(),
    S.REDIRECTED: frozenset(),
}


class HasStatus(Protocol):
    number: str
    status: str


def may_move(current: str, to: AppealStatus) -> bool:
    return to in TRANSITIONS.get(current, frozenset())  # type: ignore[call-overload]


def move(appeal: HasStatus, to: AppealStatus) -> None:
    """Change the appeal's status, or refuse (``appeal.move_refused``) a change the table does not allow."""
    if not may_move(appeal.status, to):
        raise Refusal("appeal.move_refused", number=appeal.number)
    appeal.status = to.value
