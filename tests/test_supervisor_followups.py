"""The supervisor after the first week: periods as the bot prints them, a fair ranking, queues by name."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.services import reports
from bot.services.reports import Figures, parse_period
from storage.models import Appeal
from tests.conftest import Clock
from tests.test_ministry_work import Office, press_on, submit
from tests.test_reports import NOW, ask, at, supervisor, text_of, world  # noqa: F401  (the fixture of March 2026)
from tests.utils.chat import Chat

MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(("words", "first", "last"), [
    ("01.03.2026-31.03.2026", date(2026, 3, 1), date(2026, 3, 31)),
    ("01.03.2026 — 31.03.2026", date(2026, 3, 1), date(2026, 3, 31)),
    ("с 1.3.2026 по 31.03.2026", date(2026, 3, 1), date(2026, 3, 31)),
    ("01.03.2026..2026-03-31", date(2026, 3, 1), date(2026, 3, 31)),
    ("15.03.2026", date(2026, 3, 15), date(2026, 3, 15)),
])
def test_periods_as_the_bot_prints_dates(words: str, first: date, last: date, clock: Clock) -> None:
    period = parse_period(words, clock.now, MOSCOW)
    assert (period.first, period.last) == (first, last)


@pytest.mark.parametrize("words", ["31.02.2026-01.03.2026", "31.03.2026-01.03.2026", "1.3"])
def test_impossible_dates_are_refused(words: str, clock: Clock) -> None:
    with pytest.raises(reports.PeriodError):
        parse_period(words, clock.now, MOSCOW)


async def test_every_command_takes_dd_mm_yyyy_and_echoes_the_period(
        app: App, world: dict[str, int]) -> None:  # noqa: F811
    chief = await supervisor(app)
    for command in ("/stats", "/ranking", "/export"):
        await chief.send(f"{command} 01.03.2026-31.03.2026")
        assert "Готовлю отчёт за 01.03.2026–31.03.2026" in chief.text, command  # echoed at once
    assert "01.03.2026–31.03.2026" in text_of(await ask(app, chief, "/stats 01.03.2026-31.03.2026"))
    await chief.send("/stats 31.02.2026")
    assert "Не понял период" in chief.text and "01.01.2026-31.03.2026" in chief.text


def test_equal_scores_share_a_place_and_ministries_without_answers_are_not_ranked(app: App) -> None:
    same = {"received": 4, "answered": 2, "on_time": 2, "ever_answered": 2, "hours": {24: 2}}
    figures = [Figures("health", **same), Figures("education", **same),
               Figures("energy_housing", received=5, answered=4, on_time=1, ever_answered=4, hours={700: 4}),
               Figures("transport_roads", received=3)]
    standings = reports.rank(figures, app.settings.ranking, reports.legal_term_hours(app.settings))
    assert [(s.place, s.figures.key) for s in standings] == [(1, "education"), (1, "health"), (3, "energy_housing")]


async def test_the_ranking_says_no_data_for_ministries_without_answers(
        app: App, world: dict[str, int]) -> None:  # noqa: F811
    async with app.sessionmaker() as session, session.begin():
        citizen_id = (await session.get(Appeal, world["a1"])).citizen_id  # type: ignore[union-attr]
        session.add(Appeal(number="ЦУР-2026-000099", year=2026, seq=99, citizen_id=citizen_id, sector_id="health",
                           category_id="other", ministry_id="health", text="…", status="in_work",
                           registered_at=at(20), deadline_at=at(20) + timedelta(days=30)))
    chief = await supervisor(app)
    text = text_of(await ask(app, chief, "/ranking 01.03.2026-31.03.2026"))
    assert "Министерство здравоохранения — нет данных (поступило 1)" in text
    assert "Министерство труда и социального развития — нет данных (поступило 0)" in text
    ranked = [line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.", "4.")]
    assert len(ranked) == 3 and not any("здравоохранения" in line for line in ranked)


# --- queues -----------------------------------------------------------------------------------------

@pytest.fixture
def office(app: App, clock: Clock) -> Office:
    return Office(app, clock)


@pytest.mark.parametrize("name", ["энергетики", "Минэнерго", "Energy and Housing", "ЖКХ", "housing", "жкх"])
async def test_queue_takes_a_ministry_or_sector_by_its_short_name(office: Office, citizen: Chat, name: str) -> None:
    boss = await office.staff_member("boss", role="supervisor", ministry=None)
    await submit(citizen)
    await boss.send(f"/queue {name}")
    assert "ЦУР-2026-000001" in boss.text, boss.text
    await boss.send("/queue здравоохранения")
    assert "ЦУР-2026-000001" not in boss.text and "здравоохранения" in boss.text


async def test_an_unknown_name_lists_the_names_to_use(office: Office) -> None:
    boss = await office.staff_member("boss", role="supervisor", ministry=None)
    await boss.send("/queue марсианское")
    assert "Не нашёл" in boss.text and "здравоохранения" in boss.text and "ЖКХ" in boss.text


async def test_a_redirected_appeal_counts_for_its_new_ministry_and_sector_everywhere(
        office: Office, citizen: Chat, clock: Clock) -> None:
    ivan = await office.staff_member("ivan")
    boss = await office.staff_member("boss", role="supervisor", ministry=None)
    await submit(citizen)
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Перенаправить"))
    await ivan.press("здравоохранения")
    await ivan.send("Это вопрос поликлиники во дворе.")
    await boss.send("/queue")
    line = next(line for line in boss.text.splitlines() if "ЦУР-2026-000001" in line)
    assert "Министерство здравоохранения" in line and "Здравоохранение" in line  # its current ministry and sector
    await boss.send("/queue Здравоохранение")
    assert "ЦУР-2026-000001" in boss.text
    await boss.send("/queue ЖКХ")
    assert "ЦУР-2026-000001" not in boss.text
    async with office.app.sessionmaker() as session:
        report = await reports.build_report(session, office.app.settings,
                                            parse_period("месяц", clock.now, MOSCOW), clock.now)
    assert {f.key: f.received for f in report.sectors}["health"] == 1
    assert {f.key: f.received for f in report.ministries}["health"] == 1
    assert {f.key: f.received for f in report.sectors}["housing"] == 0


# --- charts and the workbook ------------------------------------------------------------------------

async def test_charts_count_in_whole_numbers_keep_the_legend_off_the_bars_and_write_a_decimal_comma(
        app: App, world: dict[str, int]) -> None:  # noqa: F811
    from bot.presenters import report_files as exports

    async with app.sessionmaker() as session:
        report = await reports.build_report(session, app.settings, parse_period("01.03.2026-31.03.2026", NOW, MOSCOW),
                                            NOW)
    names = [f.key for f in report.ministries]
    figure = exports._stats_figure(report.ministries, names, "ru", "март")
    figure.canvas.draw()
    (axes,) = figure.axes
    assert all(float(tick).is_integer() for tick in axes.get_xticks())
    legend = figure.legends[0].get_window_extent()
    assert not legend.overlaps(axes.get_window_extent())  # below the plot, not over a bar
    standings = reports.ranking(report, app.settings)
    figure = exports._ranking_figure(standings, [s.figures.key for s in standings], (0.1, 0.3, 0.3, 0.3), "ru", "март")
    figure.canvas.draw()
    labels = [text.get_text() for text in figure.axes[0].texts]
    assert labels[0] == "76,7" and not any("." in label for label in labels)
    assert not figure.legends[0].get_window_extent().overlaps(figure.axes[0].get_window_extent())


async def test_the_workbook_has_the_rating_the_applicant_and_text_marked_personal_and_filters_everywhere(
        app: App, world: dict[str, int]) -> None:  # noqa: F811
    from openpyxl import load_workbook
    from sqlalchemy import update

    async with app.sessionmaker() as session, session.begin():
        await session.execute(update(Appeal).where(Appeal.id == world["a1"]).values(
            citizen_name="Петрова Анна", text="=HYPERLINK(\"http://example.com\") фонари"))
    chief = await supervisor(app)
    replies = await ask(app, chief, "/export 01.03.2026-31.03.2026")
    path = next(a for r in replies for a in r.attachments).ref
    book = load_workbook(path)
    sheet = book["Обращения"]
    header = [cell.value for cell in sheet[1]]
    assert {"Оценка", "Заявитель (персональные данные)", "Текст обращения (персональные данные)"} <= set(header)
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    a1 = rows["ЦУР-2026-000001"]  # a1, rated 5
    assert a1["Оценка"] == 5 and a1["Заявитель (персональные данные)"] == "Петрова Анна"
    assert a1["Текст обращения (персональные данные)"].startswith("=HYPERLINK")
    column = header.index("Текст обращения (персональные данные)") + 1
    text_cell = sheet.cell(row=2 + list(rows).index("ЦУР-2026-000001"), column=column)
    assert text_cell.data_type == "s"  # words, not a formula
    for name in book.sheetnames:
        assert book[name].auto_filter.ref == book[name].dimensions, name
