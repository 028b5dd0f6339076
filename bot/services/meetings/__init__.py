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

- use cases: ``membership``, ``scheduling`` (the draft, publishing, materials, answers to the notice),
  ``agenda`` (approval, changes, invited persons), ``attendance`` (the meeting itself), ``voting`` (votes
  and dissenting opinions), ``approval`` (drafting and signing the protocol), ``minutes`` (attendance
  marks, the protocol's record, sending back, copies, the public summary);
- scans: ``scans`` (``SCANS``, the timed work the scheduler runs, one transaction each);
- rendering: ``replies`` (texts and buttons owed to members), ``document`` (the protocol as DOCX);
- shared: ``common`` (codes, ``Refusal``, ``Office``), ``timing`` (pure date and forecast rules).

Every public name is re-exported here, so ``from bot.services import meetings`` and ``meetings.<name>``
keep working. Services flush; the caller commits.
"""

from __future__ import annotations

from bot.domain.meeting_rules import Tally, decide, has_quorum, presiding_of, quorum_needed
from bot.services.meetings import agenda, minutes
from bot.services.meetings.approval import advance_protocol, approve, approvers, protocol_dir
from bot.services.meetings.attendance import Roll, check_in, finish, roll, start, toggle_presence
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
    Office,
    Refusal,
)
from bot.services.meetings.membership import join, member_of, memberships, organizer_of, remove_member, set_full_name
from bot.services.meetings.replies import (
    agenda_text,
    approval_reply,
    ballot_reply,
    group_name,
    meeting_card,
    member_name,
    notice_reply,
    payload,
    protocol_file,
    result_text,
    rsvp_buttons,
)
from bot.services.meetings.scans import (
    SCANS,
    Sessionmaker,
    scan_materials,
    scan_member_reminders,
    scan_protocols,
    scan_quarter_reminders,
    scan_quorum_alerts,
    scan_votes,
)
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
    "SCANS",
    "TITLE_MAX",
    "VOTE_MINUTES",
    "WHEN_RE",
    "Cast",
    "Forecast",
    "Meeting",
    "MeetingDraft",
    "Office",
    "Refusal",
    "Roll",
    "Sessionmaker",
    "Tally",
    "add_material",
    "advance_protocol",
    "agenda",
    "agenda_text",
    "answer_notice",
    "approval_reply",
    "approve",
    "approvers",
    "at_local",
    "ballot_reply",
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
    "meeting_card",
    "member_name",
    "member_of",
    "memberships",
    "minutes",
    "notice_reply",
    "open_vote",
    "organizer_of",
    "parse_offset",
    "parse_when",
    "payload",
    "presiding_of",
    "protocol_dir",
    "protocol_due_day",
    "protocol_file",
    "quarter_of",
    "quarter_reminder_day",
    "quorum_forecast",
    "quorum_needed",
    "remove_member",
    "reschedule",
    "result_text",
    "roll",
    "rsvp_buttons",
    "scan_materials",
    "scan_member_reminders",
    "scan_protocols",
    "scan_quarter_reminders",
    "scan_quorum_alerts",
    "scan_votes",
    "schedule",
    "set_full_name",
    "start",
    "toggle_presence",
]
