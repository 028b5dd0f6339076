"""Ministries at work: invites, cards, take / answer / clarify / redirect / extend, and the safety rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.delivery import Outbox
from bot.events import Attachment, Reply
from bot.payloads import make
from bot.services import staff
from bot.services.followups import JOIN_WINDOW
from storage.models import Appeal, AppealEvent, User
from storage.repositories import Repositories
from tests.conftest import Clock
from tests.utils.chat import Chat
from tests.utils.outbox import CollectingSender

TEXT = "Во дворе дома 5 третий день не горят фонари, вечером темно и опасно."


class Office:
    """The test's world: a citizen, ministries' operators, a supervisor, and what the outbox delivers."""

    def __init__(self, app: App, clock: Clock) -> None:
        self.app = app
        self.clock = clock
        self.sender = CollectingSender()
        self.outbox = Outbox(app.sessionmaker, {"console": self.sender}, clock=clock)

    async def invite(self, role: str, ministry: str | None) -> str:
        async with self.app.sessionmaker() as session, session.begin():
            invite = await staff.create_invite(Repositories(session), self.app.settings, role, ministry, self.clock())
            return invite.code

    async def staff_member(self, user_id: str, role: str = "operator", ministry: str | None = "energy_housing") -> Chat:
        chat = Chat(self.app.conversations, user_id=user_id)
        code = await self.invite(role, ministry)
        await chat.feed(chat._event(text=f"/start {code}", user_name=f"Сотрудник {user_id}"))
        assert "подключены" in chat.text, chat.text
        return chat

    async def deliver(self) -> None:
        while await self.outbox.deliver_due():
            pass

    def inbox(self, chat: Chat) -> list[Reply]:
        return self.sender.inbox[chat.user_id]

    def last(self, chat: Chat) -> Reply:
        return self.sender.last(chat.user_id)

    async def appeal(self, number: str = "ЦУР-2026-000001") -> Appeal:
        async with self.app.sessionmaker() as session:
            appeal = await session.scalar(select(Appeal).where(Appeal.number == number))
            assert appeal is not None
            return appeal

    async def events(self) -> list[str]:
        async with self.app.sessionmaker() as session:
            return list((await session.scalars(select(AppealEvent.kind).order_by(AppealEvent.id))).all())


async def submit(chat: Chat, sector: str = "ЖКХ", category: str = "освещение") -> None:
    await chat.send("/new")
    if any("Согласен" in b.label for r in chat.replies for row in r.buttons for b in row):
        await chat.press("Согласен")
    await chat.send("Петрова Анна")
    await chat.press("Пропустить")
    await chat.press(sector)
    await chat.press(category)
    await chat.send(TEXT)
    await chat.press("Готово")
    await chat.attach(Attachment("photo", "/tmp/lamp.jpg", "console", "lamp.jpg", size=1000))
    await chat.press("Готово")
    await chat.send("г. Энск, ул. Садовая, 5")
    await chat.press("Отправить")
    assert "зарегистрировано" in chat.text


def press_on(chat: Chat, reply: Reply, label: str) -> str:
    for row in reply.buttons:
        for button in row:
            if label.casefold() in button.label.casefold():
                return button.payload
    raise AssertionError(f"no {label!r} on {[b.label for row in reply.buttons for b in row]}")


@pytest.fixture
def office(app: App, clock: Clock) -> Office:
    return Office(app, clock)


async def test_invite_code_makes_an_operator_once_and_expires(office: Office, clock: Clock) -> None:
    code = await office.invite("operator", "health")
    first = Chat(office.app.conversations, user_id="op1")
    await first.send(f"/start {code}")
    assert "оператор" in first.text and "Министерство здравоохранения" in first.text
    second = Chat(office.app.conversations, user_id="op2")
    await second.send(f"/start {code}")
    assert "уже использован" in second.text
    late = await office.invite("operator", "health")
    clock.now += timedelta(hours=office.app.settings.staff.invite_ttl_hours + 1)
    await second.send(late)  # typed as a plain message, as in VK
    assert "истёк" in second.text
    async with office.app.sessionmaker() as session:
        roles = dict((await session.execute(select(User.platform_id, User.role))).all())
    assert roles == {"op1": "operator", "op2": "citizen"}


async def test_a_new_appeal_card_reaches_every_operator_of_the_ministry_with_actions(
        office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    olga = await office.staff_member("olga")
    other = await office.staff_member("pavel", ministry="health")
    await submit(citizen)
    await office.deliver()
    for operator in (ivan, olga):
        card = office.last(operator)
        assert "ЦУР-2026-000001" in card.text and "Уличное и дворовое освещение" in card.text
        assert "ул. Садовая, 5" in card.text and TEXT in card.text
        assert [a.name for a in card.attachments] == ["lamp.jpg"]
        labels = [b.label for row in card.buttons for b in row]
        assert any("Взять" in label for label in labels) and any("Продлить" in label for label in labels)
    assert office.inbox(other) == []


async def test_two_operators_press_take_at_once_exactly_one_wins(office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    olga = await office.staff_member("olga")
    await submit(citizen)
    await office.deliver()
    take = press_on(ivan, office.last(ivan), "Взять")
    await asyncio.gather(ivan.press_payload(take), olga.press_payload(take))
    winners = [c for c in (ivan, olga) if "теперь у вас" in c.text]
    losers = [c for c in (ivan, olga) if "уже взял" in c.text]
    assert len(winners) == 1 and len(losers) == 1
    appeal = await office.appeal()
    assert appeal.status == "in_work"
    await office.deliver()
    # The card was edited in place for both: it names who has the appeal and offers no Take.
    for operator in (ivan, olga):
        card = office.last(operator)
        assert "Сотрудник" in card.text and not any("Взять" in b.label for row in card.buttons for b in row)
    assert (await office.events()).count("taken") == 1


async def test_answer_reaches_the_citizen_with_the_number_and_a_second_answer_is_refused(
        office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    answer = press_on(ivan, office.last(ivan), "Ответить")
    await ivan.press_payload(answer)
    assert "Напишите ответ" in ivan.text
    await ivan.send("Фонари во дворе будут заменены подрядчиком до 30 ноября.")
    await ivan.send("Спасибо за обращение.")
    await ivan.press("Готово")
    assert "Так гражданин увидит" in ivan.text and "Спасибо за обращение." in ivan.text
    await ivan.press("Отправить гражданину")
    assert "отправлен" in ivan.text
    await office.deliver()
    to_citizen = office.sender.texts(citizen.user_id)
    assert "Ответ на ваше обращение ЦУР-2026-000001" in to_citizen and "до 30 ноября" in to_citizen
    rating = office.last(citizen)
    assert [b.payload for b in rating.buttons[0]] == [f"2:rating.rate:1:{n}" for n in range(1, 6)]
    appeal = await office.appeal()
    assert appeal.status == "answered" and appeal.answered_at is not None
    await ivan.press_payload(answer)
    assert "уже недоступно" in ivan.text
    assert (await office.events()).count("answered") == 1


async def test_clarification_goes_to_the_citizen_and_the_reply_comes_back(office: Office, citizen: Chat,
                                                                          clock: Clock) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Уточнить"))
    await ivan.send("Уточните, пожалуйста, номер подъезда.")
    assert "Так гражданин увидит вопрос" in ivan.text and "номер подъезда" in ivan.text
    await ivan.press("Отправить гражданину")
    await office.deliver()
    question = office.last(citizen)
    assert "номер подъезда" in question.text
    # The citizen is half-way through another appeal when the question arrives.
    await citizen.send("/new")
    await citizen.send("Петрова Анна")
    await citizen.press_payload(press_on(citizen, question, "Ответить"))
    await citizen.send("Второй подъезд, со стороны парковки.")
    assert "Спасибо" in citizen.text and "телефон" in citizen.text.lower()  # back to the phone step
    clock.now += JOIN_WINDOW  # the reply reaches the ministry once the citizen has had time to add to it
    await office.deliver()
    assert "Второй подъезд" in office.sender.texts(ivan.user_id)
    appeal = await office.appeal()
    assert appeal.status == "in_work" and appeal.deadline_at == appeal.registered_at.replace(
        day=23, month=12, hour=15, minute=0, second=0, microsecond=0)  # the deadline did not pause


async def test_redirect_tells_the_citizen_and_moves_the_card_late_ones_are_flagged(
        office: Office, citizen: Chat, clock: Clock) -> None:
    ivan = await office.staff_member("ivan")
    roads = await office.staff_member("roma", ministry="transport_roads")
    await submit(citizen)
    await office.deliver()
    clock.now += timedelta(days=8)
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Перенаправить"))
    await ivan.press("Министерство транспорта")
    await ivan.send("Фонари вдоль дороги обслуживает дорожное хозяйство.")
    assert "позже 7 дней" in ivan.text
    await office.deliver()
    assert "перенаправлено" in office.last(citizen).text and "дорожное хозяйство" in office.last(citizen).text
    assert "перенаправлено" in office.last(ivan).text and office.last(ivan).buttons == []
    new_card = office.last(roads)
    assert "ЦУР-2026-000001" in new_card.text and new_card.attachments
    # The old ministry's stale Answer button no longer works.
    await ivan.press_payload("2:operator.card:ans:1")
    assert "другому министерству" in ivan.text
    async with office.app.sessionmaker() as session:
        event = await session.scalar(select(AppealEvent).where(AppealEvent.kind == "redirected"))
        assert event is not None
        moved_to = event.details.pop("to_sector")
        assert event.details == {"from": "energy_housing", "to": "transport_roads", "late": True,
                                 "from_sector": "housing"}
        # One of the new ministry's sectors (it serves roads and transport: the classifier picks by the text).
        assert office.app.settings.sectors[moved_to].ministry == "transport_roads"


async def test_extend_once_with_reason_and_the_citizen_is_told(office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    extend = press_on(ivan, office.last(ivan), "Продлить")
    await ivan.press_payload(extend)
    assert "не больше чем на 30 календарных дней" in ivan.text and "30d" not in ivan.text
    await ivan.press("30 календарных дней")
    assert "на 30 календарных дней" in ivan.text and "30d" not in ivan.text
    await ivan.send("Нужна замена кабеля, работы согласуются с сетевой компанией.")
    # 23.12.2026 + 30 days = 22.01.2027, a working day.
    assert "22.01.2027" in ivan.text
    await office.deliver()
    assert "продлён до 22.01.2027" in office.last(citizen).text
    await ivan.press_payload(extend)
    assert "только один раз" in ivan.text
    assert (await office.events()).count("extended") == 1


async def test_citizen_forging_a_staff_button_is_refused_and_nothing_changes(office: Office, citizen: Chat) -> None:
    await submit(citizen)
    for payload in (make("operator.card", action, 1) for action in ("take", "ans", "ext", "reas")):
        await citizen.press_payload(payload)
        assert "для сотрудников" in citizen.text
    appeal = await office.appeal()
    assert appeal.status == "registered" and appeal.assignee_id is None


async def test_operator_of_another_ministry_cannot_act_even_with_a_forged_payload(
        office: Office, citizen: Chat) -> None:
    doctor = await office.staff_member("doc", ministry="health")
    await submit(citizen)
    for payload in ("2:operator.card:take:1", "2:operator.card:ans:1", "2:operator.card:redir:1"):
        await doctor.press_payload(payload)
        assert "другому министерству" in doctor.text
    await doctor.send("/appeal ЦУР-2026-000001")
    assert "не найдено" in doctor.text
    assert (await office.events()) == ["registered", "routed"]


async def test_queue_lists_nearest_deadline_first_and_marks_overdue(office: Office, citizen: Chat,
                                                                   clock: Clock) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await submit(citizen, sector="Энергетика", category="Отключения")
    async with office.app.sessionmaker() as session, session.begin():
        first = await session.scalar(select(Appeal).where(Appeal.seq == 1))
        assert first is not None
        first.deadline_at = clock.now - timedelta(days=1)
    await ivan.send("/queue")
    lines = ivan.text.splitlines()
    assert lines[1].startswith("⚠ ЦУР-2026-000001") and lines[2].startswith("ЦУР-2026-000002")
    await ivan.send("/overdue")
    assert "супервизорам" in ivan.text
    boss = await office.staff_member("boss", role="supervisor", ministry=None)
    await boss.send("/overdue")
    assert "ЦУР-2026-000001" in boss.text and "ЦУР-2026-000002" not in boss.text
    await boss.send("/queue health")
    assert "Открытых обращений нет" in boss.text
    await boss.send("/queue energy_housing")
    assert "ЦУР-2026-000002" in boss.text


async def test_supervisor_reassigns_and_every_action_is_in_the_history(office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    olga = await office.staff_member("olga")
    boss = await office.staff_member("boss", role="supervisor", ministry=None)
    await submit(citizen)
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Взять"))
    await boss.send("/appeal ЦУР-2026-000001")
    await boss.press("Передать")
    await boss.press("Сотрудник olga")
    assert "передано" in boss.text
    await office.deliver()
    assert "передано обращение" in office.sender.texts(olga.user_id)
    appeal = await office.appeal()
    async with office.app.sessionmaker() as session:
        olga_user = await session.scalar(select(User).where(User.platform_id == "olga"))
    assert olga_user is not None and appeal.assignee_id == olga_user.id
    await boss.send("/appeal ЦУР-2026-000001")
    assert "взято в работу" in boss.text and "передано другому исполнителю" in boss.text
    assert await office.events() == ["registered", "routed", "taken", "reassigned"]
