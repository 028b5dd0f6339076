"""The ministry's staff rules on Telegram: the real channel and outbox against the fake Bot API over HTTP.

The same rules as tests/test_ministry_work.py, but every person is a Telegram user: the citizen and
the operators in private chats, and the ministry's staff group. Updates reach the channel through its
webhook; cards are delivered by the real Outbox with the TelegramChannel as the "telegram" Sender, so a
later version of a card is an editMessageText of the message the operator already has; buttons are
pressed as callback queries on the messages the bot sent.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.delivery import Limits, Outbox
from bot.payloads import make
from bot.services import staff
from bot.services.followups import JOIN_WINDOW
from storage.models import Appeal, AppealEvent, User
from storage.repositories import Repositories
from tests.conftest import Clock
from tests.fakes.telegram_server import FakeTelegramServer
from tests.utils.telegram_chat import Message, TelegramUser, telegram_webhook

TEXT = "Во дворе дома 5 третий день не горят фонари, вечером темно и опасно."
FIRST = "ЦУР-2026-000001"
STAFF_GROUP = -100123
CARD_ACTIONS = ["🙋 Взять в работу", "✍ Ответить", "❓ Уточнить", "↪ Перенаправить", "⏳ Продлить срок"]
# Telegram's pacing (1 message/s per chat) is the delivery tests' business; here it would only slow the story.
UNPACED = {"telegram": Limits(per_second=1000, per_chat_interval_s=0.0)}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.ministries["energy_housing"].staff_chat = {"telegram": str(STAFF_GROUP)}
    return settings


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        yield fake


class Office:
    """The test's world on Telegram: people, invites, the outbox that delivers to their chats, the database."""

    def __init__(self, app: App, clock: Clock, server: FakeTelegramServer, channel: TelegramChannel) -> None:
        self.app, self.clock, self.server = app, clock, server
        self.outbox = Outbox(app.sessionmaker, {"telegram": channel}, clock=clock, limits=UNPACED)
        self._user_ids = itertools.count(7001)

    def person(self, full_name: str) -> TelegramUser:
        first, _, last = full_name.partition(" ")
        return TelegramUser(self.server, next(self._user_ids), first, last or None)

    async def invite(self, role: str, ministry: str | None) -> str:
        async with self.app.sessionmaker() as session, session.begin():
            invite = await staff.create_invite(Repositories(session), self.app.settings, role, ministry, self.clock())
            return invite.code

    async def operator(self, full_name: str, ministry: str = "energy_housing") -> TelegramUser:
        """A ministry employee who opened the invite link t.me/<bot>?start=CODE: Telegram sends "/start CODE"."""
        employee = self.person(full_name)
        await employee.send(f"/start {await self.invite('operator', ministry)}")
        assert "подключены как оператор" in employee.text, employee.text
        return employee

    def group(self, member: TelegramUser) -> TelegramUser:
        """``member`` in the staff group of the Ministry of Energy and Housing."""
        return member.in_chat(STAFF_GROUP)

    async def deliver(self) -> None:
        while await self.outbox.deliver_due():
            pass

    async def appeal(self, number: str = FIRST) -> Appeal:
        async with self.app.sessionmaker() as session:
            appeal = await session.scalar(select(Appeal).where(Appeal.number == number))
            assert appeal is not None
            return appeal

    async def events(self) -> list[str]:
        async with self.app.sessionmaker() as session:
            return list((await session.scalars(select(AppealEvent.kind).order_by(AppealEvent.id))).all())

    def card_edits(self) -> list[tuple[int, int]]:
        """(chat, message) of every card edited in place so far (the citizen's own dialog edits aside)."""
        return [(c.params["chat_id"], c.params["message_id"]) for c in self.server.calls_of("editMessageText")
                if c.status == 200 and "📨 Обращение" in c.params["text"]]


def cards_in(chat: TelegramUser) -> list[Message]:
    return [m for m in chat.messages if "📨 Обращение" in (m.get("text") or "")]


@pytest.fixture
async def office(app: App, clock: Clock, server: FakeTelegramServer) -> AsyncIterator[Office]:
    async with telegram_webhook(server, app.conversations) as channel:
        yield Office(app, clock, server, channel)


@pytest.fixture
def citizen(office: Office) -> TelegramUser:
    return TelegramUser(office.server, 5005, "Анна", "Петрова")


async def file_appeal(citizen: TelegramUser, sector: str = "ЖКХ", category: str = "освещение") -> str:
    """The citizen's appeal from /new to its number, with a photo; returns the photo's file_id."""
    await citizen.send("/new")
    if any("Согласен" in label for label in citizen.buttons):
        await citizen.press("Согласен")
    await citizen.send("Петрова Анна")
    await citizen.press("Пропустить")
    await citizen.press(sector)
    await citizen.press(category)
    await citizen.send(TEXT)
    await citizen.press("Готово")
    photo = await citizen.send_photo("Темный двор")
    await citizen.press("Готово")
    await citizen.send("г. Энск, ул. Садовая, 5")
    await citizen.press("Отправить")
    assert "зарегистрировано" in citizen.text, citizen.text
    return photo


# --- invites ---


async def test_staff_join_by_deep_link_and_a_used_or_an_expired_code_is_refused(office: Office,
                                                                                clock: Clock) -> None:
    code = await office.invite("operator", "health")
    olga = office.person("Ольга Смирнова")
    await olga.send(f"/start {code}")
    assert "подключены как оператор: Министерство здравоохранения" in olga.text
    pavel = office.person("Павел Орлов")
    await pavel.send(f"/start {code}")
    assert "уже использован" in pavel.text
    late = await office.invite("operator", "health")
    clock.now += timedelta(hours=office.app.settings.staff.invite_ttl_hours + 1)
    await pavel.send(f"/start {late}")
    assert "истёк" in pavel.text
    async with office.app.sessionmaker() as session:
        people = (await session.execute(select(User.platform_id, User.role, User.ministry_id, User.display_name)
                                        .where(User.channel == "telegram"))).all()
    assert sorted(people) == [(str(olga.user_id), "operator", "health", "Ольга Смирнова"),
                              (str(pavel.user_id), "citizen", None, None)]


# --- cards ---


async def test_a_new_card_reaches_the_ministrys_operators_and_staff_group_with_every_action(
        office: Office, citizen: TelegramUser) -> None:
    ivan = await office.operator("Иван Кузнецов")
    olga = await office.operator("Ольга Смирнова")
    doctor = await office.operator("Пётр Лекарев", ministry="health")
    photo = await file_appeal(citizen)
    await office.deliver()
    for chat in (ivan, olga, office.group(ivan)):
        card = chat.last(FIRST)
        assert "ЖКХ → Уличное и дворовое освещение" in card["text"] and TEXT in card["text"]
        assert "ул. Садовая, 5" in card["text"] and "Исполнитель: не назначен" in card["text"]
        assert chat.labels(card) == CARD_ACTIONS
        assert chat.messages[-1]["photo"] == photo  # the citizen's photo follows its card, by file_id
    assert cards_in(doctor) == []


async def test_two_operators_press_take_at_the_same_moment_and_exactly_one_wins(
        office: Office, citizen: TelegramUser) -> None:
    ivan = await office.operator("Иван Кузнецов")
    olga = await office.operator("Ольга Смирнова")
    await file_appeal(citizen)
    await office.deliver()
    group = office.group(ivan)
    cards = {chat.chat_id: chat.last(FIRST)["message_id"] for chat in (ivan, olga, group)}

    await asyncio.gather(ivan.press("Взять"), olga.press("Взять"))
    (winner,) = [o for o in (ivan, olga) if "теперь у вас в работе" in o.text]
    (loser,) = [o for o in (ivan, olga) if "уже взял(а) в работу" in o.text]
    assert winner.name in loser.text
    assert (winner.toast, loser.toast) == ("Взято в работу", "Действие недоступно")
    assert "Ответить" in " ".join(winner.labels(winner.messages[-1]))  # the winner can act at once

    await office.deliver()
    assert sorted(office.card_edits()) == sorted(cards.items())  # every card edited in place ...
    for chat in (ivan, olga, group):
        (card,) = cards_in(chat)  # ... and none sent anew
        assert card["message_id"] == cards[chat.chat_id]
        assert f"Исполнитель: {winner.name}" in card["text"] and "Статус: в работе" in card["text"]
        assert chat.labels(card) == CARD_ACTIONS[1:]
    assert (await office.events()).count("taken") == 1


async def test_an_operator_takes_the_appeal_in_the_staff_group_where_other_members_cannot(
        office: Office, citizen: TelegramUser) -> None:
    ivan = await office.operator("Иван Кузнецов")
    await file_appeal(citizen)
    await office.deliver()
    passer_by = office.group(office.person("Случайный Участник"))
    await passer_by.press("Взять")
    assert "только в личном чате" in passer_by.text
    assert (await office.appeal()).assignee_id is None

    in_group = office.group(ivan)
    await in_group.press("Взять")
    assert "теперь у вас в работе" in in_group.text and in_group.toast == "Взято в работу"
    await office.deliver()
    for chat in (in_group, ivan):
        (card,) = cards_in(chat)
        assert "Исполнитель: Иван Кузнецов" in card["text"] and card["edited"] == 1


# --- answer ---


async def test_the_answer_reaches_the_citizens_telegram_with_the_number_and_rating_buttons_once(
        office: Office, citizen: TelegramUser) -> None:
    ivan = await office.operator("Иван Кузнецов")
    await file_appeal(citizen)
    await office.deliver()
    card = ivan.last(FIRST)
    answer = await ivan.press("Ответить")
    assert "Напишите ответ" in ivan.text
    await ivan.send("Фонари во дворе будут заменены подрядчиком до 30 ноября.")
    await ivan.send("Спасибо за обращение.")
    await ivan.press("Готово")
    assert "Так гражданин увидит" in ivan.text
    assert "до 30 ноября.\n\nСпасибо за обращение." in ivan.text  # the two messages joined
    preview = ivan.seen[-1]["message_id"]
    await ivan.press("Отправить гражданину")
    assert ivan.toast == "Ответ отправлен"
    assert [m["message_id"] for m in ivan.seen] == [preview] and "отправлен гражданину" in ivan.text

    await office.deliver()
    to_citizen = citizen.last("Ответ на ваше обращение")
    assert f"Ответ на ваше обращение {FIRST}\nМинистерство энергетики и ЖКХ" in to_citizen["text"]
    assert "до 30 ноября.\n\nСпасибо за обращение." in to_citizen["text"]
    rating = citizen.messages[-1]
    assert FIRST in rating["text"] and citizen.labels(rating) == [f"{n} ⭐" for n in range(1, 6)]
    assert citizen.payloads(rating) == [f"2:rating.rate:1:{n}" for n in range(1, 6)]
    assert "Статус: дан ответ" in ivan.message(card["message_id"])["text"] and not ivan.labels(
        ivan.message(card["message_id"]))

    await ivan.press_payload(answer, message_id=card["message_id"])  # an old client still shows the button
    assert "уже недоступно" in ivan.text and ivan.toast == "Действие недоступно"
    await office.deliver()
    assert sum("Ответ на ваше обращение" in text for text in citizen.texts()) == 1
    appeal = await office.appeal()
    assert appeal.status == "answered" and (await office.events()).count("answered") == 1


# --- clarification ---


async def test_the_clarification_question_reaches_the_citizen_and_the_reply_comes_back(
        office: Office, citizen: TelegramUser) -> None:
    ivan = await office.operator("Иван Кузнецов")
    await file_appeal(citizen)
    await office.deliver()
    card = ivan.last(FIRST)["message_id"]
    await ivan.press("Уточнить")
    await ivan.send("Уточните, пожалуйста, номер подъезда.")
    await ivan.press("Отправить гражданину")
    assert "отправлен гражданину" in ivan.text
    await office.deliver()
    question = citizen.last("просит уточнить")
    assert FIRST in question["text"] and "номер подъезда" in question["text"]
    assert "Статус: нужно уточнение" in ivan.message(card)["text"]

    # The citizen is half-way through another appeal when the question arrives.
    await citizen.send("/new")
    await citizen.send("Петрова Анна")
    await citizen.press("Ответить")
    await citizen.send("Второй подъезд, со стороны парковки.")
    assert "Уточнение добавлено" in citizen.text and "телефон" in citizen.text.lower()  # back to the phone step
    office.clock.now += JOIN_WINDOW  # the reply goes once the citizen has had time to add to it
    await office.deliver()
    reply = ivan.last("Гражданин ответил на уточнение")
    assert FIRST in reply["text"] and "Второй подъезд" in reply["text"]
    assert "Статус: в работе" in ivan.message(card)["text"]
    assert (await office.appeal()).status == "in_work"


# --- redirect ---


async def test_redirect_with_a_reason_moves_the_card_and_one_after_7_days_is_flagged_late(
        office: Office, citizen: TelegramUser, clock: Clock) -> None:
    ivan = await office.operator("Иван Кузнецов")
    roma = await office.operator("Роман Дорожный", ministry="transport_roads")
    photo = await file_appeal(citizen)
    await office.deliver()
    card = ivan.last(FIRST)["message_id"]
    await ivan.press("Перенаправить")
    await ivan.press("Министерство транспорта")
    await ivan.send("Фонари вдоль дороги обслуживает дорожное хозяйство.")
    assert "перенаправлено" in ivan.text and "позже 7 дней" not in ivan.text
    await office.deliver()
    told = citizen.last("перенаправлено")["text"]
    assert FIRST in told and "Причина: Фонари вдоль дороги обслуживает дорожное хозяйство." in told
    for chat in (ivan, office.group(ivan)):
        (old,) = cards_in(chat)
        assert "Статус: перенаправлено в Министерство транспорта" in old["text"] and not chat.labels(old)
        assert old["edited"] == 1
    new_card = roma.last(FIRST)
    assert roma.labels(new_card) == CARD_ACTIONS and roma.messages[-1]["photo"] == photo

    await ivan.press_payload("2:operator.card:ans:1", message_id=card)  # the old ministry's stale Answer
    assert "другому министерству" in ivan.text

    clock.now += timedelta(days=8)
    await roma.press("Перенаправить")
    await roma.press("Министерство энергетики")
    await roma.send("Опоры во дворе на балансе управляющей компании.")
    assert "позже 7 дней" in roma.text
    await office.deliver()
    # A card with the citizen's photo cannot be an edit: the ministry gets it anew, the old one stays as it was.
    old, fresh = cards_in(ivan)
    assert "перенаправлено" in old["text"] and ivan.labels(fresh) == CARD_ACTIONS
    async with office.app.sessionmaker() as session:
        moves = (await session.scalars(select(AppealEvent).where(AppealEvent.kind == "redirected")
                                       .order_by(AppealEvent.id))).all()
    assert [(m.details["to"], m.details["late"]) for m in moves] == [("transport_roads", False),
                                                                    ("energy_housing", True)]


# --- extension ---


async def test_the_deadline_is_extended_once_with_a_reason_and_the_citizen_is_told(
        office: Office, citizen: TelegramUser) -> None:
    ivan = await office.operator("Иван Кузнецов")
    await file_appeal(citizen)
    await office.deliver()
    card = ivan.last(FIRST)["message_id"]
    extend = await ivan.press("Продлить")
    await ivan.press("30 календарных дней")
    await ivan.send("Нужна замена кабеля, работы согласуются с сетевой компанией.")
    assert "продлён до 22.01.2027" in ivan.text  # 23.12.2026 + 30 days, a working day
    await office.deliver()
    told = citizen.last("продлён")["text"]
    assert "продлён до 22.01.2027" in told and "Причина: Нужна замена кабеля" in told
    shown = ivan.message(card)
    assert "Срок ответа: до 22.01.2027" in shown["text"] and "Срок продлён (один раз)." in shown["text"]
    assert "⏳ Продлить срок" not in ivan.labels(shown)

    await ivan.press_payload(extend, message_id=card)  # an old client still shows the button
    assert "только один раз" in ivan.text
    assert (await office.events()).count("extended") == 1


# --- forged buttons ---


async def test_a_citizen_forging_a_staff_callback_is_refused_and_nothing_changes(
        office: Office, citizen: TelegramUser) -> None:
    await file_appeal(citizen)
    await office.deliver()
    group_card = office.server.sent[STAFF_GROUP][0]
    for payload in (make("operator.card", action, 1) for action in ("take", "ans", "clar", "redir", "ext", "reas")):
        await citizen.press_payload(payload)
        assert "для сотрудников министерств" in citizen.text and citizen.toast == "Действие недоступно"
    await office.deliver()
    appeal = await office.appeal()
    assert (appeal.status, appeal.assignee_id, appeal.extended) == ("registered", None, False)
    assert await office.events() == ["registered", "routed"]
    assert office.card_edits() == [] and group_card["edited"] == 0


async def test_an_operator_of_another_ministry_forging_a_callback_is_refused_and_nothing_changes(
        office: Office, citizen: TelegramUser) -> None:
    doctor = await office.operator("Пётр Лекарев", ministry="health")
    await file_appeal(citizen)
    await office.deliver()
    for payload in (make("operator.card", action, 1) for action in ("take", "ans", "clar", "redir", "ext")):
        await doctor.press_payload(payload)
        assert "относится к другому министерству" in doctor.text and doctor.toast == "Действие недоступно"
    await doctor.send(f"/appeal {FIRST}")
    assert "не найдено" in doctor.text
    await office.deliver()
    assert await office.events() == ["registered", "routed"] and office.card_edits() == []
    assert cards_in(doctor) == []


# --- /queue ---


async def test_queue_lists_the_nearest_deadline_first_and_marks_the_overdue(
        office: Office, citizen: TelegramUser, clock: Clock) -> None:
    ivan = await office.operator("Иван Кузнецов")
    await file_appeal(citizen)
    await file_appeal(citizen, sector="Энергетика", category="Отключения")
    async with office.app.sessionmaker() as session, session.begin():
        first = await session.scalar(select(Appeal).where(Appeal.seq == 1))
        assert first is not None
        first.deadline_at = clock.now - timedelta(days=1)
    await ivan.send("/queue")
    (listing,) = ivan.seen
    lines = listing["text"].splitlines()
    assert lines[0].startswith("Открытые обращения — Министерство энергетики и ЖКХ")
    assert lines[1].startswith(f"⚠ {FIRST}") and lines[2].startswith("ЦУР-2026-000002")
    assert ivan.labels(listing) == [FIRST, "ЦУР-2026-000002"]
    await ivan.press("ЦУР-2026-000002")
    assert "Энергетика → Отключения" in ivan.text and "История:" in ivan.text
    assert ivan.labels(ivan.seen[0]) == CARD_ACTIONS


async def test_answer_pressed_in_the_staff_group_goes_on_in_the_operators_private_chat(
        office: Office, citizen: TelegramUser) -> None:
    """In its default privacy mode a bot never sees plain text typed in a group: the dialog moves."""
    ivan = await office.operator("Иван Кузнецов")
    await file_appeal(citizen)
    await office.deliver()
    in_group = office.group(ivan)
    await in_group.press("Ответить")
    assert in_group.toast == "Продолжим в личном чате с ботом"
    await office.deliver()
    assert "Напишите ответ" in ivan.messages[-1]["text"]
    await ivan.send("Фонари заменены сегодня утром.")
    await ivan.press("Готово")
    await ivan.press("Отправить гражданину")
    await office.deliver()
    assert "Фонари заменены сегодня утром." in citizen.last("Ответ на ваше обращение")["text"]
