"""The protocol of a meeting as data: what the document holds, gathered by ``record`` from the rows and
written by the presenter (``bot.presenters.protocol_document``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Change:
    """An arrival or a departure between two items' votes (local time)."""

    name: str
    present: bool
    at: datetime


@dataclass(frozen=True)
class ItemRecord:
    """One agenda item: the vote's names per choice and the decision (``result`` None: not voted on)."""

    position: int
    title: str
    result: str | None = None
    votes_for: list[str] = field(default_factory=list)
    against: list[str] = field(default_factory=list)
    abstain: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    by_casting_vote: bool = False
    dissents: list[tuple[str, str]] = field(default_factory=list)  # (name, text)
    decision: str = ""
    speaker: str = ""
    counted: int = 0           # present when the vote opened (absentee: ballots cast)
    needed: int = 0            # For votes the majority needed
    presiding_choice: str = ""  # for / against, when the casting vote decided
    changes: list[Change] = field(default_factory=list)  # attendance changed before this item's vote


@dataclass(frozen=True)
class ProtocolRecord:
    group: str
    number: int
    format: str  # in_person, video, absentee
    starts_at: datetime  # local time of the region
    place: str
    presiding: str
    presiding_role: str
    secretary: str
    members: int
    needed: int
    present: list[str]
    absent: list[str]
    items: list[ItemRecord]
    guests: list[str] = field(default_factory=list)
    # (role key "presiding" / "secretary", name, approved at (local) or None while it waits)
    approvals: list[tuple[str, str, datetime | None]] = field(default_factory=list)

    @property
    def quorum(self) -> bool:
        return len(self.present) >= self.needed
