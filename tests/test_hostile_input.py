"""Hostile input that is not a messenger's business: formulas in exports, ids, lengths, NUL bytes, phones,
locations, documents by their content, floods, control characters, LIKE wildcards, logs."""

from __future__ import annotations

import argparse
import io
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot import cli_privacy
from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.events import Attachment, Button, Reply
from bot.payloads import make
from bot.presenters import report_files as exports
from bot.services import validation
from storage.models import Appeal, AppealAttachment, Conversation, User
from storage.repositories import Repositories
from tests.conftest import Clock
from tests.test_ministry_work import Office, submit
from tests.test_ratings import answered_appeal, person
from tests.test_reports import ask, only_file, supervisor
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
    chief = await supervisor(app)
    sheet = load_workbook(only_file(await ask(app, chief, "/export")))["Оценки"]
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


# --- what is stored: lengths, NUL bytes, phones, locations, documents -----------------------------

async def start_appeal(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")


async def draft_of(app: App, citizen: Chat) -> dict[str, Any]:
    async with app.sessionmaker() as session:
        conversation = await session.get(Conversation, ("console", citizen.user_id))
        assert conversation is not None
        return dict(conversation.data.get("draft") or {})


async def test_nul_bytes_and_over_long_names_are_stored_clean_and_cut_to_the_column(
        app: App, citizen: Chat, tmp_path: Path) -> None:
    await start_appeal(citizen)
    await citizen.send("Петрова\x00 Анна")
    await citizen.press("Пропустить")
    await citizen.press("ЖКХ")
    await citizen.press("освещение")
    await citizen.send("Во дворе\x00 не горят фонари, вечером темно и опасно.")
    await citizen.press("Готово")
    long_name = "скан-" + "я" * 400 + ".pdf"
    await citizen.attach(Attachment("document", "file-ref-1", "console", long_name, size=10,
                                    mime="application/" + "x" * 300))
    await citizen.press("Готово")
    await citizen.send("г. Энск,\x00 ул. Садовая, 5")
    await citizen.press("Отправить")
    assert "зарегистрировано" in citizen.text  # on PostgreSQL too, which refuses NUL and long VARCHARs
    async with app.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal))
        file = await session.scalar(select(AppealAttachment))
    assert appeal is not None and file is not None
    assert "\x00" not in (appeal.citizen_name or "") + (appeal.text or "") + (appeal.address or "")
    assert appeal.citizen_name == "Петрова Анна"
    assert len(file.name) == 255 and file.name.endswith(".pdf") and len(file.mime) == 127


async def test_every_string_column_is_cut_to_its_length_on_both_databases(app: App) -> None:
    async with app.sessionmaker() as session, session.begin():
        session.add(User(channel="console", platform_id="p1", chat_id="p1", language="ru",
                         display_name="Я" * 500 + "\x00", unreachable_reason="x\x00" * 300))
    async with app.sessionmaker() as session:
        user = await session.scalar(select(User).where(User.platform_id == "p1"))
    assert user is not None and user.display_name == "Я" * 200 and user.unreachable_reason == "x" * 200


async def test_a_message_longer_than_any_field_is_refused_and_nothing_stored(app: App, citizen: Chat) -> None:
    await start_appeal(citizen)
    await citizen.send("Петрова Анна")
    before = await draft_of(app, citizen)
    await citizen.send("а" * (app.settings.limits.text_max_length + 1))
    assert "не принято" in citizen.text and "телефон" in citizen.text  # the step is asked again
    assert await draft_of(app, citizen) == before


@pytest.mark.parametrize(("typed", "stored"), [
    ("＋７ ９１２ ３４５-６７-８９", "+79123456789"),  # full-width, as some keyboards type
    ("8 (912) 345-67-89", "+79123456789"),
    ("+81 3 1234 5678", "+81312345678"),  # foreign: kept as typed, not made Russian
    ("+44 20 7946 0958", "+442079460958"),
])
async def test_phones_are_normalised_to_ascii_digits(app: App, citizen: Chat, typed: str, stored: str) -> None:
    await start_appeal(citizen)
    await citizen.send("Петрова Анна")
    await citizen.send(typed)
    assert (await draft_of(app, citizen))["phone"] == stored


@pytest.mark.parametrize("typed", ["+7 ٩١٢ ٣٤٥ ٦٧ ٨٩", "+7 912 ３４５ ٦٧ 89", "12345"])
async def test_phones_in_other_digits_are_refused_politely(app: App, citizen: Chat, typed: str) -> None:
    await start_appeal(citizen)
    await citizen.send("Петрова Анна")
    await citizen.send(typed)
    assert "Не похоже на номер телефона" in citizen.text and (await draft_of(app, citizen)).get("phone") is None


@pytest.mark.parametrize(("latitude", "longitude"), [(91.0, 30.0), (55.7, 180.5), (-90.5, 0.0),
                                                     (float("nan"), 30.0), (55.7, float("inf"))])
async def test_a_location_off_the_globe_is_refused(app: App, citizen: Chat, latitude: float,
                                                   longitude: float) -> None:
    await start_appeal(citizen)
    await citizen.send("Петрова Анна")
    await citizen.press("Пропустить")
    await citizen.press("ЖКХ")
    await citizen.press("освещение")
    await citizen.send("Во дворе не горят фонари, вечером темно и опасно.")
    await citizen.press("Готово")
    await citizen.press("Пропустить")
    await citizen.share_location(latitude, longitude)
    assert "таких координат не бывает" in citizen.text and "адрес" in citizen.text
    assert (await draft_of(app, citizen)).get("latitude") is None
    await citizen.share_location(55.75, 37.62)
    assert (await draft_of(app, citizen))["latitude"] == 55.75


async def test_documents_are_judged_by_their_content_not_their_name(app: App, citizen: Chat, tmp_path: Path) -> None:
    await start_appeal(citizen)
    await citizen.send("Петрова Анна")
    await citizen.press("Пропустить")
    await citizen.press("ЖКХ")
    await citizen.press("освещение")
    await citizen.send("Во дворе не горят фонари, вечером темно и опасно.")
    await citizen.press("Готово")
    program, scan = tmp_path / "акт.pdf", tmp_path / "скан.pdf"
    program.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 4)
    scan.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    await citizen.attach(Attachment("document", str(program), "console", program.name, size=64))
    assert "«акт.pdf» не добавлен" in citizen.text and "по содержимому" in citizen.text
    await citizen.attach(Attachment("document", str(scan), "console", scan.name, size=24))
    assert [a["name"] for a in (await draft_of(app, citizen))["attachments"]] == ["скан.pdf"]


@pytest.mark.parametrize(("head", "kind"), [
    (b"%PDF-1.4", "pdf"), (b"PK\x03\x04\x14\x00", "office"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "office"),
    (b"{\\rtf1\\ansi", "rtf"), (b"\xff\xd8\xff\xe0", "image"), ("Заявление о ремонте".encode(), "text"),
    (b"MZ\x90\x00", None), (b"\x7fELF\x02\x01\x01", None), (b"<html><script>", None), (b"\x00\x01\x02", None),
])
def test_document_content_by_magic_bytes(head: bytes, kind: str | None) -> None:
    assert validation.document_content(head) == kind


# --- the console and the privacy lookup ----------------------------------------------------------

def test_the_console_shows_control_characters_from_users_escaped() -> None:
    out = io.StringIO()
    channel = ConsoleChannel(handler=None, user="op", stdin=io.StringIO(), stdout=out)  # type: ignore[arg-type]
    channel.render([Reply(text="Фонари\x1b[2J\x1b[31m не горят\rПодмена\u202eтxт",
                          buttons=[[Button("Ответ\x07", "1:x")]])])
    shown = out.getvalue()
    assert "\x1b" not in shown and "\r" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert "\\x1b[2J" in shown and "\\x0d" in shown and "\\u202e" in shown and "Фонари" in shown


async def test_the_privacy_lookup_of_a_chat_does_not_treat_wildcards_as_wildcards(app: App) -> None:
    async with app.sessionmaker() as session, session.begin():
        for chat in ("group1/100", "group1/1000", "group2/1x0"):
            session.add(Conversation(channel="console", chat_id=chat, state="x", data={}))
    async with app.sessionmaker() as session:
        repo = Repositories(session)
        assert [c.chat_id for c in await repo.privacy.conversations("console", "1_0")] == []
        assert [c.chat_id for c in await repo.privacy.conversations("console", "%")] == []
        assert [c.chat_id for c in await repo.privacy.conversations("console", "100")] == ["group1/100"]
