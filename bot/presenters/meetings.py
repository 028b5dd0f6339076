"""What the expert group's meeting services owe people, worded: meeting notices with the attendance
buttons, ballots and results, the protocol for approval and its copies, reminders, the public summary.

``WORDING`` is what a unit of work (``bot.services.meetings.Office``) is given to word the notices it
queues (``bot.services.meetings.notices``) and to write the protocol (``protocol_document``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.domain import meeting_rules as rules
from bot.events import Attachment, Button, Reply
from bot.i18n import Translator, translator
from bot.payloads import make
from bot.presenters import dates, protocol_document
from bot.services.meetings.common import CHOICES, group_name
from bot.services.meetings.document import ProtocolRecord
from bot.services.meetings.notices import (
    AgendaForApproval,
    AgendaReturned,
    BallotNotice,
    CorrectionReminder,
    Materials,
    MaterialsMissing,
    MeetingNotice,
    MeetingStarted,
    Notice,
    Overdue,
    ProtocolCopy,
    ProtocolForApproval,
    ProtocolReturned,
    QuarterReminder,
    QuorumAlert,
    VoteResult,
)
from storage.expert_models import AgendaItem, Meeting, Protocol, Vote

HEADERS = {"new": "meeting.notice_new", "moved": "meeting.notice_moved", "cancelled": "meeting.notice_cancelled",
           "reminder": "meeting.reminder", "changed": "agenda.changed", "guest": "guest.notice"}


def _date(settings: Settings, moment: datetime) -> str:
    return dates.day(moment, settings.region.zone)


def agenda_text(language: str, items: Sequence[AgendaItem]) -> str:
    t = translator(language)
    lines = []
    for item in items:
        lines.append(t("meeting.agenda_line", n=item.position, title=item.title))
        if item.speaker:
            lines.append(t("agenda.speaker_line", name=item.speaker))
        if item.decision:
            lines.append(t("agenda.decision_line", decision=item.decision))
    return "\n".join(lines)


def meeting_card(settings: Settings, language: str, meeting: Meeting) -> str:
    """Date, time, place and agenda in the message itself: a notice must be readable without opening anything."""
    t, zone = translator(language), settings.region.zone
    return t(f"meeting.card_{meeting.format}", group=group_name(settings, meeting.group_id, language),
             date=dates.day(meeting.starts_at, zone), time=dates.clock(meeting.starts_at, zone), place=meeting.place,
             agenda=agenda_text(language, meeting.items))


def rsvp_buttons(language: str, meeting: Meeting) -> list[list[Button]]:
    t = translator(language)
    return [[Button(t("meeting.rsvp_yes"), make("rsvp", meeting.id, "y")),
             Button(t("meeting.rsvp_no"), make("rsvp", meeting.id, "n")),
             Button(t("meeting.rsvp_maybe"), make("rsvp", meeting.id, "m"))]]


def notice_reply(settings: Settings, language: str, meeting: Meeting, header: str, answer: str | None = None,
                 **params: object) -> Reply:
    """A meeting notice with the attendance buttons (none for an absentee vote: its ballots follow)."""
    t = translator(language)
    if meeting.format == "absentee" and header in ("meeting.notice_new", "meeting.reminder"):
        header = f"{header}_absentee"  # an absentee vote is announced as a vote, not a meeting
    parts = [t(header, **params), meeting_card(settings, language, meeting)]
    if answer is not None:
        parts.append(t("meeting.your_answer", answer=t(f"meeting.answer_{answer}")))
    buttons = [] if meeting.format == "absentee" else rsvp_buttons(language, meeting)
    return Reply(text="\n\n".join(parts), buttons=buttons)


def meeting_notice(settings: Settings, language: str, notice: MeetingNotice) -> Reply:
    params = {}
    if notice.old is not None:
        params["old"] = dates.day_time(notice.old, settings.region.zone)
    reply = notice_reply(settings, language, notice.meeting, HEADERS[notice.kind], **params)
    if not notice.rsvp:
        reply.buttons = []
    return reply


def ballot_reply(settings: Settings, language: str, meeting: Meeting, item: AgendaItem, vote: Vote,
                 choice: str | None = None, header: str = "vote.ballot") -> Reply:
    t, zone = translator(language), settings.region.zone
    deadline = (t("vote.closes_at", date=dates.day(vote.closes_at, zone), time=dates.clock(vote.closes_at, zone))
                if vote.closes_at is not None else t("vote.closes_by_presiding"))
    text = t(header, group=group_name(settings, meeting.group_id, language), n=item.position, item=item.title,
             deadline=deadline)
    if item.decision:
        text += "\n\n" + t("vote.ballot_decision", decision=item.decision)
    if choice is not None:
        text += "\n\n" + t("vote.your_choice", choice=t(f"vote.choice_{choice}"))
    buttons = [[Button(t(f"vote.button_{code}"), make("ballot", vote.id, code)) for code in CHOICES]]
    return Reply(text=text, buttons=buttons)


def result_text(settings: Settings, language: str, meeting: Meeting, item: AgendaItem, vote: Vote,
                names: dict[str, list[str]]) -> str:
    t = translator(language)
    dash = "—"
    text = t("vote.result", group=group_name(settings, meeting.group_id, language), n=item.position,
             item=item.title + ("\n" + t("vote.ballot_decision", decision=item.decision) if item.decision else ""),
             votes_for=vote.votes_for, against=vote.votes_against, abstain=vote.votes_abstain,
             for_names=", ".join(names["for"]) or dash, against_names=", ".join(names["against"]) or dash,
             abstain_names=", ".join(names["abstain"]) or dash, decision=t(f"vote.decision_{vote.result}"))
    if names["none"] and not vote.absentee:
        text += "\n" + t("vote.result_silent", count=len(names["none"]), names=", ".join(names["none"]))
    return text


def explanation(t: Translator, vote: Vote, presiding: str, presiding_choice: str | None) -> str:
    """Which rule decided: "Решение принимается большинством голосов присутствующих: нужно 3 из 5, «за» — 2"
    and, on a tie, that the presiding member's vote decided."""
    if vote.result == "no_quorum":
        return ""
    key = "vote.rule_majority_absentee" if vote.absentee else "vote.rule_majority"
    lines = [t(key, needed=rules.majority_needed(vote.counted), counted=vote.counted, votes_for=vote.votes_for)]
    if vote.by_casting_vote:
        lines.append(t("vote.rule_casting", votes_for=vote.votes_for, against=vote.votes_against, name=presiding,
                       choice=t(f"vote.choice_{presiding_choice or 'for'}")))
    return "\n".join(lines)


def vote_result(settings: Settings, language: str, notice: VoteResult) -> Reply:
    t = translator(language)
    text = result_text(settings, language, notice.meeting, notice.item, notice.vote, notice.names)
    rule = explanation(t, notice.vote, notice.presiding, notice.presiding_choice)
    reply = Reply(text=text + ("\n\n" + rule if rule else ""))
    if notice.dissent_hours > 0:
        reply.text += "\n\n" + t("vote.dissent_offer", hours=notice.dissent_hours)
        reply.buttons = [[Button(t("vote.dissent_button"), make("dissent", notice.vote.id)),
                          Button(t("vote.dissent_decline_button"), make("nodissent", notice.vote.id))]]
    return reply


def protocol_file(settings: Settings, meeting: Meeting, protocol: Protocol) -> Attachment:
    name = translator("ru")("protocol.file_name", number=protocol.number, date=_date(settings, meeting.starts_at))
    return Attachment(kind="document", ref=str(protocol.path), channel="local", name=name)


def approval_reply(settings: Settings, language: str, meeting: Meeting, protocol: Protocol) -> Reply:
    t = translator(language)
    return Reply(text=t("protocol.for_approval", group=group_name(settings, meeting.group_id, language),
                        date=_date(settings, meeting.starts_at)),
                 buttons=[[Button(t("protocol.approve_button"), make("papprove", protocol.id)),
                           Button(t("protocol.return_button"), make("pback", protocol.id))]],
                 attachments=[protocol_file(settings, meeting, protocol)])


def overdue_note(t: Translator, overdue: Overdue) -> str:
    if overdue.today <= overdue.due:
        return t("protocol.sign_due", due=dates.day(overdue.due), days=overdue.days)
    return t("protocol.reminder_overdue", due=dates.day(overdue.due), days=overdue.days, late=overdue.late)


def materials_reply(settings: Settings, language: str, notice: Materials) -> Reply:
    t = translator(language)
    return Reply(text=t("meeting.materials", group=group_name(settings, notice.meeting.group_id, language),
                        date=_date(settings, notice.meeting.starts_at), count=len(notice.files)),
                 attachments=list(notice.files))


def public_summary(settings: Settings, language: str, meeting: Meeting,
                   outcomes: Sequence[tuple[AgendaItem, str]]) -> str:
    """Date, agenda and decisions, no names: what the region's website publishes after a meeting."""
    t = translator(language)
    lines = [t("summary.title", group=group_name(settings, meeting.group_id, language),
               date=_date(settings, meeting.starts_at), format=t(f"protocol.doc_format_{meeting.format}"))]
    for item, outcome in outcomes:
        worded = t("summary.adopted", decision=item.decision) if outcome == "adopted" else t(f"summary.{outcome}")
        lines.append(t("summary.item", n=item.position, title=item.title, outcome=worded))
    return "\n\n".join(lines)


def word(settings: Settings, language: str, notice: Notice) -> Reply:
    """A notice as the message its recipient gets, in their language."""
    t = translator(language)
    match notice:
        case MeetingNotice():
            return meeting_notice(settings, language, notice)
        case AgendaForApproval(meeting=meeting):
            return Reply(text="\n\n".join([t("agenda.for_approval"), meeting_card(settings, language, meeting)]),
                         buttons=[[Button(t("agenda.approve_button"), make("ag_ok", meeting.id)),
                                   Button(t("agenda.return_button"), make("ag_back", meeting.id))]])
        case AgendaReturned(meeting=meeting, comment=comment):
            return Reply(text=t("agenda.returned", id=meeting.id, comment=comment),
                         buttons=[[Button(t("meeting.open_button"), make("mt_view", meeting.id))]])
        case MeetingStarted(meeting=meeting):
            return Reply(text=t("meeting.started", group=group_name(settings, meeting.group_id, language)),
                         buttons=[[Button(t("meeting.checkin_button"), make("checkin", meeting.id))]])
        case Materials():
            return materials_reply(settings, language, notice)
        case MaterialsMissing(meeting=meeting, items=items, days=days):
            return Reply(text=t("meeting.materials_missing", date=_date(settings, meeting.starts_at),
                                items=agenda_text(language, items), days=days),
                         buttons=[[Button(t("meeting.add_materials_button"), make("mt_mat", meeting.id))]])
        case QuorumAlert(meeting=meeting, outlook=outlook):
            return Reply(text=t("meeting.quorum_alert", date=_date(settings, meeting.starts_at), yes=outlook.yes,
                                maybe=outlook.maybe, needed=outlook.needed, members=outlook.members),
                         buttons=[[Button(t("meeting.open_button"), make("mt_view", meeting.id))]])
        case QuarterReminder():
            return Reply(text=t("meeting.quarter_reminder", group=group_name(settings, notice.group_id, language),
                                quarter=notice.quarter, year=notice.year, end=dates.day(notice.end)),
                         buttons=[[Button(t("meeting.new_button"), make("mt_new"))]])
        case BallotNotice(meeting=meeting, item=item, vote=vote, reminder=reminder):
            return ballot_reply(settings, language, meeting, item, vote,
                                header="vote.reminder" if reminder else "vote.ballot")
        case VoteResult():
            return vote_result(settings, language, notice)
        case ProtocolForApproval(meeting=meeting, protocol=protocol, overdue=overdue):
            reply = approval_reply(settings, language, meeting, protocol)
            if overdue is not None:
                reply.text = overdue_note(t, overdue) + "\n\n" + reply.text
            return reply
        case ProtocolReturned(protocol=protocol):
            buttons = ([[Button(t("protocol.correct_button"), make("pfix", protocol.id))]]
                       if notice.correct else [])
            return Reply(text=t("protocol.returned", number=protocol.number, name=notice.by,
                                comment=notice.comment), buttons=buttons)
        case CorrectionReminder(protocol=protocol, overdue=overdue):
            return Reply(text="\n\n".join([overdue_note(t, overdue), t("protocol.returned_pending",
                                                                      number=protocol.number,
                                                                      comment=protocol.return_comment)]),
                         buttons=[[Button(t("protocol.correct_button"), make("pfix", protocol.id))]])
        case ProtocolCopy(meeting=meeting, protocol=protocol):
            return Reply(text=t("protocol.sent", group=group_name(settings, meeting.group_id, language),
                                date=_date(settings, meeting.starts_at), number=protocol.number),
                         attachments=[protocol_file(settings, meeting, protocol)])
    raise TypeError(f"no wording for {type(notice).__name__}")


class MeetingWording:
    """The presenter a meeting unit of work is given (``Office(..., words=WORDING)``)."""

    def notice(self, settings: Settings, language: str, notice: Notice) -> Reply:
        return word(settings, language, notice)

    def protocol(self, record: ProtocolRecord, path: Path) -> Path:
        return protocol_document.render(record, path)


WORDING = MeetingWording()
