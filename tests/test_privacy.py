"""A person's data under 152-ФЗ: one whole life with a marker in every text, then erase or retention, and a
scan of every text column of every table for the markers; the export holds each marker; the log none.

Markers are ASCII words: the JSON columns store non-ASCII text escaped, and the scan must find a marker
wherever it is, so it reads the values back through SQLAlchemy (JSON decoded) and looks for plain words.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, String, Text, select

from bot.app import App
from bot.events import Attachment, Reply
from bot.payloads import make
from bot.scheduler import build_scheduler
from bot.services import privacy, staff
from bot.services.followups import JOIN_WINDOW
from bot.services.outbox import notify
from storage.models import Appeal, Base, Consent, User
from storage.repositories import Repositories
from tests.conftest import Clock
from tests.test_ministry_work import Office, press_on, submit
from tests.utils.chat import Chat

MARKERS = {
    "platform name": "Xplatformname",
    "name": "Zubrova Mkname",
    "phone": "9125550177",
    "text": "mktextword",
    "address": "Mkaddressstreet",
    "file name": "mkfilename.jpg",
    "file ref": "mkfileref",
    "question": "mkquestion",
    "clarification": "mkclarifyreply",
    "clarification file": "mkclarifile.pdf",
    "redirect reason": "mkredirectreason",
    "answer": "mkanswerword",
    "comment": "mkcommentword",
    "second answer": "mksecondanswer",
    "group name": "Grouova Mkmember",
    "draft": "Draftova Mkdraft",
}
# What retention keeps while the person is still with us: their account's name and their place in a group.
KEPT_BY_RETENTION = {"platform name", "group name"}


async def live_a_whole_life(app: App, clock: Clock, office: Office) -> Chat:
    """Appeal with files, clarification, redirect, answer, low rating with comment, reopening, a second answer,
    expert-group membership, and a new appeal half-written: staff and citizen type a marker at each step."""
    ivan = await office.staff_member("ivan")
    roma = await office.staff_member("roma", ministry="transport_roads")
    citizen = Chat(app.conversations, user_id="1001")
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send(MARKERS["name"])
    await citizen.send("+7 (912) 555-01-77")
    await citizen.press("ЖКХ")
    await citizen.press("освещение")
    typed = citizen._event(text=f"Во дворе не горят фонари, {MARKERS['text']}, вечером темно и опасно.")
    await citizen.feed(typed)
    await citizen.feed(typed)  # redelivered by the messenger: answered again, logged
    await citizen.press("Готово")
    await citizen.attach(Attachment("photo", f"/tmp/{MARKERS['file ref']}.jpg", "console", MARKERS["file name"],
                                    size=1000))
    await citizen.press("Готово")
    await citizen.send(f"г. Энск, ул. {MARKERS['address']}, 5")
    await citizen.press("Отправить")
    assert "зарегистрировано" in citizen.text
    await office.deliver()

    await ivan.press_payload(make("operator.card", "clar", 1))
    await ivan.send(f"Уточните подъезд, {MARKERS['question']}.")
    await ivan.press("Отправить гражданину")
    await office.deliver()
    await citizen.press_payload(press_on(citizen, office.last(citizen), "Ответить"))
    await citizen.attach(Attachment("document", "doc-ref-1", "console", MARKERS["clarification file"], size=10,
                                    mime="application/pdf"), caption=f"Второй подъезд, {MARKERS['clarification']}")
    assert "Спасибо" in citizen.text
    clock.now += JOIN_WINDOW  # the reply reaches the ministry once the citizen has had time to add to it
    await office.deliver()

    await ivan.press_payload(make("operator.card", "redir", 1))
    await ivan.press("Министерство транспорта")
    await ivan.send(f"Фонари у дороги обслуживает дорожное хозяйство, {MARKERS['redirect reason']}.")
    await office.deliver()
    await ivan.press_payload(make("operator.card", "ans", 1))  # no longer theirs: refused, logged
    await ivan.send(f"{MARKERS['answer']} typed after the refusal")
    await citizen.press_payload(f"2:nosuchverb:{MARKERS['text']}")  # a forged button, logged

    await roma.press_payload(make("operator.card", "ans", 1))
    await roma.send(f"Фонари заменим до конца месяца, {MARKERS['answer']}.")
    await roma.press("Готово")
    await roma.press("Отправить гражданину")
    await office.deliver()
    appeal_id = 1
    await citizen.press_payload(make("rating.rate", appeal_id, 1))
    await citizen.send(f"Так и не горят, {MARKERS['comment']}.")
    await citizen.press("Возобновить")
    assert "возобновлено" in citizen.text
    await office.deliver()
    await roma.press_payload(make("operator.card", "ans", 1))
    await roma.send(f"Заменили все фонари, {MARKERS['second answer']}.")
    await roma.press("Готово")
    await roma.press("Отправить гражданину")
    await office.deliver()
    await citizen.press_payload(make("rating.rate", appeal_id, 5))

    async with app.sessionmaker() as session, session.begin():
        code = (await staff.create_invite(Repositories(session), app.settings, "member", None, clock(),
                                          group_id="nsi")).code
    await citizen.feed(citizen._event(text=f"/start {code}", user_name=f"Anna {MARKERS['platform name']}"))
    await citizen.send(MARKERS["group name"])
    assert "имя сохранено" in citizen.text

    await citizen.send("/new")
    await citizen.send(MARKERS["draft"])
    assert "телефон" in citizen.text.lower()
    await office.deliver()
    return citizen


async def markers_stored(app: App) -> dict[str, list[str]]:
    """Each marker found in any text column of any table: where ("table.column")."""
    found: dict[str, list[str]] = {}
    async with app.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
            if not columns:
                continue
            for row in (await session.execute(select(*columns))).all():
                for column, value in zip(columns, row, strict=True):
                    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
                    for what, marker in MARKERS.items():
                        if marker.casefold() in text.casefold():
                            found.setdefault(what, []).append(f"{table.name}.{column.name}")
    return found


async def user_of(app: App, platform_id: str) -> User:
    async with app.sessionmaker() as session:
        user = await Repositories(session).users.find("console", platform_id)
        assert user is not None
        return user


async def exported(app: App, platform_id: str) -> dict[str, Any]:
    async with app.sessionmaker() as session:
        repo = Repositories(session)
        user = await repo.users.find("console", platform_id)
        assert user is not None
        return await privacy.export(repo, user)


async def test_erase_leaves_no_marker_in_any_column_the_export_has_them_all_and_the_log_none(
        app: App, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    office = Office(app, clock)
    await live_a_whole_life(app, clock, office)
    assert set(await markers_stored(app)) == set(MARKERS), "the life stored every marker somewhere"
    data = json.dumps(await exported(app, "1001"), ensure_ascii=False)
    assert [what for what, marker in MARKERS.items() if marker not in data] == []

    async with app.sessionmaker() as session, session.begin():
        repo = Repositories(session)
        user = await repo.users.find("console", "1001")
        assert user is not None and await privacy.erase(repo, user) == 1

    assert await markers_stored(app) == {}
    async with app.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None  # statistics keep what they need
        assert (appeal.number, appeal.ministry_id, appeal.status, appeal.reopen_count) == (
            "ЦУР-2026-000001", "transport_roads", "rated", 1)
        assert app.settings.sectors[appeal.sector_id].ministry == "transport_roads"  # counts for the new ministry
    assert len(caplog.records) >= 3  # a replay, a refusal, a stale button: the log was written, without data
    leaked = [what for what, marker in MARKERS.items() if marker.casefold() in caplog.text.casefold()]
    assert leaked == [], "personal data in the log"


async def test_retention_leaves_no_marker_of_the_closed_appeal_or_the_abandoned_draft(
        app: App, clock: Clock) -> None:
    office = Office(app, clock)
    await live_a_whole_life(app, clock, office)
    clock.now += timedelta(days=app.settings.privacy.retention_days + 1)
    assert await build_scheduler(app, clock).run("privacy-retention") == 1
    found = await markers_stored(app)
    assert set(found) <= KEPT_BY_RETENTION, found
    user = await user_of(app, "1001")
    assert user.display_name and MARKERS["platform name"] in user.display_name  # the account itself stays


async def test_stored_replies_are_pruned_after_the_configured_days(app: App, clock: Clock) -> None:
    citizen = Chat(app.conversations, user_id="1001")
    await citizen.send("/start")
    event = citizen._event(text="/help")
    first = await citizen.feed(event)
    clock.now += timedelta(days=app.settings.privacy.update_replies_days - 1)
    await build_scheduler(app, clock).run("privacy-retention")
    assert [r.text for r in await citizen.feed(event)] == [r.text for r in first]  # still answered again
    clock.now += timedelta(days=2)
    await build_scheduler(app, clock).run("privacy-retention")
    async with app.sessionmaker() as session:
        assert await Repositories(session).updates.replies_of(event.update_key) == []


async def test_the_citizen_downloads_their_data_and_withdraws_consent_in_the_chat(app: App, clock: Clock) -> None:
    office = Office(app, clock)
    ivan = await office.staff_member("ivan")
    citizen = Chat(app.conversations, user_id="1001")
    await citizen.send("/new")
    assert "/withdraw" in citizen.text and "/mydata" in citizen.text  # the consent text says how
    await submit(citizen)
    await office.deliver()
    await citizen.send("/help")
    assert "/mydata" in citizen.text and "/withdraw" in citizen.text

    await citizen.send("/mydata")
    (file,) = citizen.replies[0].attachments
    path = Path(file.ref)
    assert file.kind == "document" and file.name.endswith(".json")
    assert path.stat().st_mode & 0o077 == 0  # noqa: ASYNC240  (a test reading the file the bot wrote)
    data = json.loads(path.read_text(encoding="utf-8"))  # noqa: ASYNC240
    assert data["appeals"][0]["name"] == "Петрова Анна" and data["consents"][0]["accepted"] is True
    assert data["appeals"][0]["number"] == "ЦУР-2026-000001"

    await citizen.send("/withdraw")
    assert "1 открытое обращение" in citizen.text
    await citizen.press("Нет")
    assert "ничего не изменилось" in citizen.text and (await office.appeal()).status == "registered"
    await citizen.send("/withdraw")
    await citizen.press("Да, отозвать")
    assert "Согласие отозвано" in citizen.text
    appeal = await office.appeal()
    assert (appeal.status, appeal.citizen_name, appeal.text) == ("withdrawn", None, privacy.ERASED)
    assert "withdrawn" in await office.events()
    await office.deliver()
    notice = office.last(ivan)
    assert "ЦУР-2026-000001 отозвано" in notice.text and "Петрова" not in notice.text
    card = office.sender.edits[-1][2]  # the card in the operator's chat, edited: no data, no buttons
    assert "отозвано" in card.text and "Петрова" not in card.text and card.buttons == []
    async with app.sessionmaker() as session:
        consents = (await session.scalars(select(Consent.accepted).order_by(Consent.id))).all()
    assert list(consents) == [True, False]  # the withdrawal is kept as evidence
    await citizen.send("/new")
    assert "Вы согласны" in citizen.text  # a new, empty account


async def test_someone_elses_message_that_names_the_person_still_goes_with_the_name_taken_out(
        app: App, clock: Clock) -> None:
    office = Office(app, clock)
    citizen = await live_a_whole_life(app, clock, office)
    other = Chat(app.conversations, user_id="2002")
    await other.send("/start")
    roster = f"Состав группы: {MARKERS['group name']}, Иванов Иван. Ваш телефон для связи: +7 900 000-00-00."
    async with app.sessionmaker() as session, session.begin():
        await notify(Repositories(session), "console", "2002", Reply(text=roster), dedup_key="roster:1", now=clock())
    async with app.sessionmaker() as session, session.begin():
        repo = Repositories(session)
        user = await repo.users.find("console", citizen.user_id)
        assert user is not None
        await privacy.erase(repo, user)
    await office.deliver()
    assert office.sender.last("2002").text == roster.replace(MARKERS["group name"], privacy.ERASED)


async def test_the_export_shows_a_members_answers_arrivals_and_ballots(app: App) -> None:
    from tests.test_meeting_rules import msk, open_item_vote, open_meeting, press, schedule, seed

    people = await seed(app)
    meeting_id = await schedule(app, people[2], msk(2026, 11, 23), msk(2026, 12, 3, 15))
    at = msk(2026, 12, 3, 15, 10)
    await open_meeting(app, people, meeting_id, at, present=[1, 2, 3, 4])
    vote_id = await open_item_vote(app, people, meeting_id, at)
    await press(app, people[3], vote_id, "a", at)
    async with app.sessionmaker() as session:
        repo = Repositories(session)
        user = await repo.users.get(people[3].id)
        assert user is not None
        part = (await privacy.export(repo, user))["meetings"]
    assert [(b["vote"], b["choice"]) for b in part["ballots"]] == [(vote_id, "against")]
    assert [(m["meeting"], m["arrived"]) for m in part["arrivals_and_departures"]] == [(meeting_id, True)]
    assert [a["meeting"] for a in part["answers_to_notices"]] == [meeting_id]
