"""The expert group's rules as tables of cases, then the timed notices on real dates of the production calendar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import pytest
from docx.shared import Length
from sqlalchemy import select

from bot.app import App
from bot.config import ExpertGroup
from bot.domain import meeting_rules
from bot.domain.meeting_rules import Mark, Tally
from bot.events import Attachment, Reply
from bot.presenters.meetings import WORDING
from bot.presenters.protocol_document import render
from bot.scans import meetings as scans
from bot.services import meeting_agenda, meeting_minutes, meetings, privacy
from bot.services.calendar import ProductionCalendar
from bot.services.meetings import MeetingDraft, Office, Refusal
from bot.services.meetings.document import Change, ItemRecord, ProtocolRecord
from storage.expert_models import Meeting, MeetingGuest, Protocol, Vote
from storage.models import OutboxMessage, User
from storage.repositories import Repositories

MSK = ZoneInfo("Europe/Moscow")
CALENDAR = ProductionCalendar()
ROLES = ("chair", "deputy", "secretary", *["member"] * 7)  # ten members


def msk(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK).astimezone(UTC)


# --- pure rules ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("members", "fraction", "needed"), [
    (10, 1 / 3, 4),            # НСИ: one third of 10 is 3.33 — three members are fewer than a third
    (10, "1/3", 4),
    (10, 0.3333333333, 4),     # as written in config.toml
    (9, 1 / 3, 3),             # exactly a third
    (10, 0.5, 5),              # working group: one half
    (7, "1/2", 4),
    (1, 1 / 3, 1),
    (0, 1 / 3, 1),             # nobody in the group: never a quorum
])
def test_quorum_needed(members: int, fraction: float | str, needed: int) -> None:
    assert meetings.quorum_needed(members, fraction) == needed


@pytest.mark.parametrize(("present", "fraction", "quorum"), [
    (3, 1 / 3, False), (4, 1 / 3, True), (4, 0.5, False), (5, 0.5, True), (10, 0.5, True),
])
def test_quorum_boundaries_of_ten_members(present: int, fraction: float, quorum: bool) -> None:
    assert meetings.has_quorum(present, 10, fraction) is quorum


# (for, against, abstain), present when the vote opened, the presiding member's choice, the group's settings.
@pytest.mark.parametrize(("votes", "present", "presiding", "casting", "rule", "adopted", "casting_decided", "needed"), [
    ((6, 4, 0), 10, "against", True, "voted", True, False, 6),
    ((3, 1, 1), 5, "for", True, "voted", True, False, 3),           # 3 of 5 present: adopted
    ((2, 1, 2), 5, "for", True, "voted", False, False, 3),          # "нужно 3 из 5, «за» — 2"
    ((5, 5, 0), 10, "for", True, "voted", True, True, 6),           # tie: the presiding member decides…
    ((5, 5, 0), 10, "against", True, "voted", False, True, 6),      # …whichever side they are on
    ((5, 5, 0), 10, "for", False, "voted", False, False, 6),        # a group without a casting vote
    ((1, 1, 2), 4, "for", True, "voted", True, True, 3),            # a tie among those who voted, abstentions aside
    ((1, 1, 2), 4, "against", True, "voted", False, True, 3),
    ((1, 1, 2), 4, "for", True, "all_present", False, False, 3),    # the stricter reading: not a tie
    ((2, 2, 0), 4, "for", True, "all_present", True, True, 3),      # everyone present voted: a tie for both readings
    ((2, 2, 0), 5, "for", True, "voted", True, True, 3),            # one present did not press: still a tie
    ((2, 2, 0), 5, "for", True, "all_present", False, False, 3),
    ((2, 2, 1), 5, "abstain", True, "voted", False, False, 3),      # the presiding member abstained: no casting vote
    ((0, 0, 3), 3, "abstain", True, "voted", False, False, 2),      # nobody For or Against: no tie
    ((4, 2, 4), 10, "for", True, "voted", False, False, 6),         # abstentions count as present: 4 of 10
    ((3, 2, 0), 6, "for", True, "voted", False, False, 4),          # 3 of 6 is not more than half
    ((0, 0, 0), 0, None, True, "voted", False, False, 1),
])
def test_decision_by_simple_majority_of_members_present(votes: tuple[int, int, int], present: int,
                                                        presiding: str | None, casting: bool, rule: str,
                                                        adopted: bool, casting_decided: bool, needed: int) -> None:
    decision = meeting_rules.decide(Tally(*votes), present, presiding, casting, rule)  # type: ignore[arg-type]
    assert (decision.adopted, decision.by_casting_vote, decision.needed) == (adopted, casting_decided, needed)


def at(minute: int) -> datetime:
    return msk(2026, 12, 3, 15, minute)


# Member 1 arrives at 15:00, 2 at 15:05, 3 at 15:00 and leaves at 15:40, 4 never comes; 3 comes back at 15:50.
MARKS = [Mark(1, True, at(0)), Mark(3, True, at(0)), Mark(2, True, at(5)), Mark(3, False, at(40)),
         Mark(3, True, at(50))]


@pytest.mark.parametrize(("moment", "present"), [
    (at(0), {1, 3}), (at(4), {1, 3}), (at(5), {1, 2, 3}), (at(39), {1, 2, 3}),
    (at(40), {1, 2}),                 # left before the second vote: no ballot for them
    (at(55), {1, 2, 3}),
])
def test_who_is_present_when_a_vote_opens(moment: datetime, present: set[int]) -> None:
    assert meeting_rules.present_at(MARKS, moment) == present


@pytest.mark.parametrize(("start", "end", "changes"), [
    (None, at(10), [(1, True), (3, True), (2, True)]),
    (at(10), at(45), [(3, False)]),     # the second item: member 3 left at 15:40
    (at(45), at(59), [(3, True)]),
    (at(50), at(59), []),
])
def test_attendance_changes_between_votes(start: datetime | None, end: datetime,
                                          changes: list[tuple[int, bool]]) -> None:
    assert [(c.user_id, c.present) for c in meeting_rules.changes_between(MARKS, start, end)] == changes


@pytest.mark.parametrize(("marks", "voters", "present", "absent"), [
    (MARKS, {1, 2, 3}, [1, 2, 3], [4]),
    (MARKS[:2], {1, 3, 2}, [1, 2, 3], [4]),    # a voter with no mark is still present, never "absent"
    ([], {2, 4}, [2, 4], [1, 3]),              # an absentee vote: those who voted took part
    ([], set(), [], [1, 2, 3, 4]),
])
def test_nobody_is_both_absent_and_a_voter(marks: list[Mark], voters: set[int], present: list[int],
                                          absent: list[int]) -> None:
    assert meeting_rules.split_attendance([1, 2, 3, 4], marks, voters) == (present, absent)
    assert not set(absent) & voters


@pytest.mark.parametrize(("result", "choice", "offered"), [
    ("adopted", "against", True),
    ("adopted", "for", False), ("adopted", "abstain", False), ("adopted", None, False),
    ("rejected", "against", False),      # nothing adopted to disagree with
    ("no_quorum", "against", False),
])
def test_dissent_is_offered_only_against_an_adopted_decision(result: str, choice: str | None, offered: bool) -> None:
    assert meeting_rules.dissent_offered(result, choice) is offered


@pytest.mark.parametrize(("offered", "answered", "hours_later", "waits"), [
    ({4, 5}, set(), 1, True),
    ({4, 5}, {4}, 1, True),
    ({4, 5}, {4, 5}, 1, False),          # one filed, one declined: no waiting at all
    ({4}, set(), 24, False),             # at most the configured time
    (set(), set(), 0, False),
])
def test_the_protocol_waits_for_dissents_at_most_the_configured_time(offered: set[int], answered: set[int],
                                                                    hours_later: int, waits: bool) -> None:
    closed = at(30)
    assert meeting_rules.dissent_pending(offered, answered, closed, closed + timedelta(hours=hours_later), 24) is waits


@pytest.mark.parametrize(("text", "link"), [
    ("https://telemost.yandex.ru/j/12345", True), ("http://vks.region.ru/room/7", True),
    ("telemost.yandex.ru/j/12345", False), ("Зал 2", False), ("https://", False), ("ftp://x.ru", False),
])
def test_a_video_meeting_link_must_be_a_url(text: str, link: bool) -> None:
    assert meeting_rules.is_meeting_link(text) is link


@pytest.mark.parametrize(("full", "short"), [
    ("Иванов Иван Иванович", "Иванов И. И."), ("Орлова Анна", "Орлова А."), ("Орлова", "Орлова"),
])
def test_names_in_the_approval_stamp(full: str, short: str) -> None:
    assert meeting_rules.short_name(full) == short


@pytest.mark.parametrize(("present", "presiding"), [
    ([(1, "member"), (2, "deputy"), (3, "chair")], 3),
    ([(1, "member"), (2, "deputy"), (4, "secretary")], 2),   # chair absent: the deputy presides
    ([(1, "member"), (4, "secretary")], None),
])
def test_presiding_member(present: list[tuple[int, str]], presiding: int | None) -> None:
    assert meetings.presiding_of(present) == presiding


@pytest.mark.parametrize(("answers", "level"), [
    (["yes"] * 4 + [None] * 6, "expected"),
    (["yes"] * 3 + ["maybe"] + ["no"] * 6, "possible"),
    (["yes"] * 3 + ["no"] * 7, "at_risk"),
])
def test_quorum_forecast(answers: list[str | None], level: str) -> None:
    outlook = meetings.forecast(answers, 10, 1 / 3)
    assert (outlook.needed, outlook.level) == (4, level)
    assert outlook.yes + outlook.maybe + outlook.no + outlook.silent == 10


@pytest.mark.parametrize(("text", "expected"), [
    ("03.12.2026 15:00", msk(2026, 12, 3, 15)),
    ("3.12.26 15.30", msk(2026, 12, 3, 15, 30)),
    ("2026-12-03 15:00", msk(2026, 12, 3, 15)),
    ("01.02 09:00", msk(2027, 2, 1, 9)),        # no year, already past this year: next year
    ("31.02.2026 10:00", None),
    ("завтра", None),
])
def test_meeting_time_is_read_in_the_region(text: str, expected: datetime | None) -> None:
    assert meetings.parse_when(text, MSK, msk(2026, 11, 23)) == expected


@pytest.mark.parametrize(("meeting_day", "lead", "remind", "send"), [
    (date(2026, 12, 3), 2, date(2026, 11, 30), date(2026, 12, 1)),   # a plain Thursday: Monday and Tuesday
    (date(2026, 5, 12), 2, date(2026, 5, 6), date(2026, 5, 7)),      # 9 and 11 May are days off
    (date(2027, 1, 12), 3, date(2026, 12, 28), date(2026, 12, 29)),  # over the New Year holidays (31.12 is off)
])
def test_materials_days_on_the_production_calendar(meeting_day: date, lead: int, remind: date, send: date) -> None:
    assert meetings.materials_days(meeting_day, lead, CALENDAR) == (remind, send)


@pytest.mark.parametrize(("today", "days", "expected"), [
    (date(2026, 11, 23), 14, date(2026, 12, 17)),
    (date(2026, 5, 1), 18, date(2026, 6, 11)),   # 12 June, Russia Day, is off: one working day earlier
    (date(2026, 1, 15), 200, date(2026, 1, 1)),  # never before the quarter starts
])
def test_quarter_reminder_day(today: date, days: int, expected: date) -> None:
    assert meetings.quarter_reminder_day(today, days, CALENDAR) == expected


@pytest.mark.parametrize(("meeting_day", "days", "due"), [
    (date(2026, 12, 3), 3, date(2026, 12, 8)),
    (date(2026, 12, 28), 3, date(2027, 1, 11)),   # past the New Year holidays
])
def test_protocol_is_signed_within_working_days(meeting_day: date, days: int, due: date) -> None:
    assert meetings.protocol_due_day(meeting_day, days, CALENDAR) == due


@pytest.mark.parametrize(("written", "needed_of_ten"), [("1/3", 4), ("1/2", 5), (0.3333333333, 4), (0.5, 5)])
def test_quorum_is_read_from_config_as_a_fraction_or_a_number(written: str | float, needed_of_ten: int) -> None:
    group = ExpertGroup(name="Группа", quorum=written)
    assert meetings.quorum_needed(10, group.quorum) == needed_of_ten


@pytest.mark.parametrize("written", ["1/0", "треть", "2/1", 0])
def test_a_broken_quorum_stops_the_start(written: str | float) -> None:
    with pytest.raises(ValueError, match="quorum"):
        ExpertGroup(name="Группа", quorum=written)


# Keys built from a state or a choice (f"vote.choice_{choice}") are invisible to tests/test_i18n.py's scan.
KEY_FAMILIES = {
    "meeting.card_": meetings.FORMATS, "meeting.format_": meetings.FORMATS, "protocol.doc_format_": meetings.FORMATS,
    "meeting.answer_": (*meetings.ANSWERS.values(), "none"), "vote.choice_": tuple(meetings.CHOICES.values()),
    "vote.button_": tuple(meetings.CHOICES), "experts.role_": meetings.ROLES, "protocol.doc_role_": meetings.ROLES,
    "vote.decision_": ("adopted", "rejected", "no_quorum"),
    "protocol.doc_result_": ("adopted", "rejected", "no_quorum"),
    "meeting.status_": ("proposed", "scheduled", "in_progress", "finished", "cancelled"),
    "protocol.doc_outcome_": ("rejected", "no_quorum"), "protocol.doc_sign_": ("presiding", "secretary"),
    "agenda.field_": meeting_agenda.FIELDS, "agenda.ask_field_": meeting_agenda.FIELDS,
    "meeting.forecast_": ("expected", "possible", "at_risk"), "vote.status_": ("open", "closed", "cancelled"),
    "protocol.status_": ("waiting", "drafted", "returned", "sent"),
}


@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_state_and_choice_has_a_text(language: str) -> None:
    from bot.i18n import translator

    t = translator(language)
    missing = [prefix + value for prefix, values in KEY_FAMILIES.items() for value in values
               if t(prefix + value) == prefix + value]
    assert not missing


def test_a_refusal_names_the_choice_and_the_date_in_the_members_words() -> None:
    """The services give a choice as a message key and a date as a date; whoever shows the refusal words them."""
    from types import SimpleNamespace

    from bot.i18n import translator
    from handlers.router import worded as _worded

    for language, choice in (("ru", "против"), ("en", "against")):
        ctx = SimpleNamespace(t=translator(language))
        worded = _worded(ctx, {"choice": meetings.Key("vote.choice_against"), "date": date(2026, 12, 5), "max": 3})
        assert worded == {"choice": choice, "date": "05.12.2026", "max": 3}


# --- the services on a database ------------------------------------------------------------------

@asynccontextmanager
async def office(app: App, now: datetime) -> AsyncIterator[Office]:
    async with app.sessionmaker() as session, session.begin():
        yield Office(Repositories(session), app.settings, app.calendar, now, words=WORDING)


async def seed(app: App, group: str = "nsi", roles: tuple[str, ...] = ROLES) -> list[User]:
    """Members with the given roles, chats "m1".."m10" in the НСИ group (#1 chair, #2 deputy, #3 secretary)."""
    people = []
    prefix = "m" if group == "nsi" else group
    async with office(app, msk(2026, 1, 1)) as work:
        for n, role in enumerate(roles, 1):
            user = await work.repo.users.add(User(channel="console", platform_id=f"{prefix}{n}",
                                                  chat_id=f"{prefix}{n}", language="ru", role="citizen"))
            await meetings.join(work, user, group, role, f"Член {n}")
            people.append(user)
    return people


async def schedule(app: App, secretary: User, now: datetime, starts_at: datetime, *, format: str = "in_person",
                   group: str = "nsi", materials: bool = False) -> int:
    files = [{"kind": "document", "ref": "file-1", "channel": "console", "name": "Справка.pdf", "size": 10,
              "mime": "application/pdf"}] if materials else []
    draft = MeetingDraft(group_id=group, starts_at=starts_at.isoformat(), format=format, place="Зал 1",
                         items=[{"title": "О плане работы", "decision": "Утвердить план работы.", "materials": files},
                                {"title": "О конкурсе проектов", "decision": "Объявить конкурс.", "materials": []}])
    async with office(app, now) as work:
        meeting = await meetings.schedule(work, secretary, draft)
        if meeting.status == "proposed":   # the chair approves the agenda; the notices go out
            chair = (await work.db.holders(group, "chair"))[0].user
            await meeting_agenda.approve(work, chair, meeting.id)
        return meeting.id


async def outbox(app: App, key_part: str = "") -> list[OutboxMessage]:
    async with app.sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [row for row in rows if key_part in row.dedup_key]


def recipients(rows: list[OutboxMessage]) -> set[str]:
    return {row.chat_id for row in rows}


async def open_meeting(app: App, people: list[User], meeting_id: int, now: datetime, present: list[int]) -> None:
    async with office(app, now) as work:
        meeting = await work.db.meeting(meeting_id)
        assert meeting is not None
        await meetings.start(work, people[2], meeting)
        for n in present:
            await meetings.toggle_presence(work, people[2], meeting, people[n - 1].id)


async def open_item_vote(app: App, people: list[User], meeting_id: int, now: datetime, by: int = 1,
                         minutes: int = 0) -> int:
    async with office(app, now) as work:
        meeting = await work.db.meeting(meeting_id)
        assert meeting is not None
        return (await meetings.open_vote(work, people[by - 1], meeting, meeting.items[0].id, minutes)).id


async def press(app: App, user: User, vote_id: int, code: str, now: datetime) -> str | None:
    """A ballot press: None when taken, else the refusal's message key."""
    try:
        async with office(app, now) as work:
            await meetings.cast(work, user, vote_id, code)
    except Refusal as refusal:
        return refusal.key
    return None


async def vote_row(app: App, vote_id: int) -> Vote:
    async with app.sessionmaker() as session:
        vote = await session.get(Vote, vote_id)
        assert vote is not None
        return vote


def replace_group(app: App, **changes: object) -> ExpertGroup:
    return app.settings.groups["nsi"].model_copy(update=changes)


async def test_votes_cannot_open_without_quorum(app: App) -> None:
    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    await open_meeting(app, people, meeting_id, msk(2026, 12, 3, 15), present=[1, 3, 4])  # 3 of 10, needs 4
    with pytest.raises(Refusal) as refused:
        await open_item_vote(app, people, meeting_id, msk(2026, 12, 3, 15, 5))
    assert (refused.value.key, refused.value.params) == ("vote.no_quorum", {"present": 3, "needed": 4})


async def test_vote_changes_until_closed_and_refuses_absent_late_and_repeated_presses(app: App) -> None:
    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    at = msk(2026, 12, 3, 15, 10)
    await open_meeting(app, people, meeting_id, at, present=[1, 2, 3, 4, 5])
    with pytest.raises(Refusal, match=r"vote\.not_presiding"):
        await open_item_vote(app, people, meeting_id, at, by=2)  # the chair is here: the deputy does not preside
    vote_id = await open_item_vote(app, people, meeting_id, at)
    table = [
        (4, "f", None), (4, "a", None),                  # changed their mind
        (4, "a", "vote.same_choice"),                    # the same press again
        (9, "f", "vote.not_eligible"),                   # absent at an in-person vote
        (1, "f", None), (2, "f", None), (3, "x", None), (5, "x", None),
        (1, "z", "vote.not_found"),                      # forged choice
    ]
    for member, code, refusal in table:
        assert await press(app, people[member - 1], vote_id, code, at) == refusal, (member, code)
    async with office(app, at) as work:
        await meetings.close_by_presiding(work, people[0], vote_id)
    assert await press(app, people[3], vote_id, "f", at) == "vote.closed"
    vote = await vote_row(app, vote_id)
    # For 2 of 5 present is not more than half: not adopted.
    assert (vote.votes_for, vote.votes_against, vote.votes_abstain, vote.counted, vote.result) == (2, 1, 2, 5,
                                                                                                  "rejected")
    results = await outbox(app, f"vote{vote_id}:result")
    assert len(results) == 10  # every member, present or not
    text = Reply.from_dict(results[0].reply).text
    assert "Против — 1: Член 4" in text and "Воздержались — 2: Член 3, Член 5" in text
    assert "Решение принимается большинством голосов присутствующих: нужно 3 из 5, «за» — 2" in text
    assert "Особое мнение" not in text     # nothing adopted: nothing to dissent from


async def test_chair_absent_the_deputy_presides_and_breaks_the_tie(app: App) -> None:
    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    at = msk(2026, 12, 3, 15, 10)
    await open_meeting(app, people, meeting_id, at, present=[2, 3, 4, 5])
    vote_id = await open_item_vote(app, people, meeting_id, at, by=2)
    for member, code in ((2, "f"), (3, "f"), (4, "a"), (5, "a")):
        assert await press(app, people[member - 1], vote_id, code, at) is None
    async with office(app, at) as work:
        with pytest.raises(Refusal, match=r"vote\.not_presiding"):
            await meetings.close_by_presiding(work, people[0], vote_id)
    async with office(app, at) as work:
        await meetings.close_by_presiding(work, people[1], vote_id)
    vote = await vote_row(app, vote_id)
    assert (vote.result, vote.by_casting_vote, vote.presiding_id) == ("adopted", True, people[1].id)


async def test_a_vote_with_a_set_time_closes_by_itself(app: App) -> None:
    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    at = msk(2026, 12, 3, 15, 10)
    await open_meeting(app, people, meeting_id, at, present=[1, 2, 3, 4])
    vote_id = await open_item_vote(app, people, meeting_id, at, minutes=5)
    for member in (1, 2, 3):
        await press(app, people[member - 1], vote_id, "f", at)
    scan = (app.sessionmaker, app.settings, app.calendar)
    assert await scans.scan_votes(*scan, at + timedelta(minutes=4)) == 0
    assert await press(app, people[3], vote_id, "a", at + timedelta(minutes=5)) == "vote.closed"
    assert await scans.scan_votes(*scan, at + timedelta(minutes=5)) == 10
    assert (await vote_row(app, vote_id)).result == "adopted"  # 3 of 4 present


async def test_absentee_vote_reminds_only_non_voters_and_counts_quorum_on_ballots(app: App) -> None:
    people = await seed(app)
    deadline = msk(2026, 12, 10, 18)
    meeting_id = await schedule(app, people[2], msk(2026, 12, 1), deadline, format="absentee", materials=True)
    ballots = await outbox(app, ":ballot:")
    assert len(ballots) == 20 and len(await outbox(app, ":mat:auto:")) == 10  # two items, ten members; files at once
    async with app.sessionmaker() as session:
        votes = (await session.scalars(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.id))).all()
    first, second = (v.id for v in votes)
    for member in (1, 2, 3, 4, 5):          # item 1: five ballots (quorum 4)
        await press(app, people[member - 1], first, "f" if member != 5 else "a", msk(2026, 12, 2))
    for member in (1, 2):                   # item 2: two ballots
        await press(app, people[member - 1], second, "f", msk(2026, 12, 2))
    scan = (app.sessionmaker, app.settings, app.calendar)
    assert await scans.scan_votes(*scan, msk(2026, 12, 9, 17)) == 0       # before "1d"
    assert await scans.scan_votes(*scan, msk(2026, 12, 9, 18)) == 5 + 8
    reminded = await outbox(app, ":rem1d:")
    assert recipients([r for r in reminded if r.dedup_key.startswith(f"vote{first}:")]) == {"m6", "m7", "m8", "m9",
                                                                                           "m10"}
    assert await scans.scan_votes(*scan, msk(2026, 12, 9, 19)) == 0       # once
    assert await press(app, people[5], first, "x", msk(2026, 12, 10, 17, 59)) is None
    await scans.scan_votes(*scan, deadline)
    first_vote, second_vote = await vote_row(app, first), await vote_row(app, second)
    assert (first_vote.result, first_vote.counted) == ("adopted", 6)   # 4 for of 6 ballots cast
    assert (second_vote.result, second_vote.counted) == ("no_quorum", 2)
    await scans.scan_votes(*scan, deadline + timedelta(minutes=1))
    async with app.sessionmaker() as session:
        meeting = await session.get(Meeting, meeting_id)
        protocol = await session.scalar(select(Protocol).where(Protocol.meeting_id == meeting_id))
    assert meeting is not None and meeting.status == "finished"
    # Member 5 voted against: the protocol waits for a dissenting opinion until the window ends.
    assert protocol is not None and protocol.status == "waiting"
    assert await scans.scan_protocols(*scan, deadline + timedelta(hours=24)) == 2   # drafted, to chair + secretary


async def test_materials_reminder_and_automatic_sending_around_the_may_holidays(app: App) -> None:
    people = await seed(app)
    # Tuesday 12 May 2026; 9 and 11 May are days off, so "2 working days before" is Thursday 7 May.
    meeting_id = await schedule(app, people[2], msk(2026, 4, 20), msk(2026, 5, 12, 15), materials=True)
    scan = (app.sessionmaker, app.settings, app.calendar)
    assert await scans.scan_materials(*scan, msk(2026, 5, 5, 12)) == 0
    assert await scans.scan_materials(*scan, msk(2026, 5, 6, 8, 59)) == 0     # before the office opens
    assert await scans.scan_materials(*scan, msk(2026, 5, 6, 9)) == 1        # the secretary: item 2 lacks files
    reminder = (await outbox(app, ":matrem:"))[0]
    assert reminder.chat_id == "m3" and "О конкурсе проектов" in Reply.from_dict(reminder.reply).text
    assert await scans.scan_materials(*scan, msk(2026, 5, 6, 15)) == 0
    assert await scans.scan_materials(*scan, msk(2026, 5, 7, 9)) == 10       # to every member
    sent = await outbox(app, ":mat:auto:")
    assert Reply.from_dict(sent[0].reply).attachments[0].name == "Справка.pdf"
    assert await scans.scan_materials(*scan, msk(2026, 5, 8, 9)) == 0
    async with office(app, msk(2026, 5, 8, 10)) as work:   # a late file goes out on its own
        meeting = await work.db.meeting(meeting_id)
        assert meeting is not None
        sent_now = await meetings.add_material(work, people[2], meeting, meeting.items[1].id,
                                               Attachment("document", "file-2", "console", "Проект.docx"))
    assert sent_now and len(await outbox(app, ":mat:late:")) == 10


async def test_member_reminders_skip_those_who_declined(app: App) -> None:
    people = await seed(app)
    starts = msk(2026, 12, 3, 15)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), starts)
    async with office(app, msk(2026, 11, 24)) as work:
        for member in (9, 10):
            await meetings.answer_notice(work, people[member - 1], meeting_id, "n")
    scan = (app.sessionmaker, app.settings, app.calendar)
    assert await scans.scan_member_reminders(*scan, starts - timedelta(days=1, minutes=1)) == 0
    assert await scans.scan_member_reminders(*scan, starts - timedelta(days=1)) == 8
    assert await scans.scan_member_reminders(*scan, starts - timedelta(hours=2)) == 0
    assert await scans.scan_member_reminders(*scan, starts - timedelta(hours=1)) == 8
    assert "m9" not in recipients(await outbox(app, ":rem"))


async def test_reminders_can_be_turned_off(app: App) -> None:
    app.settings.groups["nsi"] = replace_group(app, member_reminders=[])
    people = await seed(app)
    starts = msk(2026, 12, 3, 15)
    await schedule(app, people[2], msk(2026, 11, 23), starts)
    assert await scans.scan_member_reminders(app.sessionmaker, app.settings, app.calendar,
                                                starts - timedelta(hours=1)) == 0


async def test_quorum_alert_one_working_day_before(app: App) -> None:
    people = await seed(app)
    starts = msk(2026, 12, 14, 15)  # Monday: one working day before is Friday 11 December
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), starts)
    async with office(app, msk(2026, 11, 24)) as work:
        for member in (1, 3, 4):
            await meetings.answer_notice(work, people[member - 1], meeting_id, "y")
    scan = (app.sessionmaker, app.settings, app.calendar)
    assert await scans.scan_quorum_alerts(*scan, msk(2026, 12, 10, 12)) == 0
    assert await scans.scan_quorum_alerts(*scan, msk(2026, 12, 11, 9)) == 2
    assert recipients(await outbox(app, ":quorum:")) == {"m1", "m3"}   # chair and secretary
    assert await scans.scan_quorum_alerts(*scan, msk(2026, 12, 11, 12)) == 0


async def test_quarter_reminder_when_no_meeting_is_scheduled(app: App) -> None:
    app.settings.groups["nsi"] = replace_group(app, quarter_reminder_days=18)
    await seed(app)
    working_group = await seed(app, "mwg", ("chair", "secretary", "member"))
    scan = (app.sessionmaker, app.settings, app.calendar)
    # 30 June - 18 days = 12 June, Russia Day: the reminder comes on Thursday 11 June.
    assert await scans.scan_quarter_reminders(*scan, msk(2026, 6, 10, 12)) == 0
    assert await scans.scan_quarter_reminders(*scan, msk(2026, 6, 11, 9)) == 2
    assert recipients(await outbox(app, "grp:nsi:2026q2")) == {"m1", "m3"}
    assert await scans.scan_quarter_reminders(*scan, msk(2026, 6, 12, 9)) == 0
    # The working group (14 days) is reminded on 16 June; one scheduled meeting silences it.
    await schedule(app, working_group[1], msk(2026, 6, 15), msk(2026, 6, 25, 15), group="mwg")
    assert await scans.scan_quarter_reminders(*scan, msk(2026, 6, 16, 9)) == 0


def test_protocol_document_reads_back(tmp_path: Path) -> None:
    record = ProtocolRecord(
        group="Региональная экспертная группа НСИ", number=4, format="in_person",
        starts_at=datetime(2026, 12, 3, 15, 0, tzinfo=MSK), place="Дом правительства, зал 2",
        presiding="Петров П.П.", presiding_role="deputy", secretary="Сидорова С.С.", members=10, needed=4,
        present=["Петров П.П.", "Сидорова С.С.", "Иванов И.И.", "Кузнецова А.А."], absent=["Смирнов В.В."],
        guests=["Ким Олег Петрович (министерство финансов)"],
        items=[ItemRecord(1, "О плане работы на 2027 год", "adopted", ["Петров П.П.", "Сидорова С.С."],
                          ["Иванов И.И.", "Кузнецова А.А."], by_casting_vote=True, presiding_choice="for",
                          dissents=[("Иванов И.И.", "План не учитывает сельские районы.")],
                          decision="Утвердить план работы на 2027 год.", speaker="Петров П.П.", counted=4, needed=3),
               ItemRecord(2, "О конкурсе", "rejected", ["Петров П.П."], ["Иванов И.И."], ["Сидорова С.С."],
                          decision="Объявить конкурс.", counted=3, needed=2,
                          changes=[Change("Кузнецова А.А.", False, datetime(2026, 12, 3, 15, 40, tzinfo=MSK))]),
               ItemRecord(3, "Разное")],
        approvals=[("presiding", "Петров П. П.", datetime(2026, 12, 6, 14, 3, tzinfo=MSK)),
                   ("secretary", "Сидорова С. С.", None)])
    path = render(record, tmp_path / "p.docx")
    assert path.is_absolute()
    document = docx.Document(str(path))
    text = "\n".join(p.text for p in document.paragraphs)
    table = "\n".join(cell.text for row in document.tables[0].rows for cell in row.cells)
    for expected in ("ПРОТОКОЛ № 4", "Региональная экспертная группа НСИ", "03.12.2026 15:00",
                     "Дом правительства, зал 2", "Председательствующий: Петров П.П. (заместитель председателя)",
                     "Присутствовали (4 из 10): Петров П.П., Сидорова С.С., Иванов И.И., Кузнецова А.А.",
                     "Отсутствовали: Смирнов В.В.", "Приглашённые: Ким Олег Петрович (министерство финансов)",
                     "Кворум имеется (необходимо не менее 4, присутствует 4)",
                     "1. СЛУШАЛИ: О плане работы на 2027 год (докладчик: Петров П.П.)",
                     "РЕШИЛИ: Утвердить план работы на 2027 год.", "«За» — 2: Петров П.П., Сидорова С.С.",
                     "«Против» — 2: Иванов И.И., Кузнецова А.А.", "«Воздержались» — 0: —",
                     "При равенстве голосов решающим стал голос председательствующего («за»)",
                     "При рассмотрении вопроса присутствовали 3 из 10 (покинул(а) заседание Кузнецова А.А. в 15:40)",
                     "РЕШИЛИ: решение не принято: «за» — 1, необходимо не менее 2 из 3.",
                     "Особое мнение (Иванов И.И.) приложено к протоколу.",
                     "Приложение к протоколу № 4",
                     "Вопрос 1. Особое мнение (Иванов И.И.): План не учитывает сельские районы.",
                     "3. СЛУШАЛИ: Разное", "Голосование не проводилось."):
        assert expected in text, expected
    # СЛУШАЛИ, then РЕШИЛИ, then ГОЛОСОВАЛИ for each item.
    order = ("1. СЛУШАЛИ", "РЕШИЛИ: Утвердить", "ГОЛОСОВАЛИ", "2. СЛУШАЛИ")
    assert [text.index(part) for part in order] == sorted(text.index(part) for part in order)
    assert "Утверждён в системе: Петров П. П., 06.12.2026 14:03" in table
    assert "Сидорова С. С." in table and "Ожидает утверждения в системе" in table
    assert "___" not in table + text
    section = document.sections[0]
    def mm(length: Length | None) -> float:   # Word keeps twips: 210 mm is 11906 twips, 210.0 mm to 0.1 mm
        assert length is not None
        return round(length.mm, 1)

    assert (mm(section.page_width), mm(section.page_height)) == (210.0, 297.0)   # A4, not US Letter
    assert [mm(section.left_margin), mm(section.right_margin), mm(section.top_margin),
            mm(section.bottom_margin)] == [20.0, 10.0, 20.0, 20.0]
    assert "PAGE" in section.footer.paragraphs[0]._p.xml   # numbered pages


def written_beside_database(app: App, path: str) -> bool:
    database = Path(app.settings.database.url.split("///")[1])
    return Path(path).is_file() and Path(path).parent == database.parent / "protocols"


async def test_protocol_waits_for_signatures_then_goes_to_everyone(app: App) -> None:
    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    at = msk(2026, 12, 3, 15, 10)
    await open_meeting(app, people, meeting_id, at, present=[1, 2, 3, 4])
    vote_id = await open_item_vote(app, people, meeting_id, at)
    for member in (1, 2, 3, 4):
        await press(app, people[member - 1], vote_id, "f", at)
    async with office(app, msk(2026, 12, 3, 17)) as work:
        meeting = await work.db.meeting(meeting_id)
        assert meeting is not None
        protocol = await meetings.finish(work, people[2], meeting)
        protocol_id = protocol.id
    assert protocol.status == "drafted"
    assert written_beside_database(app, protocol.path or "")
    scan = (app.sessionmaker, app.settings, app.calendar)
    assert await scans.scan_protocols(*scan, msk(2026, 12, 7, 12)) == 0     # within 3 working days
    assert await scans.scan_protocols(*scan, msk(2026, 12, 8, 9)) == 2      # due day: chair and secretary
    assert await scans.scan_protocols(*scan, msk(2026, 12, 8, 15)) == 0     # once a day
    async with office(app, msk(2026, 12, 8, 16)) as work:
        with pytest.raises(Refusal, match=r"protocol\.not_approver"):
            await meetings.approve(work, people[5], protocol_id)
    async with office(app, msk(2026, 12, 8, 16)) as work:
        assert (await meetings.approve(work, people[0], protocol_id))[1] is False
    assert await scans.scan_protocols(*scan, msk(2026, 12, 9, 9)) == 1      # only the secretary now
    async with office(app, msk(2026, 12, 9, 10)) as work:
        assert (await meetings.approve(work, people[2], protocol_id))[1] is True
    sent = await outbox(app, f"prot{protocol_id}:sent:")
    assert len(sent) == 10
    attachment = Reply.from_dict(sent[0].reply).attachments[0]
    assert (attachment.kind, attachment.channel, attachment.name) == ("document", "local",
                                                                      "Протокол № 1 от 03.12.2026.docx")


async def test_signing_reminders_say_when_the_term_is_overdue(app: App) -> None:
    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    await open_meeting(app, people, meeting_id, msk(2026, 12, 3, 15), present=[1, 2, 3, 4])
    async with office(app, msk(2026, 12, 3, 17)) as work:
        meeting = await work.db.meeting(meeting_id)
        assert meeting is not None
        await meetings.finish(work, people[2], meeting)
    scan = (app.sessionmaker, app.settings, app.calendar)
    await scans.scan_protocols(*scan, msk(2026, 12, 8, 9))       # the due day: a reminder, not overdue
    await scans.scan_protocols(*scan, msk(2026, 12, 10, 9))      # two working days past the term
    texts = [Reply.from_dict(r.reply).text for r in await outbox(app, ":rem:") if r.chat_id == "m1"]
    assert "утвердить до 08.12.2026" in texts[0] and "истёк" not in texts[0]
    assert "Срок утверждения протокола истёк 08.12.2026" in texts[1] and "просрочка — рабочих дней: 2" in texts[1]


async def test_the_stricter_tie_reading_is_a_group_setting(app: App) -> None:
    app.settings.groups["nsi"] = replace_group(app, tie_rule="all_present")
    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    at = msk(2026, 12, 3, 15, 10)
    await open_meeting(app, people, meeting_id, at, present=[1, 2, 3, 4])
    vote_id = await open_item_vote(app, people, meeting_id, at)
    for member, code in ((1, "f"), (2, "a"), (3, "x"), (4, "x")):
        await press(app, people[member - 1], vote_id, code, at)
    async with office(app, at) as work:
        await meetings.close_by_presiding(work, people[0], vote_id)
    vote = await vote_row(app, vote_id)
    assert (vote.result, vote.by_casting_vote) == ("rejected", False)   # 1–1 with abstentions: no tie here


async def test_agenda_changes_notify_members_and_stop_when_the_vote_opens(app: App) -> None:
    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    async with office(app, msk(2026, 11, 24)) as work:
        meeting = await work.db.meeting(meeting_id)
        assert meeting is not None
        await meeting_agenda.change_item(work, people[2], meeting, meeting.items[0].id, "decision",
                                         "Утвердить план работы с поправками.")
        await meeting_agenda.add_item(work, people[2], meeting, "Разное", "Принять к сведению.")
        with pytest.raises(Refusal, match=r"experts\.not_organizer"):
            await meeting_agenda.remove_item(work, people[5], meeting, meeting.items[1].id)
        await meeting_agenda.remove_item(work, people[2], meeting, meeting.items[1].id)
        assert [(i.position, i.title) for i in meeting.items] == [(1, "О плане работы"), (2, "Разное")]
    changes = await outbox(app, "")
    notices = [Reply.from_dict(r.reply).text for r in changes if r.chat_id == "m7" and "изменена" in
               Reply.from_dict(r.reply).text]
    assert len(notices) == 3 and "Проект решения: Утвердить план работы с поправками." in notices[0]
    at = msk(2026, 12, 3, 15, 10)
    await open_meeting(app, people, meeting_id, at, present=[1, 2, 3, 4])
    vote_id = await open_item_vote(app, people, meeting_id, at)
    ballot = next(r for r in await outbox(app, f"vote{vote_id}:ballot:") if r.chat_id == "m4")
    assert "Проект решения: Утвердить план работы с поправками." in Reply.from_dict(ballot.reply).text
    async with office(app, at) as work:
        meeting = await work.db.meeting(meeting_id)
        assert meeting is not None
        with pytest.raises(Refusal, match=r"agenda\.vote_opened"):
            await meeting_agenda.change_item(work, people[2], meeting, meeting.items[0].id, "decision", "Иначе.")
        await meeting_agenda.change_item(work, people[2], meeting, meeting.items[0].id, "speaker", "Член 1")


async def test_invited_persons_get_notice_materials_and_no_ballot(app: App) -> None:
    people = await seed(app)
    starts = msk(2026, 5, 12, 15)
    meeting_id = await schedule(app, people[2], msk(2026, 4, 20), starts, materials=True)
    async with office(app, msk(2026, 4, 21)) as work:
        meeting = await work.db.meeting(meeting_id)
        assert meeting is not None
        with pytest.raises(Refusal, match=r"guest\.invalid"):
            await meeting_agenda.invite_guest(work, people[2], meeting, ", должность")
        _, code = await meeting_agenda.invite_guest(work, people[2], meeting, "Ким Олег Петрович, министр")
        guest = await work.repo.users.add(User(channel="console", platform_id="g1", chat_id="g1", language="ru",
                                               role="citizen"))
        invite = await work.repo.staff.invite_for_update(code)
        assert invite is not None
        await meeting_agenda.accept_guest(work, guest, invite)
    assert len(await outbox(app, ":guest:")) == 1
    await scans.scan_materials(app.sessionmaker, app.settings, app.calendar, msk(2026, 5, 7, 9))
    assert "g1" in recipients(await outbox(app, ":mat:auto:"))      # at the lead time, like members
    at = msk(2026, 5, 12, 15, 10)
    await open_meeting(app, people, meeting_id, at, present=[1, 2, 3, 4])
    vote_id = await open_item_vote(app, people, meeting_id, at)
    assert "g1" not in recipients(await outbox(app, f"vote{vote_id}:ballot:"))
    assert await press(app, guest, vote_id, "f", at) == "vote.not_eligible"
    async with office(app, at) as work:
        exported = await privacy.export(work.repo, guest)
        assert exported["meeting_invitations"][0]["name"] == "Ким Олег Петрович"
        await privacy.erase(work.repo, guest)
    async with app.sessionmaker() as session:
        rows = (await session.scalars(select(MeetingGuest))).all()
    assert [(g.full_name, g.position, g.user_id) for g in rows] == [(privacy.ERASED, "", None)]


async def test_a_protocol_sent_back_reminds_the_secretary_to_correct_it(app: App) -> None:
    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    await open_meeting(app, people, meeting_id, msk(2026, 12, 3, 15), present=[1, 2, 3, 4])
    async with office(app, msk(2026, 12, 3, 17)) as work:
        meeting = await work.db.meeting(meeting_id)
        assert meeting is not None
        protocol_id = (await meetings.finish(work, people[2], meeting)).id
    async with office(app, msk(2026, 12, 4, 10)) as work:
        with pytest.raises(Refusal, match=r"protocol\.comment_invalid"):
            await meeting_minutes.send_back(work, people[0], protocol_id, " ")
    async with office(app, msk(2026, 12, 4, 10)) as work:
        with pytest.raises(Refusal, match=r"protocol\.not_approver"):
            await meeting_minutes.send_back(work, people[5], protocol_id, "Не согласен")
    async with office(app, msk(2026, 12, 4, 10)) as work:
        await meeting_minutes.send_back(work, people[0], protocol_id, "Уточните место проведения.")
    async with office(app, msk(2026, 12, 4, 11)) as work:
        with pytest.raises(Refusal, match=r"protocol\.not_ready"):
            await meetings.approve(work, people[0], protocol_id)     # nothing to approve until corrected
    scan = (app.sessionmaker, app.settings, app.calendar)
    assert await scans.scan_protocols(*scan, msk(2026, 12, 7, 10)) == 0   # before the term
    assert await scans.scan_protocols(*scan, msk(2026, 12, 9, 10)) == 1   # the secretary only
    reminder = Reply.from_dict((await outbox(app, ":fixrem:"))[0].reply)
    assert "просрочка — рабочих дней: 1" in reminder.text and "Уточните место проведения." in reminder.text
    async with office(app, msk(2026, 12, 9, 12)) as work:
        with pytest.raises(Refusal, match=r"protocol\.not_secretary"):
            await meeting_minutes.resubmit(work, people[0], protocol_id)
    async with office(app, msk(2026, 12, 9, 12)) as work:
        await meeting_minutes.resubmit(work, people[2], protocol_id)
    async with office(app, msk(2026, 12, 9, 13)) as work:
        assert (await meetings.approve(work, people[0], protocol_id))[1] is False
        assert (await meetings.approve(work, people[2], protocol_id))[1] is True


async def test_a_member_who_left_during_a_vote_cannot_press_and_quorum_is_checked_per_vote(app: App) -> None:
    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    at = msk(2026, 12, 3, 15, 10)
    await open_meeting(app, people, meeting_id, at, present=[1, 2, 3, 4])
    vote_id = await open_item_vote(app, people, meeting_id, at)
    async with office(app, at) as work:
        await meeting_minutes.leave(work, people[3], meeting_id)
    assert await press(app, people[3], vote_id, "f", at) == "vote.left_meeting"
    async with office(app, at) as work:
        with pytest.raises(Refusal, match=r"meeting\.not_present"):
            await meeting_minutes.leave(work, people[3], meeting_id)
        await meetings.close_by_presiding(work, people[0], vote_id)
    async with office(app, at) as work:   # 3 of 10 remain: the second item cannot be voted on
        meeting = await work.db.meeting(meeting_id)
        assert meeting is not None
        with pytest.raises(Refusal) as refused:
            await meetings.open_vote(work, people[0], meeting, meeting.items[1].id, 0)
    assert (refused.value.key, refused.value.params) == ("vote.no_quorum", {"present": 3, "needed": 4})
