"""Hostile input that is not a messenger's business: formulas in exports, ids, lengths, NUL bytes, phones,
locations, documents by their content, floods, control characters, LIKE wildcards, logs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook

from bot.app import App
from bot.services import exports
from handlers.payloads import make
from tests.conftest import Clock
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
