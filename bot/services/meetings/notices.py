"""What the meeting services owe members, guests and officers: each notice says its kind and carries the
rows and figures it is about, no text. ``Office.tell`` has it worded (``bot.presenters.meetings``) in the
recipient's language and queued."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.events import Attachment
from bot.services.meetings.timing import Forecast
from storage.expert_models import AgendaItem, Meeting, Protocol, Vote


@dataclass(frozen=True)
class MeetingNotice:
    """The meeting's card under a header: ``kind`` new, moved (``old``: the former start), cancelled,
    reminder, changed (the agenda), guest (to an invited person). ``rsvp``: with the attendance buttons."""

    meeting: Meeting
    kind: str
    rsvp: bool = True
    old: datetime | None = None


@dataclass(frozen=True)
class AgendaForApproval:
    meeting: Meeting


@dataclass(frozen=True)
class AgendaReturned:
    meeting: Meeting
    comment: str


@dataclass(frozen=True)
class MeetingStarted:
    meeting: Meeting


@dataclass(frozen=True)
class Materials:
    meeting: Meeting
    files: Sequence[Attachment]


@dataclass(frozen=True)
class MaterialsMissing:
    """To the secretary: items without materials, ``days`` working days before they are due out."""

    meeting: Meeting
    items: Sequence[AgendaItem]
    days: int


@dataclass(frozen=True)
class QuorumAlert:
    meeting: Meeting
    outlook: Forecast


@dataclass(frozen=True)
class QuarterReminder:
    group_id: str
    quarter: int
    year: int
    end: date


@dataclass(frozen=True)
class BallotNotice:
    """A ballot (``reminder``: one not yet cast, as an absentee vote's deadline nears)."""

    meeting: Meeting
    item: AgendaItem
    vote: Vote
    reminder: bool = False


@dataclass(frozen=True)
class VoteResult:
    """The result with names per choice and the rule that decided; ``dissent_hours`` > 0: this member may
    state a dissenting opinion within that many hours."""

    meeting: Meeting
    item: AgendaItem
    vote: Vote
    names: dict[str, list[str]]
    presiding: str
    presiding_choice: str | None
    dissent_hours: int = 0


@dataclass(frozen=True)
class Overdue:
    """The protocol's term: ``due`` day, ``days`` working days after the meeting, ``late`` working days past it."""

    due: date
    today: date
    late: int
    days: int


@dataclass(frozen=True)
class ProtocolForApproval:
    """The draft with the approve / send back buttons (``overdue``: a reminder once the term has come)."""

    meeting: Meeting
    protocol: Protocol
    overdue: Overdue | None = None


@dataclass(frozen=True)
class ProtocolReturned:
    """The draft was sent back by ``by`` with a comment; ``correct``: to the secretary, who corrects it."""

    protocol: Protocol
    by: str
    comment: str
    correct: bool


@dataclass(frozen=True)
class CorrectionReminder:
    protocol: Protocol
    overdue: Overdue


@dataclass(frozen=True)
class ProtocolCopy:
    meeting: Meeting
    protocol: Protocol


Notice = (MeetingNotice | AgendaForApproval | AgendaReturned | MeetingStarted | Materials | MaterialsMissing
          | QuorumAlert | QuarterReminder | BallotNotice | VoteResult | ProtocolForApproval | ProtocolReturned
          | CorrectionReminder | ProtocolCopy)
