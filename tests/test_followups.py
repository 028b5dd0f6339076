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


async def test_after_the_last_allowed_low_rating_the_citizen_is_told_what_remains(
        app: App, citizen: Chat, clock: Clock) -> None:
    from datetime import timedelta

    from bot.payloads import make
    from tests.test_ratings import answered_appeal, person

    user = await person(app, citizen)
    appeal_id = await answered_appeal(app, user, clock.now - timedelta(days=1), reopen_count=1)  # the max reopens
    await citizen.press_payload(make("rating.rate", appeal_id, 1))
    await citizen.send("Опять отписка, ничего не сделано.")
    assert "больше нельзя" in citizen.text and "ЦУР" in citizen.text and "/new" in citizen.text
    fresh = await answered_appeal(app, user, clock.now - timedelta(days=1))
    await citizen.press_payload(make("rating.rate", fresh, 1))
    await citizen.press("Пропустить")
    assert "больше нельзя" not in citizen.text and "Возобновить" in " ".join(labels(citizen))


async def test_the_citizen_is_told_when_the_deadline_passes_and_the_cur_takes_control(
        office: Office, citizen: Chat, clock: Clock) -> None:
    from datetime import UTC, datetime

    from bot.scheduler import build_scheduler

    await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    scheduler = build_scheduler(office.app, clock)
    clock.now = datetime(2026, 12, 23, 14, 0, tzinfo=UTC)  # the last day, 17:00 in Moscow: not yet
    await scheduler.run("deadline-reminders")
    await office.deliver()
    assert "истёк" not in office.sender.texts(citizen.user_id)
    clock.now = datetime(2026, 12, 24, 7, 0, tzinfo=UTC)  # the next working morning
    await scheduler.run("deadline-reminders")
    await scheduler.run("deadline-reminders")
    await office.deliver()
    told = [r.text for r in office.inbox(citizen) if "истёк" in r.text]
    assert len(told) == 1 and "ЦУР-2026-000001" in told[0] and "на контроль ЦУР" in told[0]


async def test_text_typed_at_the_consent_question_becomes_the_appeal_text(app: App, citizen: Chat) -> None:
    from sqlalchemy import select

    from storage.models import Conversation

    await citizen.send("/start")
    await citizen.send("Во дворе\x00 дома 5 не горят фонари уже неделю.")
    assert "сохранён" in citizen.text and "согласны" in citizen.text
    await citizen.press("Согласен")
    await citizen.send("Петрова Анна")
    await citizen.press("Пропустить")
    await citizen.press("Да, верно")
    await citizen.press("Готово")
    await citizen.press("Пропустить")
    await citizen.send("г. Энск, ул. Садовая, 5")
    assert "Во дворе дома 5 не горят фонари уже неделю." in citizen.text  # the summary shows it, NUL gone
    # A message over the text limit is refused politely before it reaches the dialog; the next one is kept.
    other = Chat(app.conversations, user_id="1002")
    await other.send("/start")
    await other.send("Очень " * 5000)
    assert "не принято" in other.text and str(app.settings.limits.text_max_length) in other.text
    await other.send("Не работает лифт в подъезде 2")
    async with app.sessionmaker() as session:
        kept = (await session.scalar(select(Conversation.data).where(Conversation.chat_id == "1002"))) or {}
    assert "Очень" not in kept.get("pending_text", "")
    assert "лифт" in kept["pending_text"]


async def test_the_name_step_wants_a_full_name_and_refuses_a_sentence_with_an_example(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("у меня во дворе не горит свет")
    assert "фамилию и имя" in citizen.text and "Например: Иванова Мария Петровна" in citizen.text
    await citizen.send("Анна")
    assert "Например" in citizen.text
    await citizen.send("Салтыков-Щедрин Михаил Евграфович")
    assert "телефон" in citizen.text.lower()
