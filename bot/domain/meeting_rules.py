"""The meeting's rules as pure functions: quorum, majority, ties, attendance over time, dissent offers.

No database, no messenger, no text: values in, values out, ``now`` passed in. The regulations:

- Положение о РЭГ НСИ: quorum one third; decisions by simple majority of the members present; on a tie
  the presiding member's vote decides.
- Положение о межведомственной рабочей группе: quorum one half; a member who disagrees with an adopted
  decision may state a dissenting opinion in writing (п. 17), annexed to the protocol.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal
from urllib.parse import urlsplit

TieRule = Literal["voted", "all_present"]
URL_RE = re.compile(r"^https?://\S+$", re.IGNORECASE)


def as_fraction(value: float | str | Fraction) -> Fraction:
    """0.3333333333 from a config file is one third: exact arithmetic keeps 10 × 1/3 from becoming 3.0000001."""
    return Fraction(value).limit_denominator(1000)


def quorum_needed(members: int, fraction: float | str | Fraction) -> int:
    """The members who must be present: ceil(fraction × membership), at least one.

    НСИ: one third — 10 members need 4 (3 is fewer than a third); working group: one half — 10 need 5.
    """
    return max(1, math.ceil(as_fraction(fraction) * members))


def has_quorum(present: int, members: int, fraction: float | str | Fraction) -> bool:
    return present >= quorum_needed(members, fraction)


def majority_needed(counted: int) -> int:
    """More than half of ``counted``: 3 of 5, 3 of 4, 1 of 1 (0 of nobody: nothing can pass)."""
    return counted // 2 + 1 if counted > 0 else 1


@dataclass(frozen=True)
class Tally:
    votes_for: int = 0
    against: int = 0
    abstain: int = 0

    @classmethod
    def of(cls, choices: Iterable[str | None]) -> Tally:
        listed = list(choices)
        return cls(listed.count("for"), listed.count("against"), listed.count("abstain"))

    @property
    def cast(self) -> int:
        return self.votes_for + self.against + self.abstain


@dataclass(frozen=True)
class Decision:
    adopted: bool
    by_casting_vote: bool = False
    needed: int = 0
    tie: bool = False


def is_tie(tally: Tally, counted: int, rule: TieRule = "voted") -> bool:
    """As many For as Against among those who voted (abstentions and silence aside); with the stricter
    ``all_present`` reading, only when everyone counted voted For or Against. Nobody For: no tie."""
    if tally.votes_for == 0 or tally.votes_for != tally.against:
        return False
    return rule == "voted" or tally.votes_for + tally.against == counted


def decide(tally: Tally, counted: int, presiding_choice: str | None, casting_vote: bool = True,
           tie_rule: TieRule = "voted") -> Decision:
    """Adopted when For is more than half of ``counted`` (the members present when the vote opened, or the
    ballots cast in an absentee vote). On a tie the presiding member's vote decides whichever side it is on
    (if they voted For or Against and the group gives them a casting vote)."""
    needed = majority_needed(counted)
    tie = is_tie(tally, counted, tie_rule)
    if tally.votes_for >= needed and counted > 0:
        return Decision(True, needed=needed, tie=tie)
    if tie and casting_vote and presiding_choice in ("for", "against"):
        return Decision(presiding_choice == "for", by_casting_vote=True, needed=needed, tie=True)
    return Decision(False, needed=needed, tie=tie)


def presiding_of(present: Iterable[tuple[int, str]]) -> int | None:
    """Who presides among those present (user id, role): the chair, or, when the chair is absent, the deputy."""
    roles = dict(present)
    for wanted in ("chair", "deputy"):
        for user_id, role in roles.items():
            if role == wanted:
                return user_id
    return None


# --- attendance as it happened --------------------------------------------------------------------

@dataclass(frozen=True)
class Mark:
    """One arrival (``present`` True) or departure, with its moment."""

    user_id: int
    present: bool
    at: datetime


def present_at(marks: Sequence[Mark], moment: datetime) -> frozenset[int]:
    """Who was in the room at ``moment``: each person's latest mark at or before it."""
    state: dict[int, bool] = {}
    for mark in sorted(marks, key=lambda m: m.at):
        if mark.at > moment:
            break
        state[mark.user_id] = mark.present
    return frozenset(user for user, here in state.items() if here)


def ever_present(marks: Iterable[Mark]) -> frozenset[int]:
    """Everyone who was present at some point: the protocol's "present"; the rest are "absent"."""
    return frozenset(m.user_id for m in marks if m.present)


def changes_between(marks: Sequence[Mark], start: datetime | None, end: datetime) -> list[Mark]:
    """Arrivals and departures after ``start`` (exclusive; None: from the beginning) up to ``end``."""
    return [m for m in sorted(marks, key=lambda m: m.at) if (start is None or m.at > start) and m.at <= end]


def split_attendance(members: Sequence[int], marks: Sequence[Mark],
                     voters: Iterable[int]) -> tuple[list[int], list[int]]:
    """(present, absent) for the protocol, in membership order. A voter is always present, so nobody is
    both "absent" and a voter, whatever the marks say (an absentee vote has no marks: its voters attended)."""
    attended = ever_present(marks) | frozenset(voters)
    return [m for m in members if m in attended], [m for m in members if m not in attended]


# --- dissenting opinions ------------------------------------------------------------------------

def dissent_offered(result: str | None, choice: str | None) -> bool:
    """Положение о МРГ, п. 17: a member who voted Against a decision that was ADOPTED may state an opinion."""
    return result == "adopted" and choice == "against"


def dissent_pending(offered: Iterable[int], answered: Iterable[int], closed_at: datetime, now: datetime,
                    hours: int) -> bool:
    """The protocol waits while an offered member has neither filed nor declined, at most ``hours``."""
    if now >= closed_at + timedelta(hours=hours):
        return False
    return bool(set(offered) - set(answered))


# --- small checks -------------------------------------------------------------------------------

def is_meeting_link(text: str) -> bool:
    """A video meeting's place is a web address (http or https, with a host)."""
    candidate = text.strip()
    return bool(URL_RE.match(candidate)) and bool(urlsplit(candidate).netloc)


def short_name(full_name: str) -> str:
    """ "Иванов Иван Иванович" -> "Иванов И. И." (as signatures are written); other forms stay as they are."""
    parts = full_name.split()
    if len(parts) < 2 or not all(p[:1].isalpha() for p in parts[1:3]):
        return full_name.strip()
    return " ".join([parts[0], *(f"{p[0].upper()}." for p in parts[1:3])])

