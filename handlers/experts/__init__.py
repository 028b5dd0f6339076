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
from handlers.router import Router

__all__ = ["join_group", "meeting_of", "setup"]


def setup(router: Router) -> None:
    router.command("meetings", views.list_meetings)
    router.command("meeting", views.show_meeting)
    router.command("meeting_new", creation.new_meeting)
    router.button("mt_new", creation.new_meeting)
    router.button("mt_view", views.show_meeting)
    router.button("xname", members.keep_name, {"expert_name"})
    router.button("mt_group", creation.choose_group, {"mt_group"})
    router.button("mt_keep", creation.keep_when, {"mt_when_check"})
    router.button("mt_redo", creation.redo_when, {"mt_when_check"})
    router.button("mt_fmt", creation.choose_format, {"mt_format"})
    router.button("mt_done", creation.finish_agenda, {"mt_agenda"})
    router.button("mt_next", creation.next_materials, {"mt_materials"})
    router.button("mt_pub", creation.publish, {"mt_preview"})
    router.button("rsvp", notices.answer_notice)
    router.button("mt_move", notices.ask_reschedule)
    router.button("mt_drop", notices.ask_cancel)
    router.button("mt_drop_ok", notices.cancel_meeting)
    router.button("mt_mat", notices.add_materials)
    router.button("mt_start", notices.start_meeting)
    router.button("mt_att", notices.show_attendance)
    router.button("mt_mark", notices.toggle_presence)
    router.button("checkin", notices.check_in)
    router.button("vote_item", votes.choose_vote_item)
    router.button("vote_open", votes.choose_vote_duration)
    router.button("vote_go", votes.open_vote)
    router.button("ballot", votes.cast_ballot)
    router.button("vote_close", votes.close_vote)
    router.button("mt_finish", votes.finish_meeting)
    router.button("dissent", votes.ask_dissent)
    router.button("papprove", votes.approve_protocol)
    router.state("expert_name", members.enter_name, members.ask_name)
    router.state("mt_group", hint_buttons, creation.ask_group)
    router.state("mt_when", creation.enter_when, creation.ask_when)
    router.state("mt_when_check", hint_buttons, creation.ask_when_check)
    router.state("mt_format", hint_buttons, creation.ask_format)
    router.state("mt_place", creation.enter_place, creation.ask_place)
    router.state("mt_agenda", creation.enter_item, creation.ask_item)
    router.state("mt_materials", creation.enter_materials, creation.ask_materials)
    router.state("mt_preview", hint_buttons, creation.show_preview)
    router.state("mt_dissent", votes.enter_dissent, votes.ask_dissent_text)
    agenda.setup(router)
    minutes.setup(router)
