"""The weeks after registration, as the citizen lives them: replies, questions after an answer, /my."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.events import Attachment
from bot.services.followups import JOIN_WINDOW
from tests.conftest import Clock
from tests.test_ministry_work import Office, press_on, submit
from tests.utils.chat import Chat


@pytest.fixture
def office(app: App, clock: Clock) -> Office:
    return Office(app, clock)


async def ask_to_clarify(office: Office, operator: Chat, number: str, question: str) -> None:
    await operator.send(f"/appeal {number}")
    await operator.press("Уточнить")
    await operator.send(question)
    await operator.press("Отправить")
    await office.deliver()


async def answer(office: Office, operator: Chat, number: str, text: str) -> None:
    await operator.send(f"/appeal {number}")
    await operator.press("Ответить")
    await operator.send(text)
    await operator.press("Готово")
    await operator.press("Отправить гражданину")
    await office.deliver()


def labels(chat: Chat) -> list[str]:
    return [b.label for r in chat.replies for row in r.buttons for b in row]


async def test_plain_messages_within_the_window_join_one_reply_that_reaches_the_operator_with_files(
        office: Office, citizen: Chat, clock: Clock) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    await ask_to_clarify(office, ivan, "ЦУР-2026-000001", "Уточните номер подъезда.")
    before = len(office.inbox(ivan))
    await citizen.send("Второй подъезд, со стороны парковки.")
    assert "Спасибо" in citizen.text and "ЦУР-2026-000001" in citizen.text and "2 минут" in citizen.text
    clock.now += JOIN_WINDOW / 2
    await citizen.attach(Attachment("photo", "/tmp/entrance.jpg", "console", "entrance.jpg", size=900))
    assert "Добавлено к уточнению" in citizen.text
    await citizen.send("И фонарь у третьего подъезда тоже.")
    await office.deliver()
    assert len(office.inbox(ivan)) == before  # still within the window: nothing yet
    clock.now += JOIN_WINDOW
    await office.deliver()
    received = [r for r in office.inbox(ivan)[before:] if "ответил на уточнение" in r.text]
    assert len(received) == 1
    assert "Второй подъезд" in received[0].text and "третьего подъезда" in received[0].text
    assert [a.name for a in received[0].attachments] == ["entrance.jpg"]
    appeal = await office.appeal()
    assert appeal.status == "in_work"
    # Later, outside the window, a plain message is not a clarification any more.
    await citizen.send("Спасибо вам большое за работу!")
    assert "Добавлено" not in citizen.text


async def test_with_several_appeals_waiting_the_bot_asks_which_and_keeps_the_message(
        office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await submit(citizen)
    await office.deliver()
    await ask_to_clarify(office, ivan, "ЦУР-2026-000001", "Какой дом?")
    await ask_to_clarify(office, ivan, "ЦУР-2026-000002", "Какой двор?")
    await citizen.send("Дом 7, двор со стороны школы.")
    assert "К какому обращению" in citizen.text
    assert {"ЦУР-2026-000001", "ЦУР-2026-000002"} <= set(labels(citizen))
    await citizen.attach(Attachment("photo", "/tmp/yard.jpg", "console", "yard.jpg", size=900))
    await citizen.press("ЦУР-2026-000002")
    assert "Спасибо" in citizen.text and "ЦУР-2026-000002" in citizen.text
    assert (await office.appeal("ЦУР-2026-000002")).status == "in_work"
    assert (await office.appeal("ЦУР-2026-000001")).status == "clarification_requested"


async def test_after_an_answer_a_plain_message_asks_about_that_appeal_or_a_new_one(
        office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    await answer(office, ivan, "ЦУР-2026-000001", "Фонари заменены.")
    await citizen.send("Ничего не изменилось, фонари так и не горят.")
    assert "Это про обращение № ЦУР-2026-000001 или новое?" in citizen.text
    await citizen.press("Про обращение")
    assert "Фонари заменены." in citizen.text and "Возобновить" not in citizen.text
    assert "1 ⭐" in labels(citizen)  # the rating buttons are there
    await citizen.send("Фонари у дома 9 тоже не горят уже неделю.")
    await citizen.press("новое обращение")
    assert "Как к вам обращаться" in citizen.text  # a new appeal begins with that text kept


async def test_my_shows_the_whole_history_with_the_answer_the_rating_and_the_actions_that_fit(
        office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    await citizen.send("/my")
    await citizen.press("ЦУР-2026-000001")
    assert "Отозвать" in " ".join(labels(citizen)) and "⭐" not in " ".join(labels(citizen))
    await ask_to_clarify(office, ivan, "ЦУР-2026-000001", "Какой подъезд?")
    await citizen.send("/my")
    await citizen.press("ЦУР-2026-000001")
    assert "Какой подъезд?" in citizen.text and "Ответить" in " ".join(labels(citizen))
    await citizen.press("Ответить")
    await citizen.send("Первый подъезд.")
    await answer(office, ivan, "ЦУР-2026-000001", "Фонари заменены 25 ноября.")
    await citizen.press_payload(press_on(citizen, office.last(citizen), "2 ⭐"))
    await citizen.press("Пропустить")
    await citizen.send("/my")
    await citizen.press("ЦУР-2026-000001")
    assert "Фонари заменены 25 ноября." in citizen.text and "Ваша оценка ответа: 2 ⭐" in citizen.text
    assert "Первый подъезд." in citizen.text
    shown = " ".join(labels(citizen))
    assert "Возобновить" in shown and "5 ⭐" in shown and "Отозвать" not in shown


async def test_a_citizen_withdraws_an_open_appeal_and_the_ministry_is_told(office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    await citizen.send("/my")
    await citizen.press("ЦУР-2026-000001")
    await citizen.press("Отозвать")
    assert "Отозвать обращение № ЦУР-2026-000001?" in citizen.text
    await citizen.press("Да, отозвать")
    assert "отозвано" in citizen.text
    await office.deliver()
    assert "отозвал обращение" in office.sender.texts(ivan.user_id)
    assert (await office.appeal()).status == "withdrawn"
    await ivan.send("/queue")
    assert "ЦУР-2026-000001" not in ivan.text
