"""The ministry's side after the first card: reading it all, finding an appeal, asking, extending, naming."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.events import Attachment
from tests.conftest import Clock
from tests.test_ministry_work import Office, press_on, submit
from tests.utils.chat import Chat


@pytest.fixture
def office(app: App, clock: Clock) -> Office:
    return Office(app, clock)


def labels(chat: Chat) -> list[str]:
    return [b.label for r in chat.replies for row in r.buttons for b in row]


async def long_appeal(citizen: Chat, paragraphs: list[str]) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Петрова Анна Сергеевна")
    await citizen.send("+7 912 345-67-89")
    await citizen.press("ЖКХ")
    await citizen.press("освещение")
    for paragraph in paragraphs:
        await citizen.send(paragraph)
    await citizen.press("Готово")
    await citizen.press("Пропустить")
    await citizen.send("г. Энск, ул. Садовая, 5")
    await citizen.press("Отправить")
    assert "зарегистрировано" in citizen.text


async def test_the_whole_text_of_a_long_appeal_can_be_read_in_parts_never_a_loop(
        office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    paragraphs = [f"Абзац {n}. " + "фонари не горят во дворе " * 120 + f"конец абзаца {n}." for n in range(1, 5)]
    await long_appeal(citizen, paragraphs)
    await office.deliver()
    card = office.last(ivan)
    assert "Абзац 1." in card.text and "конец абзаца 4." not in card.text and "Весь текст" in card.text
    await ivan.press_payload(press_on(ivan, card, "Весь текст"))
    parts = [r.text for r in ivan.replies]
    assert len(parts) >= 3 and all(len(p) <= 4000 for p in parts)
    assert f"(часть {len(parts)} из {len(parts)})" in parts[-1]
    whole = " ".join(p.split("\n\n", 1)[1] for p in parts)
    for n in range(1, 5):
        assert f"Абзац {n}." in whole and f"конец абзаца {n}." in whole
    # /appeal shows the same beginning and the same way to the rest.
    await ivan.send("/appeal 1")
    assert "Весь текст" in " ".join(labels(ivan))


async def test_card_and_appeal_show_the_name_and_phone_and_count_files_apart(office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    await long_appeal(citizen, ["Во дворе дома 5 третий день не горят фонари, вечером темно."])
    await office.deliver()
    card = office.last(ivan).text
    assert "Заявитель: Петрова Анна Сергеевна" in card and "Телефон: +79123456789" in card
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Ответить"))
    await ivan.send("Фонари заменены.")
    await ivan.attach(Attachment("document", "/tmp/act.pdf", "console", "act.pdf", size=100))
    await ivan.attach(Attachment("photo", "/tmp/after.jpg", "console", "after.jpg", size=100))
    await ivan.press("Готово")
    await ivan.press("Отправить гражданину")
    await ivan.send("/appeal 2026-1")
    assert "Файлов от гражданина: 0" in ivan.text and "Файлов в ответе: 2" in ivan.text
    await submit(citizen)  # the helper files one photo and gives no phone
    await office.deliver()
    card = office.last(ivan).text
    assert "Телефон: не указан" in card and "Файлов от гражданина: 1" in card and "Файлов в ответе: 0" in card


@pytest.mark.parametrize("typed", ["/appeal 1", "1", "/appeal 2026-1", "2026-000001", "/appeal CUR-2026-000001",
                                   "ЦУР-2026-000001", "/appeal № 1", "/appeal цур-2026-1"])
async def test_appeal_is_found_by_its_short_number(office: Office, citizen: Chat, typed: str) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await ivan.send(typed)
    assert "Обращение ЦУР-2026-000001" in ivan.text and "История" in ivan.text


async def test_an_unknown_number_gets_an_example(office: Office) -> None:
    ivan = await office.staff_member("ivan")
    await ivan.send("/appeal 77")
    assert "не найдено" in ivan.text and "/appeal 123" in ivan.text


async def test_clarify_shows_a_preview_that_can_be_edited_or_cancelled(office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    before = len(office.inbox(citizen))
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Уточнить"))
    await ivan.send("Какой подъезд?")
    assert "Так гражданин увидит вопрос" in ivan.text and "Какой подъезд?" in ivan.text
    assert {"📤 Отправить гражданину", "✏ Изменить", "✖ Отмена"} <= set(labels(ivan))
    await ivan.press("Изменить")
    await ivan.send("Какой подъезд и какой этаж?")
    assert "Какой подъезд и какой этаж?" in ivan.text
    await ivan.press("Отмена")
    await office.deliver()
    assert len(office.inbox(citizen)) == before and (await office.appeal()).status == "registered"
    await ivan.send("/appeal 1")
    await ivan.press("Уточнить")
    await ivan.send("Какой подъезд?")
    await ivan.press("Отправить гражданину")
    await office.deliver()
    assert "Какой подъезд?" in office.last(citizen).text
    assert (await office.appeal()).status == "clarification_requested"


async def test_staff_give_their_full_name_and_cards_show_it_short(office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    assert "фамилию, имя и отчество" in ivan.text
    await ivan.send("Иванов")  # a surname alone is not a full name
    assert "Например" in ivan.text
    await ivan.send("Иванов Иван Иванович")
    assert "Иванов И. И." in ivan.text
    await submit(citizen)
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Взять"))
    await office.deliver()
    assert "Исполнитель: Иванов И. И." in office.inbox(ivan)[0].text  # the card, edited in place


async def test_staff_never_get_the_citizens_menu_and_see_only_their_roles_buttons(office: Office) -> None:
    ivan = await office.staff_member("ivan")
    boss = await office.staff_member("boss", role="supervisor", ministry=None)
    await ivan.send("Иванов Иван Иванович")
    await boss.send("Петров Пётр Петрович")
    citizen_menu = {"📝 Новое обращение", "📋 Мои обращения"}
    for command in ("/start", "/menu", "/cancel", "/help", "Здравствуйте, у меня вопрос по работе"):
        await ivan.send(command)
        assert not citizen_menu & set(labels(ivan)), (command, labels(ivan))
        assert labels(ivan) == ["📋 Очередь"], (command, labels(ivan))
        await boss.send(command)
        assert set(labels(boss)) == {"📋 Очередь", "⚠ Просроченные", "📊 Статистика", "🏆 Рейтинг"}, command
    await ivan.send("/new")
    assert "сотрудник" in ivan.text and "Как к вам обращаться" not in ivan.text
    await ivan.press_payload("2:staff.menu:stats")  # a supervisor's button, forged
    assert "для сотрудников" in ivan.text or "супервизор" in ivan.text
    await boss.press("Просроченные")
    assert "Просроченных обращений нет" in boss.text


async def test_a_citizen_typing_a_staff_command_is_told_it_is_for_staff(citizen: Chat) -> None:
    for command in ("/queue", "/appeal 1", "/overdue"):
        await citizen.send(command)
        assert "команда для сотрудников" in citizen.text and "/new" in citizen.text, command
