"""The expert group's conversations: joining, scheduling a meeting, answering the notice, the meeting
itself (attendance, votes), dissenting opinions and signing the protocol.

Every press is checked by the service against the presser's membership and role and the meeting's or
vote's current state; a refusal is shown politely and changes nothing.

By part: ``members`` (joining, names), ``views`` (lists, the meeting's card), ``creation`` (the secretary's
dialog), ``notices`` (answers, changes, attendance), ``votes`` (votes, dissent, signing), ``agenda`` and
``minutes`` (the agenda's and the protocol's later conversations), ``base`` (what they share).
"""

from __future__ import annotations

from handlers.citizen import hint_buttons
from handlers.experts import agenda, creation, members, minutes, notices, views, votes
from handlers.experts.base import meeting_of
from handlers.experts.members import join_group
from handlers.router import Dialog, Router

MEETING = Dialog("meeting")

__all__ = ["join_group", "meeting_of", "setup"]


def setup(router: Router) -> None:
    meeting = router.dialog(MEETING)
    meeting.command("meetings", views.list_meetings)
    meeting.command("meeting", views.show_meeting)
    meeting.command("meeting_new", creation.new_meeting)
    meeting.button("new", creation.new_meeting)
    meeting.button("view", views.show_meeting)
    meeting.button("keep_name", members.keep_name, {"expert_name"})
    meeting.button("group", creation.choose_group, {"group"})
    meeting.button("keep_when", creation.keep_when, {"when_check"})
    meeting.button("redo_when", creation.redo_when, {"when_check"})
    meeting.button("format", creation.choose_format, {"format"})
    meeting.button("agenda_done", creation.finish_agenda, {"agenda"})
    meeting.button("next_material", creation.next_materials, {"materials"})
    meeting.button("publish", creation.publish, {"preview"})
    meeting.button("rsvp", notices.answer_notice)
    meeting.button("move", notices.ask_reschedule)
    meeting.button("cancel", notices.ask_cancel)
    meeting.button("cancel_ok", notices.cancel_meeting)
    meeting.button("materials", notices.add_materials)
    meeting.button("start", notices.start_meeting)
    meeting.button("attendance", notices.show_attendance)
    meeting.button("mark", notices.toggle_presence)
    meeting.button("checkin", notices.check_in)
    meeting.button("vote_item", votes.choose_vote_item)
    meeting.button("vote_open", votes.choose_vote_duration)
    meeting.button("vote_go", votes.open_vote)
    meeting.button("ballot", votes.cast_ballot)
    meeting.button("vote_close", votes.close_vote)
    meeting.button("finish", votes.finish_meeting)
    meeting.button("dissent", votes.ask_dissent)
    meeting.button("protocol_ok", votes.approve_protocol)
    meeting.state("expert_name", members.enter_name, members.ask_name)
    meeting.state("group", hint_buttons, creation.ask_group)
    meeting.state("when", creation.enter_when, creation.ask_when)
    meeting.state("when_check", hint_buttons, creation.ask_when_check)
    meeting.state("format", hint_buttons, creation.ask_format)
    meeting.state("place", creation.enter_place, creation.ask_place)
    meeting.state("agenda", creation.enter_item, creation.ask_item)
    meeting.state("materials", creation.enter_materials, creation.ask_materials)
    meeting.state("preview", hint_buttons, creation.show_preview)
    meeting.state("dissent", votes.enter_dissent, votes.ask_dissent_text)
    agenda.setup(router)
    minutes.setup(router)
