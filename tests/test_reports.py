"""Statistics, the ranking, the chart, the workbook, the weekly digest and the CLI over a small world.

The appeals of March 2026 are put into the database with explicit times; every expected number
below is worked out by hand from that list (the comments show the arithmetic), not by the code.
"""

from __future__ import annotations

import argparse
import io
import struct
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot import cli_reports
from bot.app import App
from bot.delivery import Outbox
from bot.events import Reply
from bot.scans import reports as report_scans
from bot.services import reports
from bot.services.reports import PeriodError, parse_period
from storage.models import Appeal, AppealEvent, OutboxMessage, ReportRequest, User
from storage.rating_models import AppealRating
from storage.report_repo import ReportRepo
from tests.conftest import Clock
from tests.utils.chat import Chat
from tests.utils.outbox import CollectingSender

MARCH = "2026-03-01..2026-03-31"
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)  # when the report is asked for
E, T, ED = "Министерство энергетики и ЖКХ", "Министерство транспорта и дорожного хозяйства", \
    "Министерство образования и науки"


def at(day: int, hour: int = 9, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@dataclass
class Row:
    """One appeal of the world: where it is, when it came, how long the answer took, its ratings."""

    ministry: str
    sector: str
    registered: datetime
    status: str
    answer_hours: int | None = None
    deadline: datetime | None = None
    extended: bool = False
    reopen_count: int = 0
    redirect_count: int = 0
    scores: tuple[int, ...] = ()
    redirect: dict[str, Any] | None = None


WORLD = {
    # energy_housing (E)
    "a1": Row("energy_housing", "housing", at(2), "rated", 24, scores=(5,)),
    "a2": Row("energy_housing", "housing", at(3), "answered", 48),
    "a3": Row("energy_housing", "energy", at(4), "rated", 960, scores=(2,)),  # 40 days: late
    "a4": Row("energy_housing", "housing", at(5), "in_work", deadline=at(9, month=4), extended=True),  # overdue
    "a5": Row("energy_housing", "housing", at(6), "reopened", 72, deadline=at(1, month=5), reopen_count=1,
              scores=(1,)),
    "a6": Row("energy_housing", "energy", at(7), "rated", 100, reopen_count=1, scores=(2, 4)),
    # 21:30 UTC on 28 February is 00:30 on 1 March in Moscow: inside the period; deadline 30.03: overdue
    "a7": Row("energy_housing", "housing", datetime(2026, 2, 28, 21, 30, tzinfo=UTC), "registered"),
    # transport_roads (T)
    "b1": Row("transport_roads", "roads", at(10), "rated", 10, scores=(4,)),
    "b2": Row("transport_roads", "transport", at(11), "rated", 200, scores=(3,)),
    "b3": Row("transport_roads", "roads", at(12), "in_work", redirect_count=1,
              redirect={"from": "education", "to": "transport_roads", "late": True}),
    # education (ED)
    "c1": Row("education", "education", at(15), "answered", 5),
    "c2": Row("education", "education", at(16), "registered", redirect_count=1,
              redirect={"from": "energy_housing", "to": "education", "late": False}),
    # outside March in Moscow time: never counted
    "x1": Row("energy_housing", "housing", datetime(2026, 2, 28, 20, 0, tzinfo=UTC), "answered", 5),
    "x2": Row("transport_roads", "roads", datetime(2026, 3, 31, 21, 30, tzinfo=UTC), "rated", 5, scores=(1,)),
}


async def seed(app: App, citizen_id: int) -> dict[str, int]:
    ids = {}
    async with app.sessionmaker() as session, session.begin():
        for seq, (name, row) in enumerate(WORLD.items(), 1):
            answered = row.registered + timedelta(hours=row.answer_hours) if row.answer_hours is not None else None
            appeal = Appeal(number=f"ЦУР-2026-{seq:06d}", year=2026, seq=seq, citizen_id=citizen_id,
                            sector_id=row.sector, category_id="other", ministry_id=row.ministry, text="…",
                            status=row.status, registered_at=row.registered,
                            deadline_at=row.deadline or row.registered + timedelta(days=30), answered_at=answered,
                            extended=row.extended, reopen_count=row.reopen_count, redirect_count=row.redirect_count)
            session.add(appeal)
            await session.flush()
            ids[name] = appeal.id
            for number, score in enumerate(row.scores, 1):
                session.add(AppealRating(appeal_id=appeal.id, answer_no=number, score=score, at=answered or NOW,
                                         ministry_id=row.ministry, sector_id=row.sector,
                                         registered_at=row.registered))
            if row.redirect is not None:
                session.add(AppealEvent(appeal_id=appeal.id, kind="redirected", status="registered",
                                        details=row.redirect, at=row.registered + timedelta(days=1)))
    return ids


async def supervisor(app: App, user_id: str = "5001", role: str = "supervisor") -> Chat:
    chat = Chat(app.conversations, user_id=user_id)
    await chat.send("/start")
    async with app.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.platform_id == user_id).values(role=role))
    return chat


async def citizen_id(app: App, chat: Chat) -> int:
    await chat.send("/start")
    async with app.sessionmaker() as session:
        return (await session.scalar(select(User.id).where(User.platform_id == chat.user_id))) or 0


@pytest.fixture
async def world(app: App, citizen: Chat, clock: Clock) -> dict[str, int]:
    clock.now = NOW
    return await seed(app, await citizen_id(app, citizen))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def ask(app: App, chief: Chat, command: str) -> list[Reply]:
    """A report command as the supervisor lives it: "preparing…" at once, the report through the outbox."""
    await chief.send(command)
    assert "Готовлю отчёт" in chief.text and not chief.replies[0].attachments
    assert app.reports is not None
    while await app.reports.run_once():
        pass
    sender = CollectingSender()
    outbox = Outbox(app.sessionmaker, {"console": sender}, clock=app.conversations.clock)
    while await outbox.deliver_due():
        pass
    return sender.inbox[chief.user_id]


def text_of(replies: list[Reply]) -> str:
    return "\n".join(reply.text for reply in replies)


def only_file(replies: list[Reply]) -> Path:
    files = [a for r in replies for a in r.attachments]
    assert len(files) == 1 and files[0].channel == "local"
    path = Path(files[0].ref)
    assert path.is_absolute() and path.exists()
    return path


# --- periods --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("words", "first", "last"), [
    ("", date(2026, 11, 1), date(2026, 11, 30)),
    ("месяц", date(2026, 11, 1), date(2026, 11, 30)),
    ("this month", date(2026, 11, 1), date(2026, 11, 30)),
    ("неделя", date(2026, 11, 23), date(2026, 11, 29)),
    ("Week", date(2026, 11, 23), date(2026, 11, 29)),
    ("прошлый  месяц", date(2026, 10, 1), date(2026, 10, 31)),
    ("last month", date(2026, 10, 1), date(2026, 10, 31)),
    ("квартал", date(2026, 10, 1), date(2026, 12, 31)),
    ("quarter", date(2026, 10, 1), date(2026, 12, 31)),
    ("год", date(2026, 1, 1), date(2026, 12, 31)),
    ("2026-01-01..2026-03-31", date(2026, 1, 1), date(2026, 3, 31)),
    ("2026-01-01 — 2026-01-01", date(2026, 1, 1), date(2026, 1, 1)),
])
def test_periods_in_russian_english_and_dates(words: str, first: date, last: date, clock: Clock) -> None:
    period = parse_period(words, clock.now, ZoneInfo("Europe/Moscow"))  # Monday 23 November 2026
    assert (period.first, period.last) == (first, last)
    # Local midnights in Moscow (UTC+3), the end excluded.
    assert period.start == datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(hours=3)
    assert period.end == datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(hours=21)


@pytest.mark.parametrize("words", ["вчера", "2026-03-31..2026-01-01", "2026-02-30..2026-03-01", "2026-01-01"])
def test_words_that_name_no_period_are_refused(words: str, clock: Clock) -> None:
    with pytest.raises(PeriodError):
        parse_period(words, clock.now, ZoneInfo("Europe/Moscow"))


def test_percentile_is_nearest_rank() -> None:
    assert reports.percentile({24: 1, 48: 1, 100: 1, 960: 1}, 0.5) == 48  # rank ⌈0.5·4⌉ = 2
    assert reports.percentile({24: 1, 48: 1, 100: 1, 960: 1}, 0.9) == 960  # rank ⌈0.9·4⌉ = 4
    assert reports.percentile({5: 9, 7: 1}, 0.9) == 5  # rank 9 of 10
    assert reports.percentile({}, 0.5) is None


# --- the figures ----------------------------------------------------------------------------------

async def test_figures_per_ministry_and_sector_match_the_hand_count(app: App, world: dict[str, int]) -> None:
    period = parse_period(MARCH, NOW, app.settings.region.zone)
    async with app.sessionmaker() as session:
        report = await reports.build_report(session, app.settings, period, NOW)
    by_ministry = {f.key: f for f in report.ministries}
    e, t, ed = by_ministry["energy_housing"], by_ministry["transport_roads"], by_ministry["education"]
    # E: a1..a7 received; answered a1 a2 a3 a6; a3 took 960 h > 30 days; open a4 a5 a7, of them a4 (deadline
    # 9 April) and a7 (30 March) are past their deadline on 10 April; a4 extended; answered at least once
    # a1 a2 a3 a5 a6, of them reopened a5 a6; a2 unrated; ratings 5, 2, 1, 2, 4; c2 was redirected by E.
    assert (e.received, e.answered, e.on_time, e.overdue, e.extensions) == (7, 4, 3, 2, 1)
    assert (e.median_hours, e.p90_hours) == (48, 960)  # 24 48 100 960: ranks 2 and 4
    assert (e.redirects, e.late_redirects) == (1, 0)
    assert e.on_time_share == 3 / 4 and e.answered_share == 4 / 7
    assert e.mean_rating == (5 + 2 + 1 + 2 + 4) / 5 and e.satisfied_share == 2 / 5
    assert e.reopened_share == 2 / 5 and e.unrated_share == 1 / 4
    # T: b1 b2 answered in 10 h and 200 h, both rated (4, 3); b3 open, due 11 April; redirected nothing itself.
    assert (t.received, t.answered, t.on_time, t.overdue, t.redirects) == (3, 2, 2, 0, 0)
    assert (t.median_hours, t.p90_hours, t.mean_rating, t.satisfied_share) == (10, 200, 3.5, 1 / 2)
    assert (t.reopened_share, t.unrated_share) == (0, 0)
    # ED: c1 answered in 5 h, unrated; c2 open, due 15 April; ED redirected b3 late.
    assert (ed.received, ed.answered, ed.median_hours, ed.mean_rating, ed.unrated_share) == (2, 1, 5, None, 1)
    assert (ed.redirects, ed.late_redirects) == (1, 1)
    assert by_ministry["health"].received == 0 and by_ministry["health"].on_time_share is None
    by_sector = {f.key: f for f in report.sectors}
    housing = by_sector["housing"]  # a1 a2 a4 a5 a7
    assert (housing.received, housing.answered, housing.overdue, housing.ratings, housing.mean_rating) == (
        5, 2, 2, 2, (5 + 1) / 2)
    assert housing.reopened_share == 1 / 3  # a5 of a1 a2 a5
    assert (by_sector["roads"].redirects, by_sector["roads"].late_redirects) == (1, 1)  # b3
    assert (by_sector["education"].redirects, by_sector["education"].late_redirects) == (1, 0)  # c2
    total = report.total
    assert (total.received, total.answered, total.on_time, total.overdue, total.ratings) == (12, 7, 6, 2, 7)
    assert total.median_hours == 48  # 5 10 24 48 100 200 960: rank 4


async def test_the_ranking_orders_ministries_by_the_composite_index(app: App, world: dict[str, int]) -> None:
    period = parse_period(MARCH, NOW, app.settings.region.zone)
    async with app.sessionmaker() as session:
        report = await reports.build_report(session, app.settings, period, NOW)
    standings = reports.ranking(report, app.settings)
    # docs/ranking.md with weights 0.1 / 0.3 / 0.3 / 0.3 and a 30-day term (720 h); the most answered is E (4).
    t = 100 * (0.1 * 2 / 4 + 0.3 * (0.5 * 1 + 0.5 * (1 - 10 / 720)) + 0.3 * (0.5 * 2.5 / 4 + 0.5 * 0.5)
               + 0.3 * (0.5 * 2 / 3 + 0.5 * 1))
    ed = 100 * (0.1 * 1 / 4 + 0.3 * (0.5 * 1 + 0.5 * (1 - 5 / 720)) + 0.3 * 0.5 + 0.3 * (0.5 * 1 / 2 + 0.5 * 1))
    e = 100 * (0.1 * 1 + 0.3 * (0.5 * 0.75 + 0.5 * (1 - 48 / 720)) + 0.3 * (0.5 * 1.8 / 4 + 0.5 * 0.4)
               + 0.3 * (0.5 * 4 / 7 + 0.5 * 0.6))
    assert [(s.place, s.figures.key) for s in standings] == [
        (1, "transport_roads"), (2, "education"), (3, "energy_housing")]
    assert [s.index for s in standings] == [round(t, 1), round(ed, 1), round(e, 1)] == [76.7, 69.9, 65.6]


# --- the supervisor's commands --------------------------------------------------------------------

async def test_stats_answer_with_a_table_and_a_png_chart(app: App, world: dict[str, int]) -> None:
    chief = await supervisor(app)
    replies = await ask(app, chief, f"/stats {MARCH}")
    text = text_of(replies)
    assert "01.03.2026–31.03.2026" in text
    # Readable on a phone: a summary, then one short line per ministry that had appeals, no abbreviations.
    assert "Поступило: 12\nОтвечено: 7, из них в срок 86%\nПросрочено сейчас: 2" in text
    assert f"• {E}: поступило 7, отвечено 4, в срок 75%, просрочено 2, оценка 2,8" in text
    assert "Министерство здравоохранения" not in text  # no appeals in March: no line
    assert all(len(line) <= 120 for line in text.splitlines())
    assert not any(word in text for word in ("пост.", "отв.", "проср.", "дн."))
    width, height = png_size(only_file(replies))
    assert 600 <= width <= 2000 and 300 <= height <= 2000


async def test_ranking_answers_with_places_and_a_chart(app: App, world: dict[str, int]) -> None:
    chief = await supervisor(app, role="admin")
    replies = await ask(app, chief, f"/ranking {MARCH}")
    lines = text_of(replies).splitlines()
    assert [line.split(" — ")[0] for line in lines if line[:2] in ("1.", "2.", "3.")] == [
        f"1. {T}", f"2. {ED}", f"3. {E}"]
    assert f"1. {T} — 76,7" in text_of(replies)
    width, height = png_size(only_file(replies))
    assert 600 <= width <= 2000 and 300 <= height <= 2000


async def test_the_workbook_holds_the_same_numbers_as_stats(app: App, world: dict[str, int]) -> None:
    chief = await supervisor(app)
    replies = await ask(app, chief, f"/export {MARCH}")
    path = only_file(replies)
    assert replies[0].attachments[0].kind == "document" and path.suffix == ".xlsx"
    book = load_workbook(path)
    assert book.sheetnames == ["Обращения", "Министерства", "Направления", "Оценки"]
    ministries = {row[0]: row for row in book["Министерства"].iter_rows(min_row=2, values_only=True)}
    assert ministries[E][:14] == (E, 7, 4, 0.75, 2.0, 40.0, 2, 1, 0, 1, 2.8, 0.4, 0.4, 0.25)
    assert ministries[T][14:] == (1, 76.7)
    assert ministries["Всего"][1:3] == (12, 7)
    header = [cell.value for cell in book["Обращения"][1]]
    assert header[:3] == ["Номер", "Зарегистрировано", "Направление"]
    appeals = list(book["Обращения"].iter_rows(min_row=2, values_only=True))
    assert len(appeals) == 12
    first = appeals[0]  # a7: 28.02 21:30 UTC is 01.03 00:30 in Moscow, written as the local time
    assert first[1] == datetime(2026, 3, 1, 0, 30) and book["Обращения"]["B2"].number_format == "DD.MM.YYYY HH:MM"
    assert book["Обращения"].column_dimensions["A"].width == 18
    assert len(list(book["Оценки"].iter_rows(min_row=2))) == 7  # 5 (E) + 2 (T); x2 is April
    # The same numbers as /stats for the same period.
    stats = text_of(await ask(app, chief, f"/stats {MARCH}"))
    assert f"{E}: поступило {ministries[E][1]}, отвечено {ministries[E][2]}, в срок 75%" in stats


async def test_citizens_and_operators_are_refused_politely(app: App, citizen: Chat) -> None:
    operator = await supervisor(app, "5002", role="operator")
    for chat in (citizen, operator):
        for command in ("/stats", "/ranking месяц", "/export"):
            await chat.send(command)
            assert "только сотрудникам ЦУР" in chat.text, command
            assert not [a for r in chat.replies for a in r.attachments]
    async with app.sessionmaker() as session:
        assert (await session.scalars(select(ReportRequest))).all() == []


async def test_a_period_not_understood_is_explained(app: App) -> None:
    chief = await supervisor(app)
    await chief.send("/stats позавчера")
    assert "Не понял период" in chief.text and "прошлый месяц" in chief.text


# --- the weekly digest and the command line -------------------------------------------------------

async def test_the_weekly_digest_goes_to_each_supervisor_once(app: App, world: dict[str, int], clock: Clock) -> None:
    await supervisor(app)
    async with app.sessionmaker() as session, session.begin():
        session.add(AppealEvent(appeal_id=world["a7"], kind="overdue", status="registered", details={},
                                at=datetime(2026, 3, 3, 6, 0, tzinfo=UTC)))
    scan = (app.sessionmaker, app.settings, app.calendar)
    sunday = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
    assert await report_scans.scan_weekly_digest(*scan, sunday) == 0  # not in working hours: it waits
    holiday = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # Monday, but the day off for 8 March (a Sunday)
    assert await report_scans.scan_weekly_digest(*scan, holiday) == 0
    tuesday = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 10:00 in Moscow, the first working morning
    assert await report_scans.scan_weekly_digest(*scan, tuesday) == 1
    assert await report_scans.scan_weekly_digest(*scan, tuesday + timedelta(hours=3)) == 0
    async with app.sessionmaker() as session:
        digest = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key.like("digest:weekly:%")))
    assert digest is not None
    text = digest.reply["text"]
    # The week 2–8 March: a1..a6 (a7 came on Sunday 1 March); a1 a2 a3 a6 answered, all on time but a3.
    assert "Итоги недели 02.03.2026–08.03.2026" in text and "Всего: поступило 6, отвечено 4 (75% в срок)" in text
    assert f"1. {E}" in text
    # a7's deadline, 30 March 21:30 UTC, is 31 March in Moscow.
    assert "Стали просроченными за неделю: 1" in text and "ЦУР-2026-000007" in text and "срок был 31.03.2026" in text


async def test_the_command_line_prints_stats_and_writes_the_workbook(app: App, world: dict[str, int],
                                                                    tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    cli_reports.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", "stats", "--from", "2026-03-01", "--to", "2026-03-31"])
    output = io.StringIO()
    with redirect_stdout(output):
        assert await args.handler(args, app) == 0
    assert f"{E}: поступило 7, отвечено 4 (75% в срок)" in output.getvalue()
    out = tmp_path / "march.xlsx"
    args = parser.parse_args(["report", "export", "--from", "2026-03-01", "--to", "2026-03-31", "--out", str(out)])
    with redirect_stdout(io.StringIO()):
        assert await args.handler(args, app) == 0
    assert load_workbook(out)["Министерства"]["B2"].value == 7
    chart = tmp_path / "ranking.png"
    args = parser.parse_args(["report", "ranking", "--from", "2026-03-01", "--to", "2026-03-31", "--out", str(chart)])
    with redirect_stdout(io.StringIO()):
        assert await args.handler(args, app) == 0
    assert png_size(chart)[0] >= 600
    args = parser.parse_args(["report", "ranking", "--from", "2026-03-31", "--to", "2026-03-01"])
    with redirect_stdout(io.StringIO()):
        assert await args.handler(args, app) == 2


@pytest.mark.sqlite_only("the query plan of SQLite's report index")
async def test_sqlite_reads_the_statistics_from_the_report_index_without_sorting(app: App) -> None:
    period = parse_period(MARCH, NOW, app.settings.region.zone)
    async with app.sessionmaker() as session:
        query = ReportRepo(session).cells_query(period.start, period.end, NOW)
        compiled = query.compile(dialect=session.bind.dialect)
        params = tuple(str(compiled.params[name]) for name in compiled.positiontup or ())
        connection = await session.connection()
        plan = " | ".join(row[-1] for row in await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params))
    # The grouped rows come in index order: one read, no temporary b-tree (bench/report.py: a million in ~1 s).
    assert "COVERING INDEX ix_appeals_report" in plan and "TEMP B-TREE" not in plan, plan
