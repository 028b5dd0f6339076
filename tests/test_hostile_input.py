"""Hostile input that is not a messenger's business: formulas in exports, ids, lengths, NUL bytes, phones,
locations, documents by their content, floods, control characters, LIKE wildcards, logs."""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.exc import IntegrityError

from bot import cli_privacy
from bot.app import App
from bot.services import exports
from handlers.payloads import make
from storage.models import User
from tests.conftest import Clock
from tests.test_ministry_work import Office, submit
from tests.test_ratings import answered_appeal, person
from tests.test_reports import only_file, supervisor
from tests.utils.chat import Chat

FORMULAS = ['=HYPERLINK("http://evil.example";"click")', "+7 495 000", "-2+3", "@SUM(A1:A9)"]


async def test_comments_that_look_like_formulas_are_exported_as_text(app: App, citizen: Chat, clock: Clock,
                                                                      tmp_path: Path) -> None:
    user = await person(app, citizen)
    for comment in FORMULAS:
        appeal_id = await answered_appeal(app, user, clock.now - timedelta(hours=2))
        await citizen.press_payload(make("rate", appeal_id, 2))
        await citizen.send(comment)
        assert "Комментарий сохранён" in citizen.text
    app.conversations.extras["exports_dir"] = str(tmp_path)
    chief = await supervisor(app)
    await chief.send("/export")
    sheet = load_workbook(only_file(chief.replies))["Оценки"]
    cells = [row[5] for row in sheet.iter_rows(min_row=2)]
    assert sorted(c.value for c in cells) == sorted(FORMULAS)
    assert all(c.data_type == "s" and c.quotePrefix for c in cells), "a formula in the supervisor's workbook"


def test_tab_and_carriage_return_starts_are_text_too(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    columns = [("export.number", None, 10), ("export.comment", None, 10)]
    exports._write_workbook(path, "ru", [("s", columns, [["\t=1+1", "\r=2+2"], ["=3+3", "plain"]])])
    rows = list(load_workbook(path).active.iter_rows(min_row=2))
    assert [(c.value, c.data_type) for c in rows[0]] == [("\t=1+1", "s"), ("\r=2+2", "s")]
    assert (rows[1][0].value, rows[1][0].data_type, rows[1][1].quotePrefix) == ("=3+3", "s", False)


@pytest.mark.parametrize("forged", ["1:open:²", "1:open:٣", "1:open:99999999999", "1:open:2147483648",
                                    "1:rate:²:5", "1:op:ans:99999999999", "1:clreply:12345678901"])
async def test_ids_that_are_not_ascii_digits_or_beyond_the_column_get_a_polite_refusal(
        app: App, citizen: Chat, forged: str) -> None:
    await person(app, citizen)
    await citizen.press_payload(forged)
    assert citizen.replies and "что-то пошло не так" not in citizen.text, citizen.text


async def test_refused_ids_count_for_the_rate_limiter(app: App, citizen: Chat) -> None:
    await person(app, citizen)  # one message
    for _ in range(app.settings.limits.messages_per_minute - 1):
        await citizen.press_payload("1:open:²")
    await citizen.press_payload("1:open:1")
    assert "слишком часто" in citizen.text


async def test_the_privacy_command_line_finds_nobody_for_a_strange_id(app: App,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for ref in ("²", "99999999999", "٣"):
        assert await cli_privacy.export_command(argparse.Namespace(user=ref), app) == 2
        assert "no such user" in capsys.readouterr().err


# --- logs -----------------------------------------------------------------------------------------

async def test_a_failed_statement_does_not_carry_its_parameters(app: App) -> None:
    marker = "Hiddenparam Phoneowner"
    async with app.sessionmaker() as session, session.begin():
        session.add(User(id=7, channel="console", platform_id="p7", chat_id="p7", language="ru"))
    with pytest.raises(IntegrityError) as failure:
        async with app.sessionmaker() as session, session.begin():
            session.add(User(id=7, channel="console", platform_id="p8", chat_id="p8", language="ru",
                             display_name=marker))
    assert marker not in str(failure.value) and "hidden" in str(failure.value)


async def test_an_operator_refused_mid_answer_is_logged_without_the_text(
        app: App, citizen: Chat, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    office = Office(app, clock)
    ivan = await office.staff_member("ivan")
    olga = await office.staff_member("olga")
    await submit(citizen)
    await ivan.press_payload(make("op", "clar", 1))
    await olga.press_payload(make("op", "ans", 1))
    await olga.send("Фонари заменены.")
    await olga.press("Готово")
    await olga.press("Отправить гражданину")
    await ivan.send("Zecretword: уточните, пожалуйста, подъезд")
    assert "refused" in caplog.text and "уже" in ivan.text, (caplog.text, ivan.text)
    assert "Zecretword" not in caplog.text
