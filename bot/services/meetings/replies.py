"""Texts and buttons the meeting services send to members: built here, not in handlers, because
the scans send them too and a service must not import handlers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.config import Settings
from bot.events import Attachment, Button, Reply
from bot.i18n import translator
from bot.payloads import make
from bot.services.meetings.common import CHOICES
from storage.expert_models import AgendaItem, GroupMember, Meeting, Protocol, Vote
from storage.models import User

payload = make  # the one codec (bot/payloads.py), under the name the meeting modules use


def group_name(settings: Settings, group_id: str, language: str) -> str:
    group = settings.groups.get(group_id)
    if group is None:
        return group_id
    return group.name_en if language == "en" and group.name_en else group.name


def member_name(member: GroupMember | None, user: User | None = None) -> str:
    if member is not None and member.full_name:
        return member.full_name
    person = user or (member.user if member is not None else None)
    if person is not None and person.display_name:
        return person.display_name
    return f"#{person.id}" if person is not None else "—"


def _date(settings: Settings, moment: datetime) -> str:
    return moment.astimezone(settings.region.zone).strftime("%d.%m.%Y")


def _time(settings: Settings, moment: datetime) -> str:
    return moment.astimezone(settings.region.zone).strftime("%H:%M")


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
    t = translator(language)
    return t(f"meeting.card_{meeting.format}", group=group_name(settings, meeting.group_id, language),
             date=_date(settings, meeting.starts_at), time=_time(settings, meeting.starts_at), place=meeting.place,
             agenda=agenda_text(language, meeting.items))


def rsvp_buttons(language: str, meeting: Meeting) -> list[list[Button]]:
    t = translator(language)
    return [[Button(t("meeting.rsvp_yes"), payload("rsvp", meeting.id, "y")),
             Button(t("meeting.rsvp_no"), payload("rsvp", meeting.id, "n")),
             Button(t("meeting.rsvp_maybe"), payload("rsvp", meeting.id, "m"))]]


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


def ballot_reply(settings: Settings, language: str, meeting: Meeting, item: AgendaItem, vote: Vote,
                 choice: str | None = None, header: str = "vote.ballot") -> Reply:
    t = translator(language)
    deadline = (t("vote.closes_at", date=_date(settings, vote.closes_at), time=_time(settings, vote.closes_at))
                if vote.closes_at is not None else t("vote.closes_by_presiding"))
    text = t(header, group=group_name(settings, meeting.group_id, language), n=item.position, item=item.title,
             deadline=deadline)
    if item.decision:
        text += "\n\n" + t("vote.ballot_decision", decision=item.decision)
    if choice is not None:
        text += "\n\n" + t("vote.your_choice", choice=t(f"vote.choice_{choice}"))
    buttons = [[Button(t(f"vote.button_{code}"), payload("ballot", vote.id, code)) for code in CHOICES]]
    return Reply(text=text, buttons=buttons)


def _names_by_choice(members: Sequence[GroupMember], choices: dict[int, str | None]) -> dict[str, list[str]]:
    named: dict[str, list[str]] = {"for": [], "against": [], "abstain": [], "none": []}
    for member in members:
        if member.user_id in choices:
            named[choices[member.user_id] or "none"].append(member_name(member))
    return named


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


def protocol_file(settings: Settings, meeting: Meeting, protocol: Protocol) -> Attachment:
    name = translator("ru")("protocol.file_name", number=protocol.number, date=_date(settings, meeting.starts_at))
    return Attachment(kind="document", ref=str(protocol.path), channel="local", name=name)


def approval_reply(settings: Settings, language: str, meeting: Meeting, protocol: Protocol) -> Reply:
    t = translator(language)
    return Reply(text=t("protocol.for_approval", group=group_name(settings, meeting.group_id, language),
                        date=_date(settings, meeting.starts_at)),
                 buttons=[[Button(t("protocol.approve_button"), payload("papprove", protocol.id)),
                           Button(t("protocol.return_button"), payload("pback", protocol.id))]],
                 attachments=[protocol_file(settings, meeting, protocol)])
