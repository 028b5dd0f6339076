"""The citizen rates an answer, comments, reopens a poor one; refusals and the one reminder.

Answered appeals are put into the database directly (with explicit times): the answer flow is
the operator side's, and the rules here only need an answer to exist.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.app import App
from bot.payloads import make
from bot.scans.ratings import scan_rating_reminders
from storage.models import Appeal, AppealEvent, Conversation, OutboxMessage, User
from storage.rating_models import AppealRating
from tests.conftest import Clock
from tests.utils.chat import Chat

_numbers = itertools.count(900_001)  # far from the counter's own numbers, whichever test runs first


async def person(app: App, chat: Chat) -> User:
    """The user behind a chat, created the way a real one is: by writing to the bot."""
    await chat.send("/start")
    async with app.sessionmaker() as session:
        user = await session.scalar(select(User).where(User.platform_id == chat.user_id))
        assert user is not None
        return user


async def answered_appeal(app: App, citizen: User, answered_at: datetime, *, status: str = "answered",
                          ministry: str = "energy_housing", sector: str = "housing", reopen_count: int = 0,
                          redirect_count: int = 0) -> int:
    seq = next(_numbers)
    registered = answered_at - timedelta(days=10)
    async with app.sessionmaker() as session, session.begin():
        appeal = Appeal(number=f"ЦУР-2026-{seq:06d}", year=2026, seq=seq, citizen_id=citizen.id, citizen_name="Петрова",
                        sector_id=sector, category_id="heating", ministry_id=ministry, text="Холодные батареи",
                        status=status, registered_at=registered, deadline_at=registered + timedelta(days=30),
                        answered_at=answered_at if status in ("answered", "rated") else None,
                        answer_text="Отопление включено." if status in ("answered", "rated") else None,
                        reopen_count=reopen_count, redirect_count=redirect_count)
        session.add(appeal)
        await session.flush()
        return appeal.id


async def rating_of(app: App, appeal_id: int) -> list[tuple[int, int, str | None]]:
    async with app.sessionmaker() as session:
        rows = await session.execute(select(AppealRating.answer_no, AppealRating.score, AppealRating.comment)
                                     .where(AppealRating.appeal_id == appeal_id).order_by(AppealRating.answer_no))
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def appeal_of(app: App, appeal_id: int) -> Appeal:
    async with app.sessionmaker() as session:
        appeal = await session.get(Appeal, appeal_id)
        assert appeal is not None
        return appeal


async def kinds(app: App, appeal_id: int) -> list[str]:
    async with app.sessionmaker() as session:
        return list((await session.scalars(select(AppealEvent.kind).where(AppealEvent.appeal_id == appeal_id)
                                           .order_by(AppealEvent.id))).all())


def has_button(chat: Chat, label: str) -> bool:
    return any(label.casefold() in b.label.casefold() for r in chat.replies for row in r.buttons for b in row)


async def test_citizen_rates_the_answer_and_may_skip_the_comment(app: App, citizen: Chat, clock: Clock) -> None:
    user = await person(app, citizen)
    appeal_id = await answered_appeal(app, user, clock.now - timedelta(hours=2))
    await citizen.press_payload(make("rating.rate", appeal_id, 5))
    assert "Спасибо" in citizen.text and "5 ⭐" in citizen.text
    assert has_button(citizen, "3 ⭐"), "the rating buttons stay, so it can be changed"
    assert (await appeal_of(app, appeal_id)).status == "rated"
    await citizen.press("Пропустить")
    assert "без комментария" in citizen.text
    assert not has_button(citizen, "Возобновить"), "a good rating offers no reopening"
    assert await rating_of(app, appeal_id) == [(1, 5, None)]
    assert await kinds(app, appeal_id) == ["rated"]


async def test_a_low_rating_with_a_comment_reopens_the_appeal_in_the_same_ministry(
        app: App, citizen: Chat, clock: Clock) -> None:
    from handlers.cards import publish_card  # the lead's card, sent again for a repeat appeal

    assert callable(publish_card)
    user = await person(app, citizen)
    async with app.sessionmaker() as session, session.begin():
        session.add(User(channel="console", platform_id="op1", chat_id="op1", language="ru", role="operator",
                         ministry_id="energy_housing"))
    appeal_id = await answered_appeal(app, user, clock.now - timedelta(days=2))
    old_deadline = (await appeal_of(app, appeal_id)).deadline_at
    await citizen.press_payload(make("rating.rate", appeal_id, 1))
    await citizen.send("Батареи так и остались холодными.")
    assert "Комментарий сохранён" in citizen.text
    await citizen.press("Возобновить")
    assert "возобновлено" in citizen.text and "Министерство энергетики и ЖКХ" in citizen.text
    appeal = await appeal_of(app, appeal_id)
    assert (appeal.status, appeal.reopen_count, appeal.ministry_id) == ("reopened", 1, "energy_housing")
    # A repeat appeal gets a full term from today: Monday 23.11.2026 + 30 days = 23.12.2026, 18:00 Moscow.
    assert appeal.deadline_at == datetime(2026, 12, 23, 15, 0, tzinfo=UTC) != old_deadline
    assert appeal.assignee_id is None and appeal.next_reminder_at is not None
    async with app.sessionmaker() as session:
        event = await session.scalar(select(AppealEvent).where(AppealEvent.appeal_id == appeal_id,
                                                               AppealEvent.kind == "reopened"))
        assert event is not None and event.reason == "Батареи так и остались холодными."
        card = await session.scalar(select(OutboxMessage).where(OutboxMessage.card_key == f"card:{appeal_id}",
                                                                OutboxMessage.chat_id == "op1"))
        assert card is not None and "ПОВТОРНОЕ" in card.reply["text"]
    assert await rating_of(app, appeal_id) == [(1, 1, "Батареи так и остались холодными.")]


async def test_reopening_needs_a_rating_at_or_below_the_threshold(app: App, citizen: Chat, clock: Clock) -> None:
    assert app.settings.ratings.reopen_threshold == 2
    user = await person(app, citizen)
    appeal_id = await answered_appeal(app, user, clock.now - timedelta(days=1))
    await citizen.press_payload(make("rating.rate", appeal_id, 3))
    await citizen.press("Пропустить")
    assert not has_button(citizen, "Возобновить")
    await citizen.press_payload(make("rating.reopen", appeal_id))  # an old or forged button
    assert "после низкой оценки" in citizen.text
    assert (await appeal_of(app, appeal_id)).status == "rated"


async def test_reopening_is_refused_after_the_window(app: App, citizen: Chat, clock: Clock) -> None:
    user = await person(app, citizen)
    days = app.settings.ratings.reopen_within_days
    appeal_id = await answered_appeal(app, user, clock.now - timedelta(days=days, hours=1))
    await citizen.press_payload(make("rating.rate", appeal_id, 1))
    await citizen.press("Пропустить")
    assert not has_button(citizen, "Возобновить")
    await citizen.press_payload(make("rating.reopen", appeal_id))
    assert f"в течение {days} дней" in citizen.text and "срок прошёл" in citizen.text
    assert (await appeal_of(app, appeal_id)).reopen_count == 0


async def test_an_appeal_is_reopened_at_most_reopen_max_times(app: App, citizen: Chat, clock: Clock) -> None:
    assert app.settings.ratings.reopen_max == 1
    user = await person(app, citizen)
    # Reopened once already and answered again: the second answer is rated on its own.
    appeal_id = await answered_appeal(app, user, clock.now - timedelta(days=1), reopen_count=1)
    await citizen.press_payload(make("rating.rate", appeal_id, 1))
    await citizen.press("Пропустить")
    assert not has_button(citizen, "Возобновить")
    await citizen.press_payload(make("rating.reopen", appeal_id))
    assert "максимальное число раз (1)" in citizen.text
    assert await rating_of(app, appeal_id) == [(2, 1, None)]
    assert (await appeal_of(app, appeal_id)).status == "rated"


async def test_the_rating_can_be_changed_within_the_window_only(app: App, citizen: Chat, clock: Clock) -> None:
    user = await person(app, citizen)
    appeal_id = await answered_appeal(app, user, clock.now - timedelta(hours=1))
    await citizen.press_payload(make("rating.rate", appeal_id, 4))
    await citizen.press("Пропустить")
    clock.now += timedelta(hours=23)
    await citizen.press_payload(make("rating.rate", appeal_id, 2))
    assert "изменена" in citizen.text
    await citizen.press("Пропустить")
    assert has_button(citizen, "Возобновить"), "changed to a low rating: reopening is offered"
    clock.now += timedelta(hours=2)  # 25 hours after the rating was first given
    await citizen.press_payload(make("rating.rate", appeal_id, 5))
    assert "в течение 24 часов" in citizen.text
    assert await rating_of(app, appeal_id) == [(1, 2, None)]


async def test_the_same_rating_twice_changes_nothing(app: App, citizen: Chat, clock: Clock) -> None:
    user = await person(app, citizen)
    appeal_id = await answered_appeal(app, user, clock.now - timedelta(hours=1))
    await citizen.press_payload(make("rating.rate", appeal_id, 4))
    await citizen.press("Пропустить")
    await citizen.press_payload(make("rating.rate", appeal_id, 4))
    assert "уже поставили" in citizen.text
    assert await rating_of(app, appeal_id) == [(1, 4, None)]
    assert await kinds(app, appeal_id) == ["rated"]


async def test_an_unanswered_or_redirected_appeal_cannot_be_rated(app: App, citizen: Chat, clock: Clock) -> None:
    user = await person(app, citizen)
    in_work = await answered_appeal(app, user, clock.now, status="in_work")
    redirected = await answered_appeal(app, user, clock.now, status="registered", ministry="transport_roads",
                                       redirect_count=1)
    await citizen.press_payload(make("rating.rate", in_work, 5))
    assert "ещё нет ответа" in citizen.text
    await citizen.press_payload(make("rating.rate", redirected, 5))
    assert "передано в другое ведомство" in citizen.text
    assert await rating_of(app, in_work) == [] and await rating_of(app, redirected) == []
    assert (await appeal_of(app, in_work)).status == "in_work"


async def test_another_citizen_or_a_forged_payload_rates_nothing(app: App, citizen: Chat, clock: Clock) -> None:
    user = await person(app, citizen)
    appeal_id = await answered_appeal(app, user, clock.now - timedelta(hours=1))
    stranger = Chat(app.conversations, user_id="2002")
    await person(app, stranger)
    await stranger.press_payload(make("rating.rate", appeal_id, 1))
    assert "не найдено" in stranger.text
    await stranger.press_payload(make("rating.reopen", appeal_id))
    assert "не найдено" in stranger.text
    for forged in ("2:rating.rate:abc:5", f"2:rating.rate:{appeal_id}:9", f"2:rating.rate:{appeal_id}:0",
                   f"2:rating.rate:{appeal_id}", f"2:rating.rate:{appeal_id}:5:1", f"2:rating.rate:-{appeal_id}:5",
                   "2:rating.reopen:x", f"2:rating.skip_comment:{appeal_id}"):
        await citizen.press_payload(forged)
        assert citizen.replies and "Извините" not in citizen.text, forged
    assert await rating_of(app, appeal_id) == []
    assert (await appeal_of(app, appeal_id)).status == "answered"


async def test_rating_in_the_middle_of_a_new_appeal_keeps_the_draft(app: App, citizen: Chat, clock: Clock) -> None:
    user = await person(app, citizen)
    appeal_id = await answered_appeal(app, user, clock.now - timedelta(hours=1))
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Иванова Мария Петровна")
    await citizen.press("Пропустить")
    await citizen.press("ЖКХ")
    await citizen.press("Отопление")
    await citizen.send("В квартире холодно третий день, батареи еле тёплые.")
    await citizen.press_payload(make("rating.rate", appeal_id, 2))
    await citizen.send("Ответ формальный.")
    assert "Возвращаемся" in citizen.text and has_button(citizen, "Возобновить")
    async with app.sessionmaker() as session:
        conversation = await session.get(Conversation, ("console", citizen.user_id))
        assert conversation is not None and conversation.state == "appeal.text"
        assert conversation.data["draft"]["name"] == "Иванова Мария Петровна"
        assert conversation.data["draft"]["text_parts"] == ["В квартире холодно третий день, батареи еле тёплые."]
        assert "rating_step" not in conversation.data
    await citizen.press("Готово")
    await citizen.press("Пропустить")
    await citizen.send("г. Энск, ул. Ленина, д. 5")
    await citizen.press("Отправить")
    assert "зарегистрировано" in citizen.text
    assert await rating_of(app, appeal_id) == [(1, 2, "Ответ формальный.")]


async def test_one_polite_reminder_to_rate_and_never_a_second(app: App, citizen: Chat, clock: Clock) -> None:
    user = await person(app, citizen)
    after = app.settings.ratings.reminder_after_days
    due = await answered_appeal(app, user, clock.now - timedelta(days=after, hours=1))
    fresh = await answered_appeal(app, user, clock.now - timedelta(days=after - 1))
    rated = await answered_appeal(app, user, clock.now - timedelta(days=after, hours=2), status="rated")
    scan = (app.sessionmaker, app.settings, app.calendar)
    assert await scan_rating_reminders(*scan, clock.now) == 1
    assert await scan_rating_reminders(*scan, clock.now) == 0
    clock.now += timedelta(days=2)  # the fresh one is due now; the first is never reminded again
    assert await scan_rating_reminders(*scan, clock.now) == 1
    assert await scan_rating_reminders(*scan, clock.now + timedelta(days=1)) == 0
    async with app.sessionmaker() as session:
        reminders = (await session.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key.like("rate-remind:%"))
                                           .order_by(OutboxMessage.id))).all()
        assert [m.dedup_key for m in reminders] == [f"rate-remind:{due}:1", f"rate-remind:{fresh}:1"]
        assert "оцените" in reminders[0].reply["text"]
        assert [b["payload"] for b in reminders[0].reply["buttons"][0]] == [make("rating.rate", due, s)
                                                                             for s in range(1, 6)]
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.dedup_key.like(f"rate-remind:{rated}:%"))) == 0
