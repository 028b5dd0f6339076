"""The expert group: membership, meetings, attendance, votes, dissenting opinions, protocols, timed notices.

The rules come from two regulations; every number is a per-group setting (`[groups.<id>]`):

- Положение о региональной экспертной группе НСИ: meetings at least once a quarter; materials reach
  members at least 2 working days before; quorum one third of the membership; decisions by simple
  majority of the members present, the presiding member's vote decides a tie; the protocol is signed
  within 3 working days and sent within 5 working days of signing.
- Положение о межведомственной рабочей группе: agenda at least 3 working days before; quorum one half;
  open vote; a member who disagrees may state a dissenting opinion in writing, which goes into the
  protocol; protocol within 5 working days.

The pure voting and attendance rules live in ``bot.domain.meeting_rules``. This package, by what each part is:

- use cases: ``membership``, ``scheduling`` (the draft, publishing, answers to the notice, moving,
  cancelling), ``agenda`` (approval, changes, invited persons), ``attendance`` (the meeting itself),
  ``voting`` (votes and dissenting opinions), ``approval`` (drafting and signing the protocol), ``minutes``
  (sending back, correcting, the public summary's outcomes);
- beneath them: ``presence`` (the roll, attendance marks), ``materials`` (sending materials), ``record``
  (the protocol's record, writing it, copies, dissent still to come), ``document`` (the record's shape);
- what is owed: ``notices`` (typed notices, no text; ``Office.tell`` has them worded by the ``Wording``
  it was given: ``bot.presenters.meetings``);
- shared: ``common`` (codes, ``Refusal``, ``Office``, names), ``timing`` (pure date and forecast rules).

The timed work the scheduler runs is ``bot.scans.meetings``.

Every public name is re-exported here, so ``from bot.services import meetings`` and ``meetings.<name>``
keep working. Services flush; the caller commits.
"""

from __future__ import annotations

from bot.domain.meeting_rules import Tally, decide, has_quorum, presiding_of, quorum_needed
from bot.services.meetings import agenda, minutes
from bot.services.meetings.approval import advance_protocol, approve
from bot.services.meetings.attendance import check_in, finish, start, toggle_presence
from bot.services.meetings.common import (
    ANSWERS,
    CHOICES,
    FORMATS,
    NAME_MAX,
    NAME_MIN,
    ORGANIZERS,
    ROLES,
    TITLE_MAX,
    VOTE_MINUTES,
    Key,
    Office,
    Refusal,
    Wording,
    group_name,
    member_name,
)
from bot.services.meetings.membership import join, member_of, memberships, organizer_of, remove_member, set_full_name
from bot.services.meetings.notices import Notice
from bot.services.meetings.presence import Roll, roll
from bot.services.meetings.record import approvers, protocol_dir
from bot.services.meetings.scheduling import (
    MeetingDraft,
    add_material,
    answer_notice,
    cancel,
    check_when,
    quorum_forecast,
    reschedule,
    schedule,
)
from bot.services.meetings.timing import (
    ISO_WHEN_RE,
    OFFSET_RE,
    WHEN_RE,
    Forecast,
    at_local,
    forecast,
    local_day,
    materials_days,
    parse_offset,
    parse_when,
    protocol_due_day,
    quarter_of,
    quarter_reminder_day,
)
from bot.services.meetings.voting import (
    Cast,
    cast,
    close_by_presiding,
    close_vote,
    file_dissent,
    may_dissent,
    open_vote,
)
from storage.expert_models import Meeting

__all__ = [
    "ANSWERS",
    "CHOICES",
    "FORMATS",
    "ISO_WHEN_RE",
    "NAME_MAX",
    "NAME_MIN",
    "OFFSET_RE",
    "ORGANIZERS",
    "ROLES",
    "TITLE_MAX",
    "VOTE_MINUTES",
    "WHEN_RE",
    "Cast",
    "Forecast",
    "Key",
    "Meeting",
    "MeetingDraft",
    "Notice",
    "Office",
    "Refusal",
    "Roll",
    "Tally",
    "Wording",
    "add_material",
    "advance_protocol",
    "agenda",
    "answer_notice",
    "approve",
    "approvers",
    "at_local",
    "cancel",
    "cast",
    "check_in",
    "check_when",
    "close_by_presiding",
    "close_vote",
    "decide",
    "file_dissent",
    "finish",
    "forecast",
    "group_name",
    "has_quorum",
    "join",
    "local_day",
    "materials_days",
    "may_dissent",
    "member_name",
    "member_of",
    "memberships",
    "minutes",
    "open_vote",
    "organizer_of",
    "parse_offset",
    "parse_when",
    "presiding_of",
    "protocol_dir",
    "protocol_due_day",
    "quarter_of",
    "quarter_reminder_day",
    "quorum_forecast",
    "quorum_needed",
    "remove_member",
    "reschedule",
    "roll",
    "schedule",
    "set_full_name",
    "start",
    "toggle_presence",
]
